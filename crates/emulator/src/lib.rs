//! A Microsoft Graph v1.0-compatible Entra ID tenant, for demos and tests.
//!
//! `rewind-emulator` serves the identity platform's token endpoint and the Graph resources Rewind
//! protects (users, groups, applications, service principals, Conditional Access policies, named
//! locations, authentication strengths and methods, roles and PIM eligibility, cross-tenant
//! settings, the recycle bin and the directory audit log) with Graph's wire behaviour: `OData`
//! envelopes and paging, `$select`/`$filter`/`$top`/`$count`, delta queries, `$batch`, `$ref`
//! links, permissions checked against the caller's app roles, and Graph's error envelope.
//!
//! The primary types:
//! - [`start`] seeds a tenant and serves it on a local port, returning a [`RunningEmulator`]
//!   whose [`EmulatorInfo`] says how to connect.
//! - [`Tenant::handle`] serves one [`GraphRequest`] without HTTP, which `$batch`, tests and the
//!   fuzz target use.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = rewind_emulator::start(rewind_emulator::EmulatorConfig::default()).await?;
//! println!("{}", serde_json::to_string(&emulator.info)?);
//! emulator.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The design notes are in `docs/design/emulator.md`.

// Layers, each using only the ones above it (`dev/check-module-cycles` keeps them acyclic).
// The wire and the vocabulary: requests and responses, collections, paths, queries, errors.
mod client;
mod error;
mod filter;
mod permission;
mod query;
mod report;
mod resource;
mod route;
mod schema;
mod wire;

// The tenant and what it remembers: objects, links, the clock, faults and throttling.
mod faults;
mod tenant;

// Tokens, then the operations behind each route, then one request in and one response out.
mod auth;
mod ops;

mod dispatch;

// What fills a tenant and replays incidents, saving it, and the HTTP server on top.
mod persist;
mod scenario;
mod seed;
mod server;

/// Test support (the `testing` feature).
#[cfg(feature = "testing")]
pub mod testing;

pub use auth::OAuthError;
pub use client::{Access, Client};
pub use error::GraphError;
pub use faults::{Faults, Stats};
pub use permission::{GRAPH_APP_ID, READ_PERMISSIONS, WRITE_PERMISSIONS};
pub use persist::{StateError, load as load_state, save as save_state};
pub use report::{ScenarioActor, ScenarioReport, ScenarioStep};
pub use resource::{Coll, Singleton};
pub use route::{LinkKind, Route, parse as parse_route};
pub use scenario::Scenario;
pub use seed::{BASELINE_POLICIES, BUILTIN_ROLES, Preset, SeedOptions, build as seed_tenant};
pub use server::{ClientInfo, EmulatorConfig, EmulatorInfo, RunningEmulator, StartError, start};
pub use tenant::{License, Tenant};
pub use wire::{Body, GraphRequest, GraphResponse, JSON_CONTENT_TYPE, MAX_BODY_BYTES, Method};
