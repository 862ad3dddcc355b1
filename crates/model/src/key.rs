//! An object's key: its id, or for a kind contained in another (an application's federated
//! identity credentials) `parent/id`. The one place that knows how the two parts are joined.

/// `(parent, own id)` of a contained object's key (`app/fic`), or `(None, key)`.
pub fn split(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((parent, own)) => (Some(parent), own),
        None => (None, key),
    }
}

/// The object's own id: after the parent of a contained object, else the key.
pub fn own_id(key: &str) -> &str {
    split(key).1
}

/// The top-level object a key belongs to: the parent of a contained object, else the key.
pub fn top(key: &str) -> &str {
    split(key).0.unwrap_or(key)
}

/// The key of the object `own` contained in `parent`.
pub fn join(parent: &str, own: &str) -> String {
    format!("{parent}/{own}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_key_is_its_parent_and_its_own_id() {
        assert_eq!(split("app/fic"), (Some("app"), "fic"));
        assert_eq!(split("user"), (None, "user"));
        assert_eq!((own_id("app/fic"), top("app/fic")), ("fic", "app"));
        assert_eq!((own_id("user"), top("user")), ("user", "user"));
        assert_eq!(join("app", "fic"), "app/fic");
    }
}
