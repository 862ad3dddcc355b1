//! The Graph v1.0 type system the emulator serves: parsed once from the embedded type listing
//! (`schema/graph-v1.types`, taken from the CSDL), then used to validate request bodies and to
//! render responses with every declared property, the way Graph fills unset ones.
//!
//! Objects are stored sparse (only the properties that were set) and rendered full, which keeps a
//! large tenant small in memory and makes "what would Graph return" one function.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::{Map, Value};

const TYPES_TEXT: &str = include_str!("../schema/graph-v1.types");

/// A primitive EDM type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    String,
    Boolean,
    Int32,
    Int64,
    Double,
    DateTimeOffset,
    Date,
    Duration,
    Guid,
    Binary,
    Stream,
}

/// What a property holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeRef {
    Prim(Prim),
    /// An enum, a complex type or an entity type, by name; resolved against the schema when used.
    Named(String),
}

/// One declared property of a type.
#[derive(Debug, Clone)]
pub(crate) struct PropDef {
    pub ty: TypeRef,
    pub collection: bool,
    pub not_null: bool,
    pub nav: bool,
}

/// An entity or complex type.
#[derive(Debug, Clone)]
pub(crate) struct TypeDef {
    pub name: String,
    pub base: Option<String>,
    pub is_abstract: bool,
    pub is_open: bool,
    pub props: BTreeMap<String, PropDef>,
}

/// An enum type; flags enums travel as one comma-joined string.
#[derive(Debug, Clone)]
pub(crate) struct EnumDef {
    pub flags: bool,
    pub members: Vec<String>,
    /// Members declared after `unknownFutureValue`: hidden unless the client opts in.
    pub evolvable: Vec<String>,
}

/// The whole parsed type listing.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    types: HashMap<String, TypeDef>,
    enums: HashMap<String, EnumDef>,
}

/// Why a request body does not fit its declared type. The path names the property, e.g.
/// `conditions.users.includeGroups[2]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("Invalid property '{path}'.")]
    UnknownProperty { path: String },
    #[error("Invalid value for property '{path}': expected {expected}.")]
    WrongType { path: String, expected: String },
    #[error("Property '{path}' has an invalid value '{value}' for enum type '{enum_name}'.")]
    BadEnum {
        path: String,
        value: String,
        enum_name: String,
    },
    #[error("Property '{path}' cannot be null.")]
    NullNotAllowed { path: String },
    #[error(
        "The type '{given}' given in '@odata.type' of '{path}' is not compatible with '{declared}'."
    )]
    BadODataType {
        path: String,
        given: String,
        declared: String,
    },
    #[error(
        "A value for '{path}' must name its derived type in '@odata.type' because '{declared}' is abstract."
    )]
    AbstractWithoutType { path: String, declared: String },
}

/// Options that change how values are rendered for one request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RenderOptions {
    /// `Prefer: include-unknown-enum-members` was sent.
    pub include_evolvable: bool,
}

/// The schema parsed from the embedded listing, built on first use.
pub(crate) fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::parse(TYPES_TEXT))
}

impl Schema {
    /// Parses the listing format described at the top of `graph-v1.types`.
    pub(crate) fn parse(text: &str) -> Schema {
        let mut schema = Schema::default();
        let mut current: Option<TypeDef> = None;
        for line in text.lines() {
            if let Some(header) = line.strip_prefix("## ") {
                if let Some(done) = current.take() {
                    schema.types.insert(done.name.clone(), done);
                }
                if let Some(rest) = header.strip_prefix("enum ") {
                    let (name, def) = parse_enum(rest);
                    schema.enums.insert(name, def);
                } else if let Some(rest) = header
                    .strip_prefix("entity ")
                    .or_else(|| header.strip_prefix("complex "))
                {
                    current = Some(parse_type_header(rest));
                }
            } else if let Some(def) = current.as_mut()
                && let Some((name, prop)) = parse_prop(line)
            {
                def.props.entry(name).or_insert(prop);
            }
        }
        if let Some(done) = current.take() {
            schema.types.insert(done.name.clone(), done);
        }
        schema.inherit_base_props();
        schema
    }

