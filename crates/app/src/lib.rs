//! Rewind's use cases — capture, compare, restore, watch — and the configuration they run with.
//! For now it holds the configuration: [`RawConfig`] read from a file, `REWIND_*` variables and
//! flags in that order of precedence, checked once into a [`Config`].

mod config;

pub use config::{Config, ConfigError, DEFAULT_STORE, RawConfig, StoreLocation};
