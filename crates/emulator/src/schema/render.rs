//! Rendering a stored (sparse) object as Graph returns it: every declared property, unset
//! collections as `[]` and unset values as `null`, evolvable enum members hidden unless asked.

use serde_json::{Map, Value};

use super::{EnumDef, Prim, PropDef, RenderOptions, Schema, TypeRef};

impl Schema {
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
            Value::Array(items) if prop.collection => {
                Value::Array(items.iter().map(|v| self.render_single(&prop.ty, v, opts)).collect())
            }
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

/// The member Graph sends for `m`: itself, or `unknownFutureValue` for an evolvable member.
fn hide_evolvable<'a>(e: &EnumDef, m: &'a str) -> &'a str {
    if e.evolvable.iter().any(|x| x == m) { "unknownFutureValue" } else { m }
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
