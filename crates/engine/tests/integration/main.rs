//! The restore planner as a whole: what each situation plans, in which order, with which
//! remaps and notices; and its invariants (deterministic, topological) for any input.

mod planner;
