//! Helpers for the text people read: tables whose columns stay aligned whatever the names,
//! counts with the right plural, and stored or Graph-supplied text made inert.

use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// `1 secret`, `2 secrets`, `0 policies`.
pub fn count<N>(n: N, singular: &str, plural: &str) -> String
where
    N: std::fmt::Display + PartialEq + From<u8> + Copy,
{
    let noun = if n == N::from(1) { singular } else { plural };
    format!("{n} {noun}")
}

/// Text from a tenant or a store, safe to print: control characters (escape sequences, carriage
/// returns, newlines) are shown as escapes instead of acting on the terminal.
pub fn inert(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars().fold(String::with_capacity(s.len()), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    })
}

/// Like [`inert`], but keeps newlines and tabs: for whole blocks of output.
pub fn inert_lines(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s.to_string();
    }
    s.chars().fold(String::with_capacity(s.len()), |mut out, c| {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    })
}

/// `s` in at most `max` columns: the start and the end kept, `…` between
/// (`CA001-Global-…-CountryWhitelist`), which keeps both the number and the purpose of a policy.
pub fn shorten(s: &str, max: usize) -> String {
    if s.width() <= max || max < 3 {
        return s.to_string();
    }
    let room = max - 1;
    let head = take_width(s.chars(), room - room / 2);
    let tail: String = take_width(s.chars().rev(), room / 2).chars().rev().collect();
    format!("{head}…{tail}")
}

fn take_width(chars: impl Iterator<Item = char>, max: usize) -> String {
    let mut width = 0;
    chars
        .take_while(|c| {
            width += c.width().unwrap_or(0);
            width <= max
        })
        .collect()
}

/// How a column lines up its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: left.
    Left,
    /// Numbers: right.
    Right,
}

/// A text table: a header row, columns as wide as their widest cell (or shortened to a limit),
/// two spaces between columns, no trailing spaces.
#[derive(Debug)]
pub struct Table {
    columns: Vec<(&'static str, Align, Option<usize>)>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl Table {
    /// A table with these column headers.
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.iter().map(|(h, a)| (*h, *a, None)).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Cells of column `i` longer than `max` are shortened with `…`.
    #[must_use]
    pub fn limit(mut self, i: usize, max: usize) -> Table {
        if let Some(c) = self.columns.get_mut(i) {
            c.2 = Some(max);
        }
        self
    }

    /// Every line starts with `n` spaces.
    #[must_use]
    pub fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    /// Adds a row; its cells are made inert and shortened to their column's limit.
    pub fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .zip(&self.columns)
            .map(|(cell, (_, _, max))| {
                let cell = inert(&cell);
                match max {
                    Some(m) => shorten(&cell, *m),
                    None => cell,
                }
            })
            .collect();
        self.rows.push(cells);
    }

    /// The table as lines of text.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.width())
                    .chain([self.columns[i].0.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| c.0.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            self.line(&mut out, row, &widths);
        }
        out
    }

    fn line(&self, out: &mut String, row: &[String], widths: &[usize]) {
        let mut line = " ".repeat(self.indent);
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
            match self.columns[i].1 {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(count(1u64, "secret", "secrets"), "1 secret");
        assert_eq!(count(0u64, "policy", "policies"), "0 policies");
        assert_eq!(count(2u32, "step", "steps"), "2 steps");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(inert("plain"), "plain");
        assert_eq!(inert("a\rb\x1b[31mc\n"), "a\\rb\\u{1b}[31mc\\n");
        assert_eq!(inert_lines("a\x1b[2K\rb\n\tc"), "a\\u{1b}[2K\\rb\n\tc");
    }

    #[test]
    fn long_names_keep_their_start_and_end() {
        let name = "CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
        let short = shorten(name, 32);
        assert_eq!(short.width(), 32);
        assert_eq!(short, "CA001-Global-Att…ountryWhitelist");
        assert_eq!(shorten("short", 32), "short");
    }

    #[test]
    fn columns_line_up_whatever_the_width_of_a_cell() {
        let mut t = Table::new(&[("NAME", Align::Left), ("N", Align::Right), ("BY", Align::Left)]);
        t.row(vec!["a-very-long-tenant-name".into(), "7".into(), "x".into()]);
        t.row(vec!["b".into(), "12345".into(), "Ünïcødé 名前".into()]);
        let text = t.render();
        let starts: Vec<usize> = text
            .lines()
            .map(|l| l.find(['x', 'Ü', 'B']).map(|i| l[..i].width()).unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')));
    }
}