    /// Copies properties from base types that a listing did not repeat with `(from …)`.
    fn inherit_base_props(&mut self) {
        let names: Vec<String> = self.types.keys().cloned().collect();
        for name in names {
            let mut inherited = BTreeMap::new();
            let mut base = self.types.get(&name).and_then(|t| t.base.clone());
            let mut guard = 0;
            while let Some(b) = base.take() {
                guard += 1;
                if guard > 16 {
                    break;
                }
                let Some(def) = self.types.get(&b) else { break };
                for (k, v) in &def.props {
                    inherited.entry(k.clone()).or_insert_with(|| v.clone());
                }
                base.clone_from(&def.base);
            }
            if let Some(def) = self.types.get_mut(&name) {
                for (k, v) in inherited {
                    def.props.entry(k).or_insert(v);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    #[cfg(test)]
    pub(crate) fn enum_def(&self, name: &str) -> Option<&EnumDef> {
        self.enums.get(name)
    }

    /// True when `derived` is `base` or inherits from it.
    pub(crate) fn is_assignable(&self, derived: &str, base: &str) -> bool {
        let mut cur = Some(derived.to_string());
        let mut guard = 0;
        while let Some(name) = cur {
            if name == base {
                return true;
            }
            guard += 1;
            if guard > 16 {
                return false;
            }
            cur = self.types.get(&name).and_then(|t| t.base.clone());
        }
        false
    }

    /// The declared property `name` of `type_name`, if any.
    pub(crate) fn prop(&self, type_name: &str, name: &str) -> Option<&PropDef> {
        self.types.get(type_name).and_then(|t| t.props.get(name))
    }

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
            out.insert(
                "@odata.type".into(),
                Value::String(format!("#microsoft.graph.{concrete}")),
            );
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
                let name = given
                    .trim_start_matches('#')
                    .trim_start_matches("microsoft.graph.");
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
                return Err(BodyError::NullNotAllowed {
                    path: path.to_string(),
                });
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
                    return self
                        .validate_object(name, obj, path, &["*"])
                        .map(Value::Object);
                }
                // A type the listing does not describe: accept its JSON as given.
                Ok(value.clone())
            }
        }
    }

    /// Renders a stored value of `type_name` with every declared structural property: unset
    /// collections become `[]`, unset single values `null`. Navigation properties are left out
    /// unless listed in `expand`. Evolvable enum members are hidden unless the client opted in.
    pub(crate) fn render(
        &self,
        type_name: &str,
        stored: &Map<String, Value>,
        expand: &[&str],
        opts: RenderOptions,
    ) -> Map<String, Value> {
        self.render_only(type_name, stored, expand, opts, None)
    }

    /// [`Schema::render`] restricted to the properties in `only` (plus `id` and `@odata.type`),
    /// so a `$select` or a default property set costs what it returns, not the whole type.
    pub(crate) fn render_only(
        &self,
        type_name: &str,
        stored: &Map<String, Value>,
        expand: &[&str],
        opts: RenderOptions,
        only: Option<&[String]>,
    ) -> Map<String, Value> {
        let concrete = stored
            .get("@odata.type")
            .and_then(Value::as_str)
            .map_or(type_name, |t| t.trim_start_matches("#microsoft.graph."));
        let Some(def) = self.types.get(concrete) else {
            return stored.clone();
        };
        let mut out = Map::new();
        if let Some(t) = stored.get("@odata.type") {
            out.insert("@odata.type".into(), t.clone());
        }
        let wants = |name: &str| only.is_none_or(|sel| sel.iter().any(|s| s == name));
        if let Some(id) = stored.get("id").filter(|_| wants("id")) {
            out.insert("id".into(), id.clone());
        }
        // With a selection, visit only the selected properties: a page of default-property users
        // then costs a dozen lookups per user, not a walk over the type's hundred properties.
        let props: Box<dyn Iterator<Item = (&String, &PropDef)>> = match only {
            Some(sel) => Box::new(sel.iter().filter_map(|n| def.props.get_key_value(n))),
            None => Box::new(def.props.iter()),
        };
        for (name, prop) in props {
            if name == "id" || matches!(prop.ty, TypeRef::Prim(Prim::Stream)) {
                continue;
            }
            if prop.nav && !expand.iter().any(|n| *n == "*" || n == name) {
                continue;
            }
            let value = match stored.get(name) {
                Some(v) => self.render_value(prop, v, opts),
                None if prop.collection && prop.not_null => Value::Array(Vec::new()),
                None if prop.nav && prop.collection => Value::Array(Vec::new()),
                None => Value::Null,
            };
            out.insert(name.clone(), value);
        }
        for (k, v) in stored {
            if k.starts_with("extension_") && wants(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn render_value(&self, prop: &PropDef, value: &Value, opts: RenderOptions) -> Value {
        match value {
            Value::Array(items) if prop.collection => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_single(&prop.ty, v, opts))
                    .collect(),
            ),
            v => self.render_single(&prop.ty, v, opts),
        }
    }

    fn render_single(&self, ty: &TypeRef, value: &Value, opts: RenderOptions) -> Value {
        let TypeRef::Named(name) = ty else {
            return value.clone();
        };
        if let Some(e) = self.enums.get(name) {
            return render_enum(e, value, opts);
        }
        match value {
            Value::Object(obj) if self.types.contains_key(name) => {
                Value::Object(self.render(name, obj, &["*"], opts))
            }
            v => v.clone(),
        }
    }
}

fn wrong(path: &str, expected: &str) -> BodyError {
    BodyError::WrongType {
        path: path.to_string(),
        expected: expected.to_string(),
    }
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "the request body".to_string()
    } else {
        path.to_string()
    }
}

