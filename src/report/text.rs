//! Plain-text output: aligned tables, numbers and durations, and cleaning of strings that come
//! from the files (an agent's status text must not move a terminal's cursor or paint it).

/// `-`: what a missing value prints as.
pub const NONE: &str = "-";

/// `text` with control characters and bidirectional overrides replaced by `?` and cut to `max` characters (an ellipsis
/// marks the cut).
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, ch) in text.chars().enumerate() {
        if count + 1 == max && text.chars().nth(max).is_some() {
            out.push('…');
            break;
        }
        out.push(if crate::output::is_unsafe(ch) {
            '?'
        } else {
            ch
        });
    }
    out
}

/// A number as short as it can be read back: integers without decimals, others as Rust's
/// shortest round-trip form with at most 6 significant decimals.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return NONE.to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let rounded = format!("{value:.6}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "0" || trimmed == "-0" {
        // Too small for six decimals: keep its magnitude.
        return format!("{value:.2e}");
    }
    trimmed.to_string()
}

/// An optional number, `-` when absent.
pub fn opt_number(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_string(), number)
}

/// Seconds as `12.34s`, `-` when absent.
pub fn seconds(value: Option<f64>) -> String {
    match value {
        Some(s) if s.is_finite() => format!("{s:.2}s"),
        _ => NONE.to_string(),
    }
}

/// An ISO-8601 timestamp as `YYYY-MM-DD HH:MM:SS` (as written, no zone conversion; the files
/// hold UTC); anything else cleaned as is.
pub fn date(value: Option<&str>) -> String {
    let Some(value) = value else {
        return NONE.to_string();
    };
    let shaped = value.len() >= 19
        && value.is_char_boundary(19)
        && value[..19].char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T' || c == ' ',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        });
    if shaped {
        value[..19].replacen('T', " ", 1)
    } else {
        clean(value, 25)
    }
}

/// A list as `a, b, c`, `-` when empty, cut to `max` characters.
pub fn list(items: &[String], max: usize) -> String {
    if items.is_empty() {
        NONE.to_string()
    } else {
        clean(&items.join(", "), max)
    }
}

/// A table of left-aligned columns separated by two spaces; trailing spaces trimmed.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with this header row.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            rows: vec![headers.iter().map(ToString::to_string).collect()],
        }
    }

    /// Add a row (cells already cleaned).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                let pad = width - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("ok\x1b[2J\nrm", 40), "ok?[2J?rm");
        assert_eq!(clean("abcdefgh", 5), "abcd…");
        assert_eq!(clean("abcde", 5), "abcde");
    }

    #[test]
    fn numbers_are_short_and_exact_when_whole() {
        assert_eq!(number(2_230_264.0), "2230264");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(0.000_000_12), "1.20e-7");
        assert_eq!(number(-4.5), "-4.5");
        assert_eq!(opt_number(None), "-");
        assert_eq!(seconds(Some(0.000_42)), "0.00s");
    }

    #[test]
    fn dates_show_to_the_second() {
        assert_eq!(
            date(Some("2026-05-19T03:57:54+00:00")),
            "2026-05-19 03:57:54"
        );
        assert_eq!(date(Some("<TIME>")), "<TIME>");
        assert_eq!(date(None), "-");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["xyz".into(), "1".into()]);
        assert_eq!(t.render(), "A    LONGER\nxyz  1\n");
    }
}
