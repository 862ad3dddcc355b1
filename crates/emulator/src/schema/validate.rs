//! Checking a request body against its declared type, as Graph does: unknown properties, wrong
//! primitive types, unknown enum members and a missing `@odata.type` on an abstract type are
//! `400`s that name the property path; values come back normalised (flags without spaces).

use serde_json::{Map, Value};

use super::{BodyError, EnumDef, Prim, PropDef, Schema, TypeRef};

impl Schema {
    /// Validates and normalises a request body for `type_name`: flags enums are re-joined without
    /// spaces, `@odata.type` is checked against the declared type, and annotations other than
    /// `@odata.type` (full-metadata exports carry many) are dropped. Navigation properties are
    /// accepted only when `allow_nav` lists them.
    pub(crate) fn validate_body(
        &self,
        type_name: &str,
        body: &Map<String, Value>,
        allow_nav: &[&str],
    ) -> Result<Map<String, Value>, BodyError> {
        self.validate_object(type_name, body, "", allow_nav)
    }

    fn validate_object(
        &self,
        declared: &str,
        body: &Map<String, Value>,
        path: &str,
        allow_nav: &[&str],
    ) -> Result<Map<String, Value>, BodyError> {
        let concrete = self.concrete_type(declared, body, path)?;
        let Some(def) = self.types.get(&concrete) else {
            return Ok(body.clone());
        };
        let mut out = Map::new();
        if concrete != declared || def.is_abstract || body.contains_key("@odata.type") {
            out.insert("@odata.type".into(), Value::String(format!("#microsoft.graph.{concrete}")));
        }
        for (key, value) in body {
            if key.contains('@') {
                continue;
            }
            let child_path = join_path(path, key);
            let Some(prop) = def.props.get(key) else {
                if def.is_open && key.starts_with("extension_") {
                    out.insert(key.clone(), value.clone());
                    continue;
                }
                return Err(BodyError::UnknownProperty { path: child_path });
            };
            if prop.nav && !allow_nav.iter().any(|n| *n == "*" || n == key) {
                return Err(BodyError::UnknownProperty { path: child_path });
            }
            let v = self.validate_value(prop, value, &child_path)?;
            out.insert(key.clone(), v);
        }
        Ok(out)
    }

    /// Resolves the concrete type of a value from its `@odata.type`, checking compatibility.
    fn concrete_type(
        &self,
        declared: &str,
        body: &Map<String, Value>,
        path: &str,
    ) -> Result<String, BodyError> {
        let is_abstract = self.types.get(declared).is_some_and(|t| t.is_abstract);
        match body.get("@odata.type").and_then(Value::as_str) {
            Some(given) => {
                let name = given.trim_start_matches('#').trim_start_matches("microsoft.graph.");
                if self.types.contains_key(name) && self.is_assignable(name, declared) {
                    Ok(name.to_string())
                } else {
                    Err(BodyError::BadODataType {
                        path: display_path(path),
                        given: given.to_string(),
                        declared: declared.to_string(),
                    })
                }
            }
            None if is_abstract => Err(BodyError::AbstractWithoutType {
                path: display_path(path),
                declared: declared.to_string(),
            }),
            None => Ok(declared.to_string()),
        }
    }

    fn validate_value(
        &self,
        prop: &PropDef,
        value: &Value,
        path: &str,
    ) -> Result<Value, BodyError> {
        if value.is_null() {
            if prop.not_null && prop.collection {
                return Err(BodyError::NullNotAllowed { path: path.to_string() });
            }
            return Ok(Value::Null);
        }
        if prop.collection {
            let Value::Array(items) = value else {
                return Err(wrong(path, "a JSON array"));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                if item.is_null() {
                    return Err(BodyError::NullNotAllowed { path: item_path });
                }
                out.push(self.validate_single(&prop.ty, item, &item_path)?);
            }
            return Ok(Value::Array(out));
        }
        self.validate_single(&prop.ty, value, path)
    }

    fn validate_single(&self, ty: &TypeRef, value: &Value, path: &str) -> Result<Value, BodyError> {
        match ty {
            TypeRef::Prim(p) => validate_prim(*p, value, path),
            TypeRef::Named(name) => {
                if let Some(e) = self.enums.get(name) {
                    return validate_enum(name, e, value, path);
                }
                if self.types.contains_key(name) {
                    let Value::Object(obj) = value else {
                        return Err(wrong(path, "a JSON object"));
                    };
                    return self.validate_object(name, obj, path, &["*"]).map(Value::Object);
                }
                // A type the listing does not describe: accept its JSON as given.
                Ok(value.clone())
            }
        }
    }
}

fn wrong(path: &str, expected: &str) -> BodyError {
    BodyError::WrongType { path: path.to_string(), expected: expected.to_string() }
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn display_path(path: &str) -> String {
    if path.is_empty() { "the request body".to_string() } else { path.to_string() }
}

fn validate_prim(p: Prim, value: &Value, path: &str) -> Result<Value, BodyError> {
    let ok = match p {
        Prim::String | Prim::Stream => value.is_string(),
        Prim::Boolean => value.is_boolean(),
        Prim::Int32 => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Prim::Int64 => value.is_i64() || value.is_u64(),
        Prim::Double => value.is_number(),
        Prim::DateTimeOffset => {
            value.as_str().is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok())
        }
        Prim::Date => value.as_str().is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
        Prim::Duration => value.as_str().is_some_and(|s| s.parse::<jiff::Span>().is_ok()),
        Prim::Guid => value.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        Prim::Binary => value.as_str().is_some_and(is_base64),
    };
    if ok { Ok(value.clone()) } else { Err(wrong(path, prim_name(p))) }
}

fn is_base64(s: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

fn prim_name(p: Prim) -> &'static str {
    match p {
        Prim::String | Prim::Stream => "Edm.String",
        Prim::Boolean => "Edm.Boolean",
        Prim::Int32 => "Edm.Int32",
        Prim::Int64 => "Edm.Int64",
        Prim::Double => "Edm.Double",
        Prim::DateTimeOffset => "Edm.DateTimeOffset (RFC 3339)",
        Prim::Date => "Edm.Date (YYYY-MM-DD)",
        Prim::Duration => "Edm.Duration (ISO 8601)",
        Prim::Guid => "Edm.Guid",
        Prim::Binary => "Edm.Binary (base64)",
    }
}

fn validate_enum(name: &str, e: &EnumDef, value: &Value, path: &str) -> Result<Value, BodyError> {
    let Some(s) = value.as_str() else {
        return Err(wrong(path, &format!("a member of {name}")));
    };
    let bad = |v: &str| BodyError::BadEnum {
        path: path.to_string(),
        value: v.to_string(),
        enum_name: name.to_string(),
    };
    let known = |m: &str| e.members.iter().chain(&e.evolvable).any(|x| x.eq_ignore_ascii_case(m));
    if e.flags {
        let mut parts = Vec::new();
        for part in s.split(',').map(str::trim) {
            if !known(part) {
                return Err(bad(part));
            }
            parts.push(canonical_member(e, part));
        }
        Ok(Value::String(parts.join(",")))
    } else if known(s) {
        Ok(Value::String(canonical_member(e, s)))
    } else {
        Err(bad(s))
    }
}

fn canonical_member(e: &EnumDef, m: &str) -> String {
    e.members
        .iter()
        .chain(&e.evolvable)
        .find(|x| x.eq_ignore_ascii_case(m))
        .cloned()
        .unwrap_or_else(|| m.to_string())
}
