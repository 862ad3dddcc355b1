//! The restore planner as a whole: what each situation plans, in which order, with which
//! remaps and notices; and its invariants (deterministic, topological) for any input.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod planner;
