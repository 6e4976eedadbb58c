//! The HTML around the charts: one self-contained page (inline CSS, no script, no external
//! reference of any kind, and a Content-Security-Policy that forbids loading anything), tables,
//! fact lists. Every string from the files goes through [`escape`]; only markup this module or
//! [`super::svg`] wrote is inserted as is.

use std::fmt::Write as _;

/// `text` made safe as HTML text or a quoted attribute value.
pub fn escape(text: &str) -> String {
    super::svg::escape(text)
}

/// The page's style sheet.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;margin:24px auto;max-width:1120px;padding:0 16px;line-height:1.4}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub{color:#666;margin:0 0 16px}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}\
dl.facts dt{color:#666}dl.facts dd{margin:0;word-break:break-all}\
table{border-collapse:collapse;font-size:13px;width:100%}\
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f6f6f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}\
td.text{white-space:nowrap}td.long{overflow-wrap:anywhere;min-width:7em}\
.scroll{overflow-x:auto}\
.chart{display:block;margin:8px 0;border:1px solid #eee}\
.verdict{font-size:20px;font-weight:600;padding:10px 14px;border-radius:6px;display:inline-block;margin:6px 0}\
.better{background:#e3f4e1;color:#1e5e1a}.worse{background:#fbe3e3;color:#8a1c1c}.unclear{background:#eef0f3;color:#333}\
.warn{color:#8a5a00}.ok{color:#1e5e1a}.bad{color:#8a1c1c}\
footer{color:#888;font-size:12px;margin-top:32px}";

/// A whole page: `title` in the tab, then `body` (already markup).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<footer>Made by harnessgym {} from files on disk; no network, no script.</footer>\n</body>\n</html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION"),
    )
}

/// The longest short-text cell, in characters (longer is cut).
const SHORT: usize = 80;
/// The longest free-text cell, in characters.
const LONG: usize = 2000;

/// A table cell.
#[derive(Debug, Clone)]
pub enum Cell {
    /// A short text from the files (a status, an id): escaped, kept on one line, cut at 80
    /// characters.
    Text(String),
    /// Free text from the files (paths, reasons, descriptions): escaped, wrapped anywhere, cut
    /// at 2000 characters.
    Long(String),
    /// A number or duration, right-aligned (escaped too).
    Num(String),
    /// Markup made here (a status badge): inserted as is.
    Markup(String),
}

/// Text cell.
pub fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

/// Free-text cell.
pub fn long(value: impl Into<String>) -> Cell {
    Cell::Long(value.into())
}

/// Number cell.
pub fn num(value: impl Into<String>) -> Cell {
    Cell::Num(value.into())
}

/// A table with a header row.
pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            match cell {
                Cell::Text(value) => {
                    let value = super::text::clean(value, SHORT);
                    let _ = write!(out, "<td class=\"text\">{}</td>", escape(&value));
                }
                Cell::Long(value) => {
                    let value = super::text::clean(value, LONG);
                    let _ = write!(out, "<td class=\"long\">{}</td>", escape(&value));
                }
                Cell::Num(value) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", escape(value));
                }
                Cell::Markup(markup) => {
                    let _ = write!(out, "<td>{markup}</td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// A list of `name: value` facts (values escaped).
pub fn facts(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">\n");
    for (name, value) in items {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
    }
    out.push_str("</dl>\n");
    out
}

/// A section heading.
pub fn heading(text: &str) -> String {
    format!("<h2>{}</h2>\n", escape(text))
}

/// `text` in a span of `class` (one of the page's classes).
pub fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"{}\">{}</span>", escape(class), escape(text))
}

/// Warnings about files that could not be used, as a list (nothing when there are none).
pub fn warnings(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = heading("Files that could not be used");
    out.push_str("<ul class=\"warn\">\n");
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape(item));
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_text_and_keep_markup() {
        let html = table(
            &["a"],
            &[vec![
                text("<img src=x onerror=alert(1)>"),
                num("1<2"),
                Cell::Markup(badge("ok", "<b>")),
            ]],
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("1&lt;2"));
        assert!(html.contains("<span class=\"ok\">&lt;b&gt;</span>"));
    }

    #[test]
    fn the_page_loads_nothing_from_anywhere() {
        let html = page("</title><script>", "<p>x</p>");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("default-src 'none'"));
        for needle in ["http://", "https://", "src=", "href=", "url("] {
            assert!(!html.contains(needle), "{needle} in the page");
        }
    }
}
