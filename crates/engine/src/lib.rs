//! Comparing states of a tenant and planning the way back (DESIGN §4: pure and synchronous):
//! the property-level difference between two versions of one object, blame over an object's
//! versions, and the restore planner.

mod blame;
mod diff;
pub mod restore;

pub use blame::{Blamed, blame};
pub use diff::{PropertyChange, property_changes};
