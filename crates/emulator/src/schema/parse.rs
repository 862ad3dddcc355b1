//! Reading the embedded type listing: entity and complex types with their properties and base
//! types (inherited properties copied down), and enum types with their members.

use std::collections::BTreeMap;

use super::{EnumDef, Prim, PropDef, Schema, TypeDef, TypeRef};

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
                } else if let Some(rest) =
                    header.strip_prefix("entity ").or_else(|| header.strip_prefix("complex "))
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
}

fn parse_enum(rest: &str) -> (String, EnumDef) {
    let (head, members) = rest.split_once(':').unwrap_or((rest, ""));
    let flags = head.contains("(Flags)");
    let name = head.replace("(Flags)", "").trim().to_string();
    let all: Vec<String> =
        members.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    let (members, evolvable) = match all.iter().position(|m| m == "unknownFutureValue") {
        Some(i) => (all[..=i].to_vec(), all[i + 1..].to_vec()),
        None => (all, Vec::new()),
    };
    (name, EnumDef { flags, members, evolvable })
}

fn parse_type_header(rest: &str) -> TypeDef {
    let is_abstract = rest.contains("[abstract]");
    let is_open = rest.contains("[OpenType]");
    let clean = rest.replace("[abstract]", "").replace("[OpenType]", "");
    let (name, base) = match clean.split_once(':') {
        Some((n, b)) => {
            (n.trim().to_string(), Some(b.trim().trim_start_matches("graph.").to_string()))
        }
        None => (clean.trim().to_string(), None),
    };
    TypeDef { name, base, is_abstract, is_open, props: BTreeMap::new() }
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
        PropDef { ty: parse_type_ref(inner), collection, not_null, nav },
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
