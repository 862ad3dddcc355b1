//! `$filter`: the subset of `OData` filter expressions Graph clients send for the resources in
//! scope — `eq`/`ne`/`ge`/`gt`/`le`/`lt` on (nested) properties, `startswith(prop,'x')`,
//! `prop in ('a','b')`, `and`/`or`/`not`, parentheses, and `any` lambdas over collections
//! (`targetResources/any(t:t/id eq 'x')`). Parsed once per request, evaluated per object.

use serde_json::{Map, Value};

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Cmp { path: Vec<String>, op: CmpOp, value: Literal },
    In { path: Vec<String>, values: Vec<Literal> },
    StartsWith { path: Vec<String>, prefix: String },
    Any { path: Vec<String>, var: String, inner: Box<Filter> },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// An unquoted date-time such as `2024-01-01T00:00:00Z`.
    DateTime(jiff::Timestamp),
}

/// Why a filter could not be parsed; the message is what Graph's `Request_UnsupportedQuery` says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid filter clause: {0}")]
pub(crate) struct FilterError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError("unterminated string literal".into())),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(lit));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    // A colon ends an identifier only in lambda heads (`t:`), not in times.
                    if chars[i] == ':' && !chars[start].is_ascii_digit() {
                        break;
                    }
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.is_empty() {
                    return Err(FilterError(format!("unexpected character '{c}'")));
                }
                out.push(classify_word(word));
            }
        }
    }
    Ok(out)
}

fn classify_word(word: String) -> Tok {
    if word.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-')
        && let Ok(n) = word.parse::<f64>()
    {
        return Tok::Num(n);
    }
    Tok::Ident(word)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

/// Parses a `$filter` value.
pub(crate) fn parse(s: &str) -> Result<Filter, FilterError> {
    let mut p = Parser { toks: tokenize(s)?, pos: 0 };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError(format!("unexpected token at position {}", p.pos)));
    }
    Ok(f)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(t) if &t == tok => Ok(()),
            other => Err(FilterError(format!("expected {tok:?}, found {other:?}"))),
        }
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let f = self.or()?;
            self.expect(&Tok::RParen)?;
            return Ok(f);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Filter, FilterError> {
        let Some(Tok::Ident(word)) = self.next() else {
            return Err(FilterError("expected a property or function".into()));
        };
        if word.eq_ignore_ascii_case("startswith") {
            self.expect(&Tok::LParen)?;
            let path = self.path()?;
            self.expect(&Tok::Comma)?;
            let Some(Tok::Str(prefix)) = self.next() else {
                return Err(FilterError("startswith needs a string literal".into()));
            };
            self.expect(&Tok::RParen)?;
            return Ok(Filter::StartsWith { path, prefix });
        }
        let mut path = split_path(&word);
        if let Some(last) = path.last()
            && last.eq_ignore_ascii_case("any")
            && self.peek() == Some(&Tok::LParen)
        {
            path.pop();
            return self.lambda(path);
        }
        if self.keyword("in") {
            return Ok(Filter::In { path, values: self.literal_list()? });
        }
        let op = match self.next() {
            Some(Tok::Ident(op)) => parse_op(&op)?,
            other => {
                return Err(FilterError(format!("expected an operator, found {other:?}")));
            }
        };
        let value = self.literal()?;
        Ok(Filter::Cmp { path, op, value })
    }

    fn lambda(&mut self, path: Vec<String>) -> Result<Filter, FilterError> {
        self.expect(&Tok::LParen)?;
        let Some(Tok::Ident(var)) = self.next() else {
            return Err(FilterError("expected a lambda variable".into()));
        };
        self.expect(&Tok::Colon)?;
        let inner = self.or()?;
        self.expect(&Tok::RParen)?;
        Ok(Filter::Any { path, var, inner: Box::new(inner) })
    }

    fn path(&mut self) -> Result<Vec<String>, FilterError> {
        match self.next() {
            Some(Tok::Ident(w)) => Ok(split_path(&w)),
            other => Err(FilterError(format!("expected a property, found {other:?}"))),
        }
    }

    fn literal_list(&mut self) -> Result<Vec<Literal>, FilterError> {
        self.expect(&Tok::LParen)?;
        let mut values = vec![self.literal()?];
        while self.peek() == Some(&Tok::Comma) {
            self.pos += 1;
            values.push(self.literal()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(values)
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Ident(w)) if w == "true" => Ok(Literal::Bool(true)),
            Some(Tok::Ident(w)) if w == "false" => Ok(Literal::Bool(false)),
            Some(Tok::Ident(w)) if w == "null" => Ok(Literal::Null),
            Some(Tok::Ident(w)) => w
                .parse::<jiff::Timestamp>()
                .map(Literal::DateTime)
                .map_err(|_| FilterError(format!("'{w}' is not a literal"))),
            other => Err(FilterError(format!("expected a literal, found {other:?}"))),
        }
    }
}

fn split_path(word: &str) -> Vec<String> {
    word.split('/').map(str::to_string).collect()
}

