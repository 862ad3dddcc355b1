//! The device filter rule language of Conditional Access
//! (`device.trustType -eq "ServerAD" -or device.isCompliant -eq True`): parsed once when a
//! policy is compiled, evaluated three-valued per sign-in.
//!
//! Grammar (operators and property names case-insensitive, as Entra reads them):
//!
//! ```text
//! rule       := and ("-or" and)*
//! and        := unary ("-and" unary)*
//! unary      := "-not" unary | "(" rule ")" | comparison
//! comparison := "device." property operator value
//! operator   := -eq -ne -startsWith -notStartsWith -endsWith -notEndsWith
//!               -contains -notContains -in -notIn
//! value      := "text" | 'text' | True | False | [value, …]
//! ```
//!
//! A device Entra does not know (unregistered) has every property empty; a sign-in about
//! whose device nothing was said makes every comparison unknown.

use std::collections::BTreeMap;

use crate::signin::DeviceValue;
use crate::tri::Tri;

/// The longest rule Entra accepts.
pub const MAX_RULE: usize = 3072;

/// Device properties a filter may name.
const PROPERTIES: &[&str] = &[
    "deviceId",
    "displayName",
    "deviceOwnership",
    "enrollmentProfileName",
    "isCompliant",
    "manufacturer",
    "mdmAppId",
    "model",
    "operatingSystem",
    "operatingSystemVersion",
    "physicalIds",
    "profileType",
    "systemLabels",
    "trustType",
    "extensionAttribute1",
    "extensionAttribute2",
    "extensionAttribute3",
    "extensionAttribute4",
    "extensionAttribute5",
    "extensionAttribute6",
    "extensionAttribute7",
    "extensionAttribute8",
    "extensionAttribute9",
    "extensionAttribute10",
    "extensionAttribute11",
    "extensionAttribute12",
    "extensionAttribute13",
    "extensionAttribute14",
    "extensionAttribute15",
];

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    StartsWith,
    EndsWith,
    Contains,
    In,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Both.
    And(Box<Rule>, Box<Rule>),
    /// Either.
    Or(Box<Rule>, Box<Rule>),
    /// Not.
    Not(Box<Rule>),
    /// `device.<property> <op> <value>`, negated for the `-not…`/`-ne` forms.
    Compare {
        /// The property, in Entra's spelling.
        property: &'static str,
        /// The operator.
        op: CompareOp,
        /// The values compared with (one, or several for `-in`).
        values: Vec<String>,
        /// `-ne`, `-notContains`…
        negated: bool,
    },
}

/// The operator of a comparison (public for explanations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOp(Op);

/// Why a rule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {at}")]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// Where (0-based character offset).
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

