//! The store's behaviour suite: every test runs against `SQLite` and against `PostgreSQL`
//! (`on_both!`), so both backends are held to the same format and semantics.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod checker;
mod db;
mod forget;
mod journal;
mod timeline;
mod upgrade;
mod watch;
