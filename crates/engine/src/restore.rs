//! Restore planning (DESIGN §6): the desired state of a scope, the steps from the tenant as it
//! is to that state, in an order that keeps every reference valid, as reviewable data.

mod desired;
mod order;
mod permissions;
mod plan;
mod planner;
mod writes;

pub use desired::{
    Version, follow_app_id, get_path, set_path, set_reference, undo_actor, with_property,
};
pub use permissions::{
    AnyOf, DirectoryRole, MissingPermission, MissingRole, can_write_anything, missing,
    missing_roles, needed, role_needed,
};
pub use plan::{Action, Desired, Link, Notice, NoticeKind, PLAN_FORMAT, Plan, Remap, Step};
pub use planner::{Current, REPORT_ONLY, Wanted, plan};
pub use writes::{Writable, create_body, is_built_in, links, update_body, writable};
