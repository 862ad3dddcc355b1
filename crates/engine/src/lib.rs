//! Comparing states of a tenant (DESIGN §4: pure and synchronous). For now: the property-level
//! difference between two versions of one object, which `rewind changes` reports.

mod diff;

pub use diff::{PropertyChange, property_changes};
