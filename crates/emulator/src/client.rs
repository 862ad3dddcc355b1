//! The clients registered in an emulated tenant and what each may do.

use serde::{Deserialize, Serialize};

/// What a configured client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// The least-privilege read set (capture).
    Read,
    /// The write set (restore).
    Write,
}

/// A client registered in the emulated tenant: an application, its service principal and a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    /// The application's appId, used as `client_id`.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Read or write.
    pub access: Access,
    /// The application's display name.
    pub display_name: String,
    /// The object id of its service principal.
    pub service_principal_id: String,
}
