//! Text helpers for the answers' tables (and the landing page's cells): aligned
//! columns, `key: value` pairs, ages, counts, percentages.

use std::fmt::Write as _;

/// The value, or [`dash`] when unknown.
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(dash, |v| v.to_string())
}

/// Whole tokens with two decimals.
pub fn tokens(v: f64) -> String {
    format!("{v:.2}")
}

/// `-`: the cell of an unknown value.
pub fn dash() -> String {
    "-".to_owned()
}

/// A 0–1 ratio as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A compact age: `45s`, `12m`, `3h 5m`, `4d 2h`.
pub fn ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `40.0B`, `1.2T`: counts for people.
pub fn si(n: u64) -> String {
    const UNITS: [(f64, &str); 5] = [(1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
    let v = n as f64;
    UNITS.iter().find(|(scale, _)| v >= *scale).map_or_else(
        || n.to_string(),
        |(scale, unit)| format!("{:.1}{unit}", v / scale),
    )
}

/// Every line indented by two spaces.
/// Bytes with a decimal unit: `512 B`, `2.0 kB`, `6.2 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [(f64, &str); 5] = [
        (1e15, "PB"),
        (1e12, "TB"),
        (1e9, "GB"),
        (1e6, "MB"),
        (1e3, "kB"),
    ];
    let v = n as f64;
    UNITS.iter().find(|(scale, _)| v >= *scale).map_or_else(
        || format!("{n} B"),
        |(scale, unit)| format!("{:.1} {unit}", v / scale),
    )
}

pub fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Left-aligned columns two spaces apart.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the header row `head`.
    pub fn new(head: &[&str]) -> Table {
        Table {
            rows: vec![head.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Append a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The rows, each line's trailing spaces trimmed.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                let _ = write!(line, "{cell:<width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key: value` lines under headings, values aligned.
#[derive(Default)]
pub struct Pairs {
    items: Vec<(bool, String, String)>,
}

impl Pairs {
    /// A heading line.
    pub fn head(&mut self, title: &str) {
        self.items.push((true, title.to_owned(), String::new()));
    }

    /// A `key: value` line under the latest heading.
    pub fn add(&mut self, key: &str, value: impl Into<String>) {
        self.items.push((false, key.to_owned(), value.into()));
    }

    /// The lines, a blank line before each heading but the first.
    pub fn render(&self) -> String {
        let width = self
            .items
            .iter()
            .filter(|(h, _, _)| !h)
            .map(|(_, k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (i, (head, key, value)) in self.items.iter().enumerate() {
            if *head {
                if i > 0 {
                    out.push('\n');
                }
                let _ = writeln!(out, "{key}");
            } else {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {value}",
                    format!("{key}:"),
                    width = width + 1
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_counts_read_well() {
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(720), "12m");
        assert_eq!(ago(3 * 3600 + 300), "3h 5m");
        assert_eq!(ago(4 * 86_400 + 7200), "4d 2h");
        assert_eq!(ago(-5), "0s");
        assert_eq!(si(40_000_000_000), "40.0B");
        assert_eq!(si(999), "999");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["long".into(), "x".into()]);
        assert_eq!(t.render(), "A     BB\nlong  x\n");
    }
}
