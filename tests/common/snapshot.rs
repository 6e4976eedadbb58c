//! Output snapshots of the built binary: exit code, stdout and stderr as one text, with what
//! changes from run to run (temporary paths, run ids, timestamps) replaced by placeholders, so a
//! test compares the whole of what a user sees.

use std::path::Path;
use std::process::{Command, Output};

/// The built binary.
pub fn harnessgym() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harnessgym"))
}

/// Rewrites the volatile parts of an output. Paths are replaced longest first, so a path inside
/// another one keeps its own placeholder.
#[derive(Debug, Default)]
pub struct Filters {
    paths: Vec<(String, String)>,
}

impl Filters {
    pub fn new() -> Self {
        Filters::default()
    }

    /// Show `path` (and its canonical form, when different) as `placeholder`.
    pub fn path(mut self, path: &Path, placeholder: &str) -> Self {
        let mut forms = vec![path.display().to_string()];
        if let Ok(real) = path.canonicalize() {
            forms.push(real.display().to_string());
        }
        for form in forms {
            self.paths.push((form, placeholder.to_string()));
        }
        self.paths
            .sort_by_key(|(form, _)| std::cmp::Reverse(form.len()));
        self
    }

    /// `text` with the registered paths, run ids (`20260519T035754Z-1a2b3c4d`) and timestamps
    /// (`2026-05-19T03:57:54`, with its fraction and offset or `Z`) replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (form, placeholder) in &self.paths {
            text = text.replace(form.as_str(), placeholder);
        }
        let text = mask(&text, "DDDDDDDDTDDDDDDZ-HHHHHHHH", "[RUN_ID]");
        mask(&text, "DDDD-DD-DDTDD:DD:DD", "[TIME]")
    }

    /// The snapshot of a finished command.
    pub fn snapshot(&self, out: &Output) -> String {
        let code = out
            .status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string());
        format!(
            "exit: {code}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.apply(&String::from_utf8_lossy(&out.stdout)),
            self.apply(&String::from_utf8_lossy(&out.stderr)),
        )
    }
}

/// Replaces each match of `template` in `text` (`D` = a digit, `H` = a lowercase hex digit, any
/// other character = itself) with `placeholder`. A timestamp's fraction (`.123456`) and zone
/// (`Z`, `+00:00`) go with it.
pub fn mask(text: &str, template: &str, placeholder: &str) -> String {
    let pattern: Vec<char> = template.chars().collect();
    let chars: Vec<char> = text.chars().collect();
    let fits = |c: char, p: char| match p {
        'D' => c.is_ascii_digit(),
        'H' => c.is_ascii_digit() || ('a'..='f').contains(&c),
        other => c == other,
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let matched = chars.len() - i >= pattern.len()
            && pattern.iter().zip(&chars[i..]).all(|(p, c)| fits(*c, *p));
        if !matched {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        out.push_str(placeholder);
        i += pattern.len();
        if template.contains(':') {
            i = skip_time_suffix(&chars, i);
        }
    }
    out
}

/// Past a timestamp's `.digits` and `Z` or `±HH:MM`.
fn skip_time_suffix(chars: &[char], mut i: usize) -> usize {
    if chars.get(i) == Some(&'.') {
        i += 1;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    match chars.get(i) {
        Some('Z') => i + 1,
        Some('+' | '-')
            if chars.len() >= i + 6
                && chars[i + 1..i + 3].iter().all(char::is_ascii_digit)
                && chars[i + 3] == ':'
                && chars[i + 4..i + 6].iter().all(char::is_ascii_digit) =>
        {
            i + 6
        }
        _ => i,
    }
}

/// Asserts that `actual` is `expected`, printing the whole actual snapshot when it is not (copy
/// it into the test after checking it reads right).
#[track_caller]
pub fn assert_snapshot(actual: &str, expected: &str) {
    assert!(
        actual == expected,
        "snapshot differs\n===== expected =====\n{expected}===== actual =====\n{actual}===== end ====="
    );
}
