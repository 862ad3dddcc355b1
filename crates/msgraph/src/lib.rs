//! A Microsoft Graph client for Rewind.
//!
//! [`protocol`] is sans-IO: it builds requests and reads responses — pages and their next links,
//! delta rounds and their delta links, `$batch` bodies and responses, Graph's error envelope,
//! when to retry — and is tested with literal JSON. [`GraphClient`] puts it on reqwest with
//! token renewal, a per-tenant concurrency limit, and retries that honour `Retry-After` or back
//! off with jitter within a bounded budget. Endpoints default to Microsoft's public cloud and can
//! point anywhere (a national cloud, the emulator).

mod client;
pub mod protocol;

pub use client::{
    ClientError, ClientOptions, ClientStats, Credential, Endpoints, GraphClient, Secret,
};
