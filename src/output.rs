//! Printing that never panics and never lets hostile bytes drive the terminal.
//!
//! `println!` panics when stdout is a closed pipe (`harnessgym run | head -1`) or stderr is
//! closed, and a panic mid-run would skip the shutdown that removes the run's containers. These
//! macros write and drop the error: output that nobody reads is no reason to stop a run or to
//! leave anything behind.
//!
//! Much of what harnessgym prints names things the agent made: refused paths and link targets,
//! statuses, artifact names, a container's stderr in an error. Printed raw, an escape sequence in
//! one of them would retitle the window, clear the screen or rewrite the line that warns about
//! it. So every line goes through [`terminal_safe`] (control characters and bidirectional
//! overrides become visible escapes), and the log writer ([`SafeStderr`]) lets through only the
//! colour sequences the log's own styling uses.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// `println!` to stdout, ignoring write errors (a closed pipe); the text goes through
/// [`terminal_safe`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let text = ::std::format!($($arg)*);
        let mut out = ::std::io::stdout().lock();
        let _ = ::std::writeln!(out, "{}", $crate::output::terminal_safe(&text, false));
    }};
}

/// `eprintln!` to stderr, ignoring write errors (a closed stderr); the text goes through
/// [`terminal_safe`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let text = ::std::format!($($arg)*);
        let mut err = ::std::io::stderr().lock();
        let _ = ::std::writeln!(err, "{}", $crate::output::terminal_safe(&text, false));
    }};
}

/// `eprint!` to stderr, ignoring write errors (a closed stderr); the text goes through
/// [`terminal_safe`].
#[macro_export]
macro_rules! errp {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let text = ::std::format!($($arg)*);
        let mut err = ::std::io::stderr().lock();
        let _ = ::std::write!(err, "{}", $crate::output::terminal_safe(&text, false));
        let _ = err.flush();
    }};
}

/// Print JSON text (one document) on stdout, ignoring write errors. JSON escapes control
/// characters itself, except DEL, C1 and the bidirectional overrides: those are written as `\uXXXX`
/// escapes ([`json_safe`]), so the document stays the same value and never drives a terminal.
pub fn print_json(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", json_safe(text));
}

/// Like [`print_json`], on stderr.
pub fn eprint_json(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{}", json_safe(text));
}

/// JSON `text` with every character [`terminal_safe`] would escape written as a JSON `\uXXXX`
/// escape instead (such characters only occur inside strings in serialized JSON, where the escape
/// means the same character).
pub fn json_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        if needs_escape(ch) {
            let _ = write!(out, "\\u{:04x}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// The parameters of the colour sequences (`ESC [ … m`) the log's styling writes: reset, bold,
/// dim, italic and the eight foreground colours. Enough to colour a line, not to hide one.
const LOG_STYLES: &[&str] = &[
    "", "0", "1", "2", "3", "31", "32", "33", "34", "35", "36", "37",
];

/// `text` safe to print on a terminal: newlines and tabs stay; every other control character
/// (C0, DEL, C1) and every bidirectional override becomes a visible escape (`\x1b`, `\u{202e}`).
/// With `keep_styles`, colour sequences made only of the log's own style parameters (reset, bold,
/// dim, italic, the eight foreground colours) stay too.
pub fn terminal_safe(text: &str, keep_styles: bool) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if ch == '\x1b'
            && keep_styles
            && let Some(len) = style_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if needs_escape(ch) {
            if (ch as u32) < 0x80 {
                let _ = write!(out, "\\x{:02x}", ch as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", ch as u32);
            }
        } else {
            out.push(ch);
        }
        rest = &rest[ch.len_utf8()..];
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    ch != '\n' && ch != '\t' && is_unsafe(ch)
}

/// Whether `ch` may change what a terminal shows beyond itself: a control character (C0 with
/// newline and tab, DEL, C1) or a bidirectional override.
pub fn is_unsafe(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The length of the allowed colour sequence at the start of `text`, if there is one.
fn style_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\x1b[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    if !body[end..].starts_with('m') {
        return None;
    }
    let params = &body[..end];
    params
        .split(';')
        .all(|p| LOG_STYLES.contains(&p))
        .then_some(2 + end + 1)
}

/// The log's writer: stderr, each write passed through [`terminal_safe`], with the log's own
/// colours kept when it is coloured (`keep_styles`). The log formats an event whole and writes
/// it in one call, so a sequence never spans two writes (one that did would be escaped, never
/// passed).
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeStderr {
    /// Whether the log writes colours (and so its colour sequences may pass).
    pub keep_styles: bool,
}

impl Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let safe = terminal_safe(&text, self.keep_styles);
        let mut err = io::stderr().lock();
        err.write_all(safe.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().lock().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_newlines_and_tabs_pass_unchanged() {
        let text = "iteration 1/2 attempt\tdone\nünïcødé ✓";
        assert!(matches!(terminal_safe(text, false), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn terminal_commands_become_visible_escapes() {
        let title = "a\x1b]0;PWNED\x07b";
        assert_eq!(terminal_safe(title, false), "a\\x1b]0;PWNED\\x07b");
        assert_eq!(terminal_safe("x\x1b[2Jy", true), "x\\x1b[2Jy");
        assert_eq!(
            terminal_safe("over\rwrite\x08", false),
            "over\\x0dwrite\\x08"
        );
        assert_eq!(terminal_safe("c1\u{9b}31m", false), "c1\\u{9b}31m");
        assert_eq!(terminal_safe("del\x7f", false), "del\\x7f");
        assert_eq!(terminal_safe("abc\u{202e}fed", false), "abc\\u{202e}fed");
        assert_eq!(terminal_safe("\u{2066}x", false), "\\u{2066}x");
    }

    #[test]
    fn only_the_logs_own_colours_survive_and_only_when_asked() {
        let log = "\x1b[33m WARN\x1b[0m \x1b[3mpath\x1b[0m\x1b[2m=\x1b[0mx";
        assert_eq!(terminal_safe(log, true), log);
        assert_eq!(
            terminal_safe("\x1b[33mW", false),
            "\\x1b[33mW",
            "plain output keeps no sequence"
        );
        // Concealed text, black, background colours, cursor moves: escaped.
        for hidden in [
            "\x1b[8m",
            "\x1b[30m",
            "\x1b[41m",
            "\x1b[1;8m",
            "\x1b[2A",
            "\x1b[m\x1b[K",
        ] {
            let safe = terminal_safe(hidden, true);
            assert!(safe.contains("\\x1b"), "{hidden:?} passed as {safe:?}");
        }
        assert_eq!(
            terminal_safe("\x1b[1;31mred\x1b[m", true),
            "\x1b[1;31mred\x1b[m"
        );
        assert_eq!(terminal_safe("cut\x1b[3", true), "cut\\x1b[3");
    }

    #[test]
    fn json_stays_the_same_value_and_safe() {
        let value = serde_json::json!({"status": "a\u{7f}b\u{9b}c\u{202e}d\u{1b}e", "n": 1});
        let text = serde_json::to_string_pretty(&value).expect("json");
        let safe = json_safe(&text);
        assert!(!safe.chars().any(needs_escape), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
        assert!(matches!(json_safe("{\"a\": 1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_log_writer_reports_every_byte_written() {
        let mut writer = SafeStderr { keep_styles: true };
        let buf = b"\x1b]0;t\x07 hello\n";
        assert_eq!(writer.write(buf).expect("stderr"), buf.len());
    }
}