fn validate_prim(p: Prim, value: &Value, path: &str) -> Result<Value, BodyError> {
    let ok = match p {
        Prim::String | Prim::Stream => value.is_string(),
        Prim::Boolean => value.is_boolean(),
        Prim::Int32 => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Prim::Int64 => value.is_i64() || value.is_u64(),
        Prim::Double => value.is_number(),
        Prim::DateTimeOffset => value
            .as_str()
            .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
        Prim::Date => value
            .as_str()
            .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
        Prim::Duration => value
            .as_str()
            .is_some_and(|s| s.parse::<jiff::Span>().is_ok()),
        Prim::Guid => value
            .as_str()
            .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        Prim::Binary => value.as_str().is_some_and(is_base64),
    };
    if ok {
        Ok(value.clone())
    } else {
        Err(wrong(path, prim_name(p)))
    }
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
    let known = |m: &str| {
        e.members
            .iter()
            .chain(&e.evolvable)
            .any(|x| x.eq_ignore_ascii_case(m))
    };
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

/// The member Graph sends for `m`: itself, or `unknownFutureValue` for an evolvable member.
fn hide_evolvable<'a>(e: &EnumDef, m: &'a str) -> &'a str {
    if e.evolvable.iter().any(|x| x == m) {
        "unknownFutureValue"
    } else {
        m
    }
}

fn render_enum(e: &EnumDef, value: &Value, opts: RenderOptions) -> Value {
    let Some(s) = value.as_str() else {
        return value.clone();
    };
    if opts.include_evolvable || e.evolvable.is_empty() {
        return value.clone();
    }
    if e.flags {
        let mut parts: Vec<&str> = s.split(',').map(|m| hide_evolvable(e, m)).collect();
        parts.dedup();
        Value::String(parts.join(","))
    } else {
        Value::String(hide_evolvable(e, s).to_string())
    }
}

fn parse_enum(rest: &str) -> (String, EnumDef) {
    let (head, members) = rest.split_once(':').unwrap_or((rest, ""));
    let flags = head.contains("(Flags)");
    let name = head.replace("(Flags)", "").trim().to_string();
    let all: Vec<String> = members
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let (members, evolvable) = match all.iter().position(|m| m == "unknownFutureValue") {
        Some(i) => (all[..=i].to_vec(), all[i + 1..].to_vec()),
        None => (all, Vec::new()),
    };
    (
        name,
        EnumDef {
            flags,
            members,
            evolvable,
        },
    )
}

fn parse_type_header(rest: &str) -> TypeDef {
    let is_abstract = rest.contains("[abstract]");
    let is_open = rest.contains("[OpenType]");
    let clean = rest.replace("[abstract]", "").replace("[OpenType]", "");
    let (name, base) = match clean.split_once(':') {
        Some((n, b)) => (
            n.trim().to_string(),
            Some(b.trim().trim_start_matches("graph.").to_string()),
        ),
        None => (clean.trim().to_string(), None),
    };
    TypeDef {
        name,
        base,
        is_abstract,
        is_open,
        props: BTreeMap::new(),
    }
}

