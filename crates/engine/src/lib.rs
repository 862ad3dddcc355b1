//! Comparing states of a tenant and planning the way back (DESIGN §4: pure and synchronous):
//! the property-level difference between two versions of one object, blame over an object's
//! versions, the restore planner, and the risky-change rules watch alerts on.

mod blame;
mod diff;
pub mod restore;
pub mod risk;

pub use blame::{Blamed, blame};
pub use diff::{PropertyChange, property_changes};