fn parse_op(op: &str) -> Result<CmpOp, FilterError> {
    Ok(match op.to_ascii_lowercase().as_str() {
        "eq" => CmpOp::Eq,
        "ne" => CmpOp::Ne,
        "gt" => CmpOp::Gt,
        "ge" => CmpOp::Ge,
        "lt" => CmpOp::Lt,
        "le" => CmpOp::Le,
        other => return Err(FilterError(format!("unsupported operator '{other}'"))),
    })
}

impl Filter {
    /// True when `obj` satisfies the filter. Missing properties compare as `null`.
    pub(crate) fn matches(&self, obj: &Map<String, Value>) -> bool {
        self.eval(obj, None)
    }

    /// The first property name of every path in the filter, for validation against the type.
    pub(crate) fn root_properties(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_roots(&mut out);
        out
    }

    fn collect_roots<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::Cmp { path, .. }
            | Filter::In { path, .. }
            | Filter::StartsWith { path, .. } => {
                out.extend(path.first().map(String::as_str));
            }
            Filter::Any { path, .. } => out.extend(path.first().map(String::as_str)),
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.collect_roots(out);
                b.collect_roots(out);
            }
            Filter::Not(a) => a.collect_roots(out),
        }
    }

    fn eval(&self, obj: &Map<String, Value>, var: Option<(&str, &Value)>) -> bool {
        match self {
            Filter::Cmp { path, op, value } => compare(resolve(obj, path, var), *op, value),
            Filter::In { path, values } => {
                let v = resolve(obj, path, var);
                values.iter().any(|l| compare(v, CmpOp::Eq, l))
            }
            Filter::StartsWith { path, prefix } => resolve(obj, path, var)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&prefix.to_lowercase())),
            Filter::Any { path, var: name, inner } => resolve(obj, path, var)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|item| inner.eval(obj, Some((name, item))))),
            Filter::And(a, b) => a.eval(obj, var) && b.eval(obj, var),
            Filter::Or(a, b) => a.eval(obj, var) || b.eval(obj, var),
            Filter::Not(a) => !a.eval(obj, var),
        }
    }
}

fn resolve<'a>(
    obj: &'a Map<String, Value>,
    path: &[String],
    var: Option<(&str, &'a Value)>,
) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = match var {
        Some((name, item)) if first == name => item,
        _ => obj.get(first)?,
    };
    for seg in rest {
        cur = cur.get(seg)?;
    }
    Some(cur)
}

fn compare(v: Option<&Value>, op: CmpOp, lit: &Literal) -> bool {
    let v = v.unwrap_or(&Value::Null);
    let ord = match (v, lit) {
        (Value::Null, Literal::Null) => Some(std::cmp::Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::String(s), Literal::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Value::String(s), Literal::DateTime(t)) => {
            s.parse::<jiff::Timestamp>().ok().map(|x| x.cmp(t))
        }
        (Value::Number(n), Literal::Num(l)) => n.as_f64().and_then(|x| x.partial_cmp(l)),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    };
    match (op, ord) {
        (CmpOp::Eq, o) => o == Some(std::cmp::Ordering::Equal),
        (CmpOp::Ne, o) => o != Some(std::cmp::Ordering::Equal),
        (_, None) => false,
        (CmpOp::Gt, Some(o)) => o.is_gt(),
        (CmpOp::Ge, Some(o)) => o.is_ge(),
        (CmpOp::Lt, Some(o)) => o.is_lt(),
        (CmpOp::Le, Some(o)) => o.is_le(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_client_forms() {
        let user = json!({"id": "a1", "displayName": "Adele Vance", "accountEnabled": true});
        let user = user.as_object().unwrap();
        assert!(parse("displayName eq 'adele vance'").unwrap().matches(user));
        assert!(parse("startswith(displayName,'Ade')").unwrap().matches(user));
        assert!(parse("id in ('x','a1')").unwrap().matches(user));
        assert!(parse("accountEnabled eq true and not(id eq 'b')").unwrap().matches(user));
        assert!(!parse("id eq 'b' or displayName eq 'x'").unwrap().matches(user));
    }

    #[test]
    fn audit_time_ranges_and_lambdas() {
        let rec = json!({"activityDateTime": "2026-01-02T03:04:05Z",
            "initiatedBy": {"app": {"appId": "c1"}},
            "targetResources": [{"id": "t1"}, {"id": "t2"}]});
        let rec = rec.as_object().unwrap();
        let f = parse(
            "activityDateTime ge 2026-01-01T00:00:00Z and activityDateTime le 2026-01-03T00:00:00Z",
        )
        .unwrap();
        assert!(f.matches(rec));
        assert!(!parse("activityDateTime gt 2026-01-02T03:04:05Z").unwrap().matches(rec));
        assert!(parse("initiatedBy/app/appId eq 'c1'").unwrap().matches(rec));
        assert!(parse("targetResources/any(t:t/id eq 't2')").unwrap().matches(rec));
    }

    #[test]
    fn malformed_filters_are_errors() {
        for bad in [
            "displayName eq",
            "startswith(displayName)",
            "id in ()",
            "'x'",
            "a eqq 'b'",
            "(a eq 'b'",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
