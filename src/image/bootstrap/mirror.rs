//! The Debian mirror: read the host's apt sources (one-line `sources.list` and deb822
//! `.sources`) and pick the first archive a Debian suite can be bootstrapped from.

use std::fs;
use std::path::{Path, PathBuf};

/// Mirror used when the host's apt sources name no Debian archive.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The Debian suites a bootstrap mirror must serve (an Ubuntu archive serves none of them).
const DEBIAN_SUITES: &[&str] = &[
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
];

/// Whether one apt source (type, URIs, suites) names a Debian archive we can bootstrap from.
fn usable_source(types: &[&str], uri: &str, suites: &[&str]) -> bool {
    types.contains(&"deb")
        && (uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:/"))
        && suites.iter().any(|s| DEBIAN_SUITES.contains(s))
}

/// The first usable Debian mirror URI in deb822 `.sources` text (`Types: deb`, `URIs:`,
/// `Suites:` with a plain Debian suite, not `Enabled: no`).
pub fn mirror_from_deb822(text: &str) -> Option<String> {
    for stanza in deb822_stanzas(text) {
        let get = |key: &str| {
            stanza
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        if get("Enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("no")) {
            continue;
        }
        let types: Vec<&str> = get("Types").unwrap_or("").split_whitespace().collect();
        let suites: Vec<&str> = get("Suites").unwrap_or("").split_whitespace().collect();
        let Some(uri) = get("URIs").and_then(|v| v.split_whitespace().next()) else {
            continue;
        };
        if usable_source(&types, uri, &suites) {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

/// Stanzas of a deb822 file as (field, value) pairs; comments dropped, folded lines joined.
fn deb822_stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stanzas = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !current.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !current.is_empty() {
        stanzas.push(current);
    }
    stanzas
}

/// The first usable Debian mirror URI in one-line `sources.list` text
/// (`deb [options] URI suite components...`).
pub fn mirror_from_one_line(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb")
            .filter(|r| r.starts_with([' ', '\t']))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        if let Some(options) = rest.strip_prefix('[') {
            let Some((_, after)) = options.split_once(']') else {
                continue;
            };
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        if usable_source(&["deb"], uri, &[suite]) {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

/// Detect the Debian mirror from the apt configuration under `apt_dir` (normally `/etc/apt`):
/// `sources.list`, then `sources.list.d/*.list` and `*.sources` by name; [`DEFAULT_MIRROR`] when
/// none names a Debian archive.
pub fn detect_mirror(apt_dir: &Path) -> String {
    let mut files = vec![apt_dir.join("sources.list")];
    if let Ok(entries) = fs::read_dir(apt_dir.join("sources.list.d")) {
        let mut more: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources"))
            .collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let found = if file.extension().is_some_and(|e| e == "sources") {
            mirror_from_deb822(&text)
        } else {
            mirror_from_one_line(&text)
        };
        if let Some(mirror) = found {
            tracing::debug!("debian mirror {mirror} (from {})", file.display());
            return mirror;
        }
    }
    DEFAULT_MIRROR.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_SOURCES: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn deb822_picks_the_main_archive() {
        assert_eq!(
            mirror_from_deb822(HOST_SOURCES).as_deref(),
            Some("http://deb.debian.org/debian")
        );
    }

    #[test]
    fn deb822_skips_security_src_disabled_and_ubuntu() {
        let text = "\
Types: deb
URIs: http://security.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb
URIs: http://archive.ubuntu.com/ubuntu
Suites: noble noble-updates

types: deb deb-src
uris: https://mirror.example/debian/
 http://second.example/debian
suites: trixie
components: main contrib
";
        assert_eq!(
            mirror_from_deb822(text).as_deref(),
            Some("https://mirror.example/debian")
        );
        assert_eq!(
            mirror_from_deb822(
                "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble\n"
            ),
            None
        );
    }

    #[test]
    fn deb822_folded_fields() {
        let text = "Types: deb\nURIs:\n http://folded.example/debian\nSuites: stable\n";
        assert_eq!(
            mirror_from_deb822(text).as_deref(),
            Some("http://folded.example/debian")
        );
    }

    #[test]
    fn one_line_sources() {
        let text = "\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main contrib # trailing
deb http://later.example/debian bookworm main
";
        assert_eq!(
            mirror_from_one_line(text).as_deref(),
            Some("http://ftp.de.debian.org/debian")
        );
        assert_eq!(
            mirror_from_one_line("deb http://archive.ubuntu.com/ubuntu noble main\n"),
            None
        );
        assert_eq!(
            mirror_from_one_line("deb cdrom:[Debian]/ bookworm main\n"),
            None
        );
        assert_eq!(
            mirror_from_one_line("debx http://x/debian bookworm main\n"),
            None
        );
    }

    #[test]
    fn detect_mirror_reads_the_apt_dir_in_order_with_default() {
        let apt = tempfile::tempdir().expect("tempdir");
        assert_eq!(detect_mirror(apt.path()), DEFAULT_MIRROR);
        fs::create_dir(apt.path().join("sources.list.d")).expect("mkdir");
        fs::write(
            apt.path().join("sources.list.d/debian.sources"),
            HOST_SOURCES,
        )
        .expect("write");
        fs::write(
            apt.path().join("sources.list.d/nodesource.list"),
            "deb https://deb.nodesource.com/node_20.x nodistro main\n",
        )
        .expect("write");
        assert_eq!(detect_mirror(apt.path()), "http://deb.debian.org/debian");
        fs::write(
            apt.path().join("sources.list"),
            "deb http://local.example/debian bookworm main\n",
        )
        .expect("write");
        assert_eq!(detect_mirror(apt.path()), "http://local.example/debian");
    }
}
