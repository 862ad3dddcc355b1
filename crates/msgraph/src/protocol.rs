//! The sans-IO core: requests to make and responses to read, with no network in sight. Every
//! piece is unit-tested with literal JSON; `client.rs` puts it on reqwest.

mod assertion;
mod batch;
mod error;
mod page;
mod retry;
mod token;

pub use assertion::{
    ASSERTION_TYPE, CertificateError, assertion_form, client_assertion, thumbprint_s256,
};
pub use batch::{
    BatchRequest, BatchResponse, MAX_BATCH, PREFER, batch_bodies, parse_batch_response,
};
pub use error::{FailureKind, GraphFailure};
pub use page::{DeltaItem, DeltaRound, MAX_ITEMS, MAX_PAGES, Page, PageError, Pager};
pub use retry::{RetryDecision, RetryPolicy, parse_retry_after};
pub use token::{AccessToken, GRAPH_SCOPE, secret_form};
