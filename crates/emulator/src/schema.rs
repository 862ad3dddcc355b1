//! The Graph v1.0 type system the emulator serves: parsed once from the embedded type listing
//! (`schema/graph-v1.types`, taken from the CSDL), then used to validate request bodies and to
//! render responses with every declared property, the way Graph fills unset ones.
//!
//! Objects are stored sparse (only the properties that were set) and rendered full, which keeps a
//! large tenant small in memory and makes "what would Graph return" one function.

mod parse;
mod render;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

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
    BadEnum { path: String, value: String, enum_name: String },
    #[error("Property '{path}' cannot be null.")]
    NullNotAllowed { path: String },
    #[error(
        "The type '{given}' given in '@odata.type' of '{path}' is not compatible with '{declared}'."
    )]
    BadODataType { path: String, given: String, declared: String },
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

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
        let out = schema().validate_body("authenticationStrengthPolicy", &body, &[]).unwrap();
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
        let err = schema().validate_body("user", &obj(json!({"nickname": "x"})), &[]).unwrap_err();
        assert_eq!(err, BodyError::UnknownProperty { path: "nickname".into() });
    }

    #[test]
    fn abstract_values_need_their_odata_type() {
        let body =
            obj(json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "x",
            "isTrusted": true, "ipRanges": [{"cidrAddress": "10.0.0.0/8"}]}));
        let err = schema().validate_body("namedLocation", &body, &[]).unwrap_err();
        assert!(matches!(err, BodyError::AbstractWithoutType { .. }));
    }

    #[test]
    fn render_fills_defaults_and_hides_evolvable_members() {
        let stored = obj(json!({"id": "1", "displayName": "p", "state": "enabled",
            "grantControls": {"operator": "OR", "builtInControls": ["riskRemediation"]}}));
        let out =
            schema().render("conditionalAccessPolicy", &stored, &[], RenderOptions::default());
        assert_eq!(out["description"], Value::Null);
        assert_eq!(out["grantControls"]["builtInControls"], json!(["unknownFutureValue"]));
        assert_eq!(out["grantControls"]["termsOfUse"], json!([]));
        let out = schema().render(
            "conditionalAccessPolicy",
            &stored,
            &[],
            RenderOptions { include_evolvable: true },
        );
        assert_eq!(out["grantControls"]["builtInControls"], json!(["riskRemediation"]));
    }
}
