//! Capture against the emulator over real HTTP, into real `SQLite` and `PostgreSQL` stores: an
//! incremental timeline must always equal a fresh full read of the tenant, whatever happened
//! in between (incident scenarios, faults, expired cursors), and a failed capture stores
//! nothing.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod access_rules;
mod capture;
mod conformance;
mod env;
mod every_fault;
mod failures;
mod import;
mod sinks;
