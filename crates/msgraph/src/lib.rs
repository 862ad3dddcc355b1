//! A Microsoft Graph client for Rewind.
//!
//! [`protocol`] is sans-IO: it builds requests and reads responses — pages and their next links,
//! delta rounds and their delta links, `$batch` bodies and responses, Graph's error envelope,
//! when to retry — and is tested with literal JSON. [`GraphClient`] puts it on reqwest with
//! token renewal, a per-tenant concurrency limit, and retries that honour `Retry-After` or back
//! off with jitter within a bounded budget. Endpoints default to Microsoft's public cloud and can
//! point anywhere (a national cloud, the emulator).
//!
//! The protocol needs no network; a pager is fed pages and says what to fetch next:
//!
//! ```
//! use rewind_msgraph::protocol::{Page, Pager};
//!
//! let mut pager = Pager::new("https://graph.microsoft.com/v1.0/users?$top=999");
//! let page = Page::parse(br#"{"value": [{"id": "1"}], "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=x"}"#)?;
//! assert_eq!(pager.feed(page)?.len(), 1);
//! assert_eq!(pager.next(), Some("https://graph.microsoft.com/v1.0/users?$skiptoken=x"));
//! # Ok::<(), rewind_msgraph::protocol::PageError>(())
//! ```

mod client;
pub mod protocol;

pub use client::{
    ClientError, ClientOptions, ClientStats, Credential, Endpoints, GraphClient,
    MAX_RESPONSE_BYTES, Secret,
};
