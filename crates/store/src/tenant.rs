//! The tenants a store holds, as the store names them.

use jiff::Timestamp;

/// A tenant to add to a store: its connection settings, never its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// A short name people use on the command line.
    pub name: String,
    /// Graph's base URL.
    pub graph_url: String,
    /// The identity platform's base URL.
    pub authority_url: String,
    /// The app used to read it, if known.
    pub client_id: Option<String>,
}

/// A tenant held in a store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantInfo {
    /// The store's own number for it.
    #[serde(skip)]
    pub id: i64,
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// Its short name.
    pub name: String,
    /// Graph's base URL.
    pub graph_url: String,
    /// The identity platform's base URL.
    pub authority_url: String,
    /// The app used to read it, if known.
    pub client_id: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
}
