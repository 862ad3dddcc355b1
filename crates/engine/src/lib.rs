//! Comparing states of a tenant (DESIGN §4: pure and synchronous): the property-level
//! difference between two versions of one object, and blame over an object's versions.

mod blame;
mod diff;

pub use blame::{Blamed, blame};
pub use diff::{PropertyChange, property_changes};
