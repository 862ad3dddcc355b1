//! Three-valued logic (Kleene): a condition whose signal was not given is `Unknown`, never a
//! guess, and unknowns combine so that a known signal can only ever settle them.

use serde::Serialize;

/// Yes, no, or cannot tell from what is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    /// Definitely true.
    Yes,
    /// Definitely false.
    No,
    /// Depends on a signal that was not given (or a policy that could not be read).
    Unknown,
}

impl Tri {
    /// `Yes` or `No`.
    pub fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    /// Kleene conjunction: `No` wins, then `Unknown`.
    #[must_use]
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }

    /// Kleene disjunction: `Yes` wins, then `Unknown`.
    #[must_use]
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }

    /// The disjunction of many (`No` for none).
    pub fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::No, Tri::or)
    }

    /// The conjunction of many (`Yes` for none).
    pub fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::Yes, Tri::and)
    }

    /// Whether this could be true.
    pub fn maybe(self) -> bool {
        self != Tri::No
    }

    /// Whether the value is known.
    pub fn known(self) -> bool {
        self != Tri::Unknown
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;

    /// Negation; `Unknown` stays unknown.
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::{self, No, Unknown, Yes};

    #[test]
    fn kleene_tables() {
        let all = [Yes, No, Unknown];
        for a in all {
            for b in all {
                assert_eq!(a.and(b), b.and(a));
                assert_eq!(a.or(b), b.or(a));
                // De Morgan holds in Kleene logic.
                assert_eq!(!a.and(b), (!a).or(!b));
            }
        }
        assert_eq!(Yes.and(Unknown), Unknown);
        assert_eq!(No.and(Unknown), No);
        assert_eq!(Yes.or(Unknown), Yes);
        assert_eq!(Tri::any([]), No);
        assert_eq!(Tri::all([]), Yes);
    }
}
