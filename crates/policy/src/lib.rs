//! Conditional Access, evaluated (DESIGN §4: pure and synchronous): parse → compile →
//! evaluate any state's policies for a sign-in (what-if), and analyse whether the accounts
//! that must always get in — break-glass accounts and administrators — still can.
//!
//! Three-valued throughout ([`Tri`]): a condition that needs a signal that was not given is
//! unknown, and a policy that cannot be read has an unknown effect — never a guessed one.

mod apps;
mod contexts;
mod directory;
mod evaluate;
pub mod explain;
mod exposure;
mod facts;
pub mod filter;
mod locations;
mod lockout;
mod methods_policy;
mod policy;
mod signin;
mod strength;
mod tri;
mod vocab;

pub use apps::{AZURE_PORTAL, is_admin_portal, is_office365, keyword as app_keyword};
pub use directory::{
    Directory, GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, Principal, User,
    protected_principal,
};
pub use evaluate::{
    Capabilities, Check, Condition, Decision, EvaluateError, Evaluation, Outcome, PolicyResult,
    PolicySet, Requirement, Subject,
};
pub use exposure::{
    Excluded, PolicyScope, ScopeChange, Via, changes as exposure_changes, exposure,
};
pub use locations::{Area, NamedLocation, UNKNOWN_COUNTRY};
pub use lockout::{
    Analysis, BREAK_GLASS_WORDS, ContextResult, Lockout, LockoutOptions, PrincipalReport,
    Protection, Verdict, analyse, break_glass_by_name,
};
pub use methods_policy::{MethodsPolicy, Usability};
pub use policy::{
    AppSet, Apps, Control, DeviceFilter, External, Grant, LocationSet, Operator, Platforms, Policy,
    PolicyError, Rules, Session, State, Who, Workloads, compile,
};
pub use signin::{DeviceValue, Identity, SignIn, Target};
pub use strength::{BUILT_IN_STRENGTHS, MFA, Strength, modes, modes_of_method};
pub use tri::Tri;
pub use vocab::{
    BuiltInControl, ClientApp, GuestType, InsiderRisk, Platform, RiskLevel, TransferMethod,
    UserAction,
};