fn tokens(rule: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                out.push((
                    start,
                    match c {
                        '(' => Token::Open,
                        ')' => Token::Close,
                        '[' => Token::OpenList,
                        ']' => Token::CloseList,
                        _ => Token::Comma,
                    },
                ));
                i += 1;
            }
            '"' | '\'' | '\u{201c}' | '\u{201d}' => {
                let close = if c == '\'' { '\'' } else { '"' };
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError {
                                message: "a quoted value is not closed".into(),
                                at: start,
                            });
                        }
                        Some(&q) if q == close || (close == '"' && q == '\u{201d}') => {
                            i += 1;
                            break;
                        }
                        Some(&q) => {
                            text.push(q);
                            i += 1;
                        }
                    }
                }
                out.push((start, Token::Text(text)));
            }
            _ => {
                let mut word = String::new();
                while let Some(&w) = chars.get(i) {
                    if w.is_whitespace() || "()[],\"'".contains(w) {
                        break;
                    }
                    word.push(w);
                    i += 1;
                }
                out.push((start, Token::Word(word)));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(o, _)| *o)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError { message: message.into(), at: self.offset() })
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn rule(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.and()?;
        while self.keyword("-or") {
            self.at += 1;
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("-and") {
            self.at += 1;
            let right = self.unary()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Rule, FilterError> {
        if self.keyword("-not") {
            self.at += 1;
            return Ok(Rule::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.rule()?;
            if self.peek() != Some(&Token::Close) {
                return self.fail("expected ')'");
            }
            self.at += 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Rule, FilterError> {
        let Some(Token::Word(word)) = self.peek().cloned() else {
            return self.fail("expected a device property such as device.trustType");
        };
        let Some(name) =
            word.get(..7).filter(|p| p.eq_ignore_ascii_case("device.")).map(|_| &word[7..])
        else {
            return self.fail(format!(
                "expected a device property such as device.trustType, found '{word}'"
            ));
        };
        let Some(property) = PROPERTIES.iter().copied().find(|p| p.eq_ignore_ascii_case(name))
        else {
            return self.fail(format!("'{name}' is not a device property a filter can use"));
        };
        self.at += 1;
        let Some(Token::Word(op)) = self.peek().cloned() else {
            return self.fail(format!("expected an operator after device.{property}"));
        };
        let (op, negated) = match op.to_ascii_lowercase().as_str() {
            "-eq" => (Op::Eq, false),
            "-ne" => (Op::Eq, true),
            "-startswith" => (Op::StartsWith, false),
            "-notstartswith" => (Op::StartsWith, true),
            "-endswith" => (Op::EndsWith, false),
            "-notendswith" => (Op::EndsWith, true),
            "-contains" => (Op::Contains, false),
            "-notcontains" => (Op::Contains, true),
            "-in" => (Op::In, false),
            "-notin" => (Op::In, true),
            _ => return self.fail(format!("'{op}' is not a device filter operator")),
        };
        self.at += 1;
        let values = if op == Op::In { self.list()? } else { vec![self.value()?] };
        Ok(Rule::Compare { property, op: CompareOp(op), values, negated })
    }

    fn value(&mut self) -> Result<String, FilterError> {
        match self.peek().cloned() {
            Some(Token::Text(t)) => {
                self.at += 1;
                Ok(t)
            }
            Some(Token::Word(w))
                if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
            {
                self.at += 1;
                Ok(w.to_ascii_lowercase())
            }
            _ => self.fail("expected a quoted value, True or False"),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, FilterError> {
        if self.peek() != Some(&Token::OpenList) {
            return self.fail("expected a list such as [\"a\", \"b\"]");
        }
        self.at += 1;
        let mut values = Vec::new();
        loop {
            values.push(self.value()?);
            match self.peek() {
                Some(Token::Comma) => self.at += 1,
                Some(Token::CloseList) => {
                    self.at += 1;
                    return Ok(values);
                }
                _ => return self.fail("expected ',' or ']'"),
            }
        }
    }
}

/// Parses a rule.
pub fn parse(rule: &str) -> Result<Rule, FilterError> {
    if rule.chars().count() > MAX_RULE {
        return Err(FilterError {
            message: format!("the rule is longer than {MAX_RULE} characters"),
            at: MAX_RULE,
        });
    }
    let mut p = Parser { tokens: tokens(rule)?, at: 0, end: rule.chars().count() };
    if p.tokens.is_empty() {
        return p.fail("the rule is empty");
    }
    let parsed = p.rule()?;
    if p.at < p.tokens.len() {
        return p.fail("unexpected text after the rule");
    }
    Ok(parsed)
}

impl Rule {
    /// Whether a device matches. `None`: nothing is known about the device.
    pub fn matches(&self, device: Option<&BTreeMap<String, DeviceValue>>) -> Tri {
        match self {
            Rule::And(a, b) => {
                let left = a.matches(device);
                if left == Tri::No {
                    return Tri::No;
                }
                left.and(b.matches(device))
            }
            Rule::Or(a, b) => {
                let left = a.matches(device);
                if left == Tri::Yes {
                    return Tri::Yes;
                }
                left.or(b.matches(device))
            }
            Rule::Not(a) => !a.matches(device),
            Rule::Compare { property, op, values, negated } => {
                let Some(device) = device else {
                    return Tri::Unknown;
                };
                let value =
                    device.iter().find(|(k, _)| k.eq_ignore_ascii_case(property)).map(|(_, v)| v);
                let hit = compare(value, op.0, values);
                Tri::from_bool(hit != *negated)
            }
        }
    }
}

fn compare(value: Option<&DeviceValue>, op: Op, values: &[String]) -> bool {
    let texts: Vec<String> = match value {
        None => vec![String::new()],
        Some(DeviceValue::Text(t)) => vec![t.to_lowercase()],
        Some(DeviceValue::Bool(b)) => vec![b.to_string()],
        Some(DeviceValue::List(l)) => l.iter().map(|s| s.to_lowercase()).collect(),
    };
    let wanted: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    let is_list = matches!(value, Some(DeviceValue::List(_)));
    texts.iter().any(|t| {
        wanted.iter().any(|w| match op {
            Op::Eq | Op::In => t == w,
            Op::StartsWith => t.starts_with(w.as_str()),
            Op::EndsWith => t.ends_with(w.as_str()),
            // On a collection (`physicalIds`, `systemLabels`), contains means "has an item".
            Op::Contains if is_list => t == w,
            Op::Contains => t.contains(w.as_str()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(pairs: &[(&str, DeviceValue)]) -> BTreeMap<String, DeviceValue> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
    }

    #[test]
    fn evaluates_the_seed_rule() {
        let rule =
            parse("device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True").unwrap();
        let hybrid = device(&[("trustType", DeviceValue::Text("ServerAD".into()))]);
        let compliant = device(&[("isCompliant", DeviceValue::Bool(true))]);
        let personal = device(&[("isCompliant", DeviceValue::Bool(false))]);
        assert_eq!(rule.matches(Some(&hybrid)), Tri::Yes);
        assert_eq!(rule.matches(Some(&compliant)), Tri::Yes);
        assert_eq!(rule.matches(Some(&personal)), Tri::No);
        assert_eq!(rule.matches(None), Tri::Unknown);
    }

    #[test]
    fn operators_lists_and_negation() {
        let d = device(&[
            ("model", DeviceValue::Text("Surface Laptop 5".into())),
            ("systemLabels", DeviceValue::List(vec!["AzureResource".into()])),
        ]);
        for (rule, expected) in [
            ("device.model -startsWith \"surface\"", Tri::Yes),
            ("device.model -notStartsWith \"Surface\"", Tri::No),
            ("device.model -endsWith '5'", Tri::Yes),
            ("device.model -contains \"Laptop\"", Tri::Yes),
            ("device.model -in [\"x\", \"Surface Laptop 5\"]", Tri::Yes),
            ("device.model -notIn [\"x\"]", Tri::Yes),
            ("device.systemLabels -contains \"azureresource\"", Tri::Yes),
            ("-not (device.model -eq \"x\")", Tri::Yes),
            ("device.extensionAttribute1 -eq \"\"", Tri::Yes),
            (
                "(device.model -eq \"x\" -or device.model -ne \"y\") -and device.isCompliant -ne True",
                Tri::Yes,
            ),
        ] {
            assert_eq!(parse(rule).unwrap().matches(Some(&d)), expected, "{rule}");
        }
    }

    #[test]
    fn malformed_rules_say_where() {
        for (rule, message) in [
            ("", "the rule is empty"),
            ("device.colour -eq \"red\"", "'colour' is not a device property"),
            ("device.model -like \"x\"", "'-like' is not a device filter operator"),
            ("device.model -eq \"x", "a quoted value is not closed"),
            ("(device.model -eq \"x\"", "expected ')'"),
            ("device.model -eq \"x\" device.model", "unexpected text"),
            ("device.model -in \"x\"", "expected a list"),
            ("trustType -eq \"x\"", "expected a device property"),
        ] {
            let e = parse(rule).unwrap_err();
            assert!(e.to_string().contains(message), "{rule}: {e}");
        }
    }
}