fn parse_prop(line: &str) -> Option<(String, PropDef)> {
    let mut l = line.trim();
    if l.starts_with("annotations:") || l.is_empty() {
        return None;
    }
    if l.starts_with("(from ") {
        l = l.split_once(')')?.1.trim();
    }
    let nav = l.starts_with("NAV ");
    let l = l.trim_start_matches("NAV ");
    let (name, rest) = l.split_once(':')?;
    let rest = rest.split('[').next().unwrap_or(rest).trim();
    let not_null = rest.contains("NOT NULL");
    let ty_text = rest.replace("NOT NULL", "").replace("contained", "");
    let ty_text = ty_text.trim();
    let (collection, inner) = match ty_text.strip_prefix("Collection(") {
        Some(inner) => (true, inner.trim_end_matches(')')),
        None => (false, ty_text),
    };
    Some((
        name.trim().to_string(),
        PropDef {
            ty: parse_type_ref(inner),
            collection,
            not_null,
            nav,
        },
    ))
}

fn parse_type_ref(text: &str) -> TypeRef {
    let prim = match text {
        "Edm.String" => Prim::String,
        "Edm.Boolean" => Prim::Boolean,
        "Edm.Int32" => Prim::Int32,
        "Edm.Int64" => Prim::Int64,
        "Edm.Double" => Prim::Double,
        "Edm.DateTimeOffset" => Prim::DateTimeOffset,
        "Edm.Date" => Prim::Date,
        "Edm.Duration" => Prim::Duration,
        "Edm.Guid" => Prim::Guid,
        "Edm.Binary" => Prim::Binary,
        "Edm.Stream" => Prim::Stream,
        other => return TypeRef::Named(other.trim_start_matches("graph.").to_string()),
    };
    TypeRef::Prim(prim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn parses_types_inheritance_and_enums() {
        let s = schema();
        let ip = s.type_def("ipNamedLocation").unwrap();
        assert!(ip.props.contains_key("displayName"));
        assert!(s.is_assignable("ipNamedLocation", "namedLocation"));
        let modes = s.enum_def("authenticationMethodModes").unwrap();
        assert!(modes.flags);
        assert_eq!(modes.evolvable, vec!["qrCodePin".to_string()]);
        assert!(s.type_def("ipRange").unwrap().is_abstract);
    }

    #[test]
    fn flags_are_normalised_without_spaces() {
        let body =
            obj(json!({"displayName": "x", "allowedCombinations": ["password, sms", "fido2"]}));
        let out = schema()
            .validate_body("authenticationStrengthPolicy", &body, &[])
            .unwrap();
        assert_eq!(out["allowedCombinations"], json!(["password,sms", "fido2"]));
    }

    #[test]
    fn unknown_properties_and_wrong_types_name_the_path() {
        let err = schema()
            .validate_body(
                "conditionalAccessPolicy",
                &obj(json!({"conditions": {"users": {"includeGroups": [1]}}})),
                &[],
            )
            .unwrap_err();
        assert_eq!(
            err,
            BodyError::WrongType {
                path: "conditions.users.includeGroups[0]".into(),
                expected: "Edm.String".into()
            }
        );
        let err = schema()
            .validate_body("user", &obj(json!({"nickname": "x"})), &[])
            .unwrap_err();
        assert_eq!(
            err,
            BodyError::UnknownProperty {
                path: "nickname".into()
            }
        );
    }

    #[test]
    fn abstract_values_need_their_odata_type() {
        let body = obj(
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "x",
            "isTrusted": true, "ipRanges": [{"cidrAddress": "10.0.0.0/8"}]}),
        );
        let err = schema()
            .validate_body("namedLocation", &body, &[])
            .unwrap_err();
        assert!(matches!(err, BodyError::AbstractWithoutType { .. }));
    }

    #[test]
    fn render_fills_defaults_and_hides_evolvable_members() {
        let stored = obj(json!({"id": "1", "displayName": "p", "state": "enabled",
            "grantControls": {"operator": "OR", "builtInControls": ["riskRemediation"]}}));
        let out = schema().render(
            "conditionalAccessPolicy",
            &stored,
            &[],
            RenderOptions::default(),
        );
        assert_eq!(out["description"], Value::Null);
        assert_eq!(
            out["grantControls"]["builtInControls"],
            json!(["unknownFutureValue"])
        );
        assert_eq!(out["grantControls"]["termsOfUse"], json!([]));
        let out = schema().render(
            "conditionalAccessPolicy",
            &stored,
            &[],
            RenderOptions {
                include_evolvable: true,
            },
        );
        assert_eq!(
            out["grantControls"]["builtInControls"],
            json!(["riskRemediation"])
        );
    }
}
