//! `rewind-policy` against hand-computed cases for every condition and control, the real
//! policies of `fixtures/corpus`, and its invariants as properties.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

mod access_cases;
mod cases;
mod corpus;
mod explain;
mod exposure;
mod lockout;
mod properties;
mod tenant;
