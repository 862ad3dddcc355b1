//! Countries as Conditional Access names them: ISO 3166-1 alpha-2 codes (`US`, `DE`), the form
//! of named locations' `countriesAndRegions` and of sign-in countries. A name given instead
//! (`Germany`) is refused with the code to use, because matching a name against codes would
//! silently give a wrong verdict.

use isocountry::CountryCode;

/// The ISO 3166-1 alpha-2 code `given` spells (any case), or an error that says which code
/// was probably meant.
pub fn country_code(given: &str) -> Result<String, String> {
    let code = given.trim().to_ascii_uppercase();
    if code.len() == 2 && CountryCode::for_alpha2(&code).is_ok() {
        return Ok(code);
    }
    let suggestions = suggest(given.trim());
    let hint = if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(" or "))
    };
    Err(format!(
        "'{given}' is not an ISO 3166-1 alpha-2 country code (two letters, such as US, DE or GB){hint}"
    ))
}

/// Codes whose country name matches `given`: the exact name first, else every name that
/// contains it; an alpha-3 code or a common short form also finds its country.
fn suggest(given: &str) -> Vec<String> {
    let wanted = given.to_lowercase();
    if wanted.is_empty() {
        return Vec::new();
    }
    let label = |c: CountryCode| format!("{} ({})", c.alpha2(), c.name());
    let alias = match wanted.as_str() {
        "uk" | "great britain" | "britain" | "england" => Some("GB"),
        "usa" | "america" => Some("US"),
        _ => None,
    };
    if let Some(code) = alias.and_then(|a| CountryCode::for_alpha2(a).ok()) {
        return vec![label(code)];
    }
    if let Ok(c) = CountryCode::for_alpha3_caseless(given) {
        return vec![label(c)];
    }
    let exact: Vec<String> = CountryCode::iter()
        .filter(|c| c.name().to_lowercase() == wanted)
        .map(|c| label(*c))
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    CountryCode::iter()
        .filter(|c| c.name().to_lowercase().contains(&wanted))
        .take(4)
        .map(|c| label(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_accepted_in_any_case() {
        assert_eq!(country_code("US").unwrap(), "US");
        assert_eq!(country_code("de").unwrap(), "DE");
    }

    #[test]
    fn names_are_refused_with_the_code_to_use() {
        let err = country_code("Germany").unwrap_err();
        assert!(err.contains("DE (Germany)"), "{err}");
        let err = country_code("United States").unwrap_err();
        assert!(err.contains("US (United States of America)"), "{err}");
        assert!(country_code("UK").unwrap_err().contains("GB ("));
        assert!(country_code("DEU").unwrap_err().contains("DE ("));
    }

    #[test]
    fn unknown_two_letter_codes_are_refused() {
        let err = country_code("XX").unwrap_err();
        assert!(err.contains("ISO 3166-1 alpha-2"), "{err}");
        assert!(country_code("").is_err());
    }
}
