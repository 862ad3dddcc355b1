//! Integration tests of the emulator over real HTTP on 127.0.0.1, one binary with a module per
//! theme. `Harness` starts an emulator on port 0 and holds a token for each client.
//!
//! The fidelity tests read `fixtures/graph-types.md`; the SDK test needs the Python venv that
//! `./dev/test` installs.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]
#![expect(
    clippy::many_single_char_names,
    reason = "short names for the parts of a token request read best"
)]

mod audit;
mod auth;
mod batch;
mod delta;
mod errors;
mod expand;
mod faults;
mod fidelity_types;
mod harness;
mod kinds;
mod links;
mod odata;
mod recycle;
mod scenarios;
mod sdk_python;
mod seeding;
mod state;
mod whatif;
mod write_rules;
