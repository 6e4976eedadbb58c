//! Finding an agent's session id in its output.
//!
//! Codex prints a header line `session id: <uuid>`; that line wins. Then the first UUID anywhere,
//! then a loose `session[ _-]id: <token>` / `session_id=<token>` (fix of reference §14.14: the
//! loose pattern used to win over a later UUID, so a word like `session: started` became the id).

use std::sync::LazyLock;

use regex::Regex;

static HEADER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?im)^\s*session id:\s*([0-9A-Za-z][0-9A-Za-z_.:-]*)\s*$").ok());
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").ok()
});
static LOOSE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)session(?:[_ -]?id)?\s*[:=]\s*([A-Za-z0-9_.:-]+)").ok());

fn capture(regex: &LazyLock<Option<Regex>>, text: &str, group: usize) -> Option<String> {
    let regex = regex.as_ref()?;
    let captures = regex.captures(text)?;
    captures.get(group).map(|m| m.as_str().to_string())
}

/// The session id in `output`: the session header, else the first UUID, else a loose
/// `session id: <token>`.
pub fn find(output: &str) -> Option<String> {
    capture(&HEADER, output, 1)
        .or_else(|| capture(&UUID, output, 0))
        .or_else(|| capture(&LOOSE, output, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codex_header_wins_over_everything_else() {
        let output = "session: starting\nrequest 3f1e2d4c-0000-4000-8000-000000000001\n\
                      --------\nsession id: 01a23225-c948-71f1-ba7a-c235ee0c78ef\n--------\n";
        assert_eq!(
            find(output).as_deref(),
            Some("01a23225-c948-71f1-ba7a-c235ee0c78ef")
        );
    }

    #[test]
    fn a_uuid_wins_over_a_loose_session_word() {
        let output = "session: started\nresumed 3f1e2d4c-0000-4000-8000-000000000001 ok\n";
        assert_eq!(
            find(output).as_deref(),
            Some("3f1e2d4c-0000-4000-8000-000000000001")
        );
    }

    #[test]
    fn loose_forms_are_the_last_resort() {
        assert_eq!(find("Session ID: abc-123").as_deref(), Some("abc-123"));
        assert_eq!(find("session_id=xyz.789").as_deref(), Some("xyz.789"));
        assert_eq!(find("nothing here"), None);
    }
}
