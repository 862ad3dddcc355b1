//! Rewind's use cases — capture, compare, restore, watch — and the configuration they run with.
//! Configuration: [`RawConfig`] read from a file, `REWIND_*` variables and flags in that order
//! of precedence, checked once into a [`Config`]. Use cases: [`capture()`], [`restore`],
//! [`watch`]. They report
//! progress as events and never print.

pub mod access;
pub mod capture;
pub mod compare;
mod config;
pub mod country;
pub mod doctor;
pub mod export;
pub mod exposure;
pub mod import;
pub mod links;
pub mod live;
pub mod locate;
pub mod maintenance;
pub mod names;
pub mod plan_file;
pub mod restore;
pub mod timeline;
pub mod watch;
pub mod whatif;

pub use capture::{
    CaptureError, CaptureEvent, CaptureOptions, CaptureReport, capture, capture_new,
};

pub use config::{Config, ConfigError, DEFAULT_STORE, RawConfig, StoreLocation, base_url};
