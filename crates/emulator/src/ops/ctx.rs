//! What a handler knows about the request it serves.

use serde_json::{Map, Value};

use crate::error::GraphError;
use crate::query::Query;
use crate::schema::RenderOptions;
use crate::tenant::Actor;
use crate::wire::GraphRequest;

/// The request a handler serves, parsed, with who sent it.
pub(crate) struct Ctx<'a> {
    pub base_url: &'a str,
    pub path: &'a str,
    pub query: Query,
    pub actor: Actor,
    pub render: RenderOptions,
    pub req: &'a GraphRequest,
    pub depth: u8,
}

impl Ctx<'_> {
    /// The request body as a JSON object, or Graph's error for anything else.
    pub(crate) fn body_object(&self) -> Result<Map<String, Value>, GraphError> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Err(GraphError::bad_request("Empty Payload. JSON content expected."));
        }
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(GraphError::bad_request("The request body must be a JSON object.")),
            Err(e) => {
                Err(GraphError::bad_request(format!("Unable to read JSON request payload: {e}.")))
            }
        }
    }

    /// The `ConsistencyLevel: eventual` header is present.
    pub(crate) fn eventual(&self) -> bool {
        self.req.header("consistencylevel").is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }
}
