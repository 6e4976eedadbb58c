//! The write-back boundary: every hostile entry is refused, recorded and skipped while the good
//! entries around it land; links never lead out; protected paths are never written or removed.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::*;

/// `dest` and every link under it (other than the host's own `allowed` ones) stay inside.
fn assert_no_link_leaves(dest: &Path, allowed: &[&str]) -> TestResult {
    for (rel, node) in tree(dest)? {
        let Node::Link { target } = node else {
            continue;
        };
        if allowed.iter().any(|a| rel == Path::new(a)) {
            continue;
        }
        assert!(!target.has_root(), "{rel:?} -> {target:?}");
        let mut depth = rel.components().count() - 1;
        for component in target.components() {
            match component {
                Component::ParentDir => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| format!("{rel:?} -> {target:?} leaves"))?;
                }
                Component::Normal(_) => depth += 1,
                _ => {}
            }
        }
    }
    Ok(())
}

fn raw<'a>(name: &'a [u8], data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        kind: EntryType::Regular,
        data,
        link: b"",
        mode: 0o644,
    }
}

/// A PAX header whose `path` record names the next entry (any bytes, NUL included).
fn pax_path(record: &[u8]) -> Raw<'_> {
    Raw {
        name: b"PaxHeader",
        kind: EntryType::XHeader,
        data: record,
        link: b"",
        mode: 0o644,
    }
}

fn workspace_opts() -> ExtractOptions {
    ExtractOptions {
        policy: Some(Box::new(workspace_policy)),
        ..ExtractOptions::default()
    }
}

fn refused(path: &str, reason: Refusal) -> Refused {
    Refused {
        path: path.into(),
        reason,
    }
}

/// One hostile archive entry (or two, for a PAX header), the host state it meets, and its record.
struct Case {
    setup: fn(&Sandbox) -> std::io::Result<()>,
    hostile: Vec<Raw<'static>>,
    expected: Refused,
}

fn no_setup(_: &Sandbox) -> std::io::Result<()> {
    Ok(())
}

fn simple(hostile: Raw<'static>, expected: Refused) -> Case {
    Case {
        setup: no_setup,
        hostile: vec![hostile],
        expected,
    }
}

/// One case per refusal reason.
fn cases() -> Vec<Case> {
    let mut all = name_cases();
    all.extend(host_cases());
    all.extend(link_and_content_cases());
    all
}

/// Names that can never be written.
fn name_cases() -> Vec<Case> {
    vec![
        simple(
            file("/etc/pwned", b"x"),
            refused("/etc/pwned", Refusal::Absolute),
        ),
        simple(
            file("../canary/pwned", b"x"),
            refused("../canary/pwned", Refusal::ParentDir),
        ),
        Case {
            setup: no_setup,
            hostile: vec![pax_path(b"12 path=a\0b\n"), file("placeholder", b"x")],
            expected: refused("a\0b", Refusal::NulByte),
        },
        simple(file(".", b"x"), refused(".", Refusal::Destination)),
    ]
}

/// Entries refused because of what they meet on the host.
fn host_cases() -> Vec<Case> {
    vec![
        Case {
            setup: |s| symlink(&s.canary, s.dest.join("pre")),
            hostile: vec![file("pre/secret.txt", b"pwned")],
            expected: refused(
                "pre/secret.txt",
                Refusal::ThroughSymlink { link: "pre".into() },
            ),
        },
        Case {
            setup: |s| fs::write(s.dest.join("f"), b"host"),
            hostile: vec![file("f/x", b"x")],
            expected: refused("f/x", Refusal::ParentNotDir { parent: "f".into() }),
        },
        Case {
            setup: |s| fs::create_dir_all(s.dest.join("d/inner")),
            hostile: vec![file("d", b"x")],
            expected: refused("d", Refusal::DirectoryInTheWay),
        },
    ]
}

/// Links, protected paths and special files.
fn link_and_content_cases() -> Vec<Case> {
    let mut fifo = file("p", b"");
    fifo.kind = EntryType::Fifo;
    let outside = "../../canary/secret.txt";
    vec![
        simple(
            link(EntryType::Symlink, "l", ""),
            refused("l", Refusal::MissingLinkTarget),
        ),
        simple(
            link(EntryType::Link, "h", "nope"),
            refused(
                "h",
                Refusal::HardlinkTarget {
                    target: "nope".into(),
                },
            ),
        ),
        simple(
            link(EntryType::Symlink, "l", "/etc/passwd"),
            refused(
                "l",
                Refusal::SymlinkAbsolute {
                    target: "/etc/passwd".into(),
                },
            ),
        ),
        simple(
            link(EntryType::Symlink, "d/x", outside),
            refused(
                "d/x",
                Refusal::SymlinkOutside {
                    target: outside.into(),
                },
            ),
        ),
        simple(
            file(".git/config", b"[core]\n\tfsmonitor = evil\n"),
            refused(".git/config", Refusal::Protected),
        ),
        simple(
            fifo,
            refused(
                "p",
                Refusal::SpecialFile {
                    kind: FileKind::Fifo,
                },
            ),
        ),
    ]
}

#[test]
fn every_refusal_between_two_good_entries_is_recorded_and_skipped() -> TestResult {
    let mut codes = BTreeSet::new();
    for case in cases() {
        let sandbox = Sandbox::new()?;
        (case.setup)(&sandbox)?;
        let before = tree(&sandbox.dest)?;
        let mut entries = vec![file("a.txt", b"a")];
        entries.extend(case.hostile);
        entries.push(file("z.txt", b"z"));
        let report = extract_safe(&archive(&entries)?[..], &sandbox.dest, &workspace_opts())?;
        let label = case.expected.reason.code();
        assert_eq!(report.refused, [case.expected], "{label}");
        assert_eq!(
            report.written,
            [PathBuf::from("a.txt"), "z.txt".into()],
            "{label}"
        );
        assert_eq!(report.refused_below, 0, "{label}");
        // Only the two good files changed the host tree.
        let mut after = tree(&sandbox.dest)?;
        assert!(after.remove(Path::new("a.txt")).is_some(), "{label}");
        assert!(after.remove(Path::new("z.txt")).is_some(), "{label}");
        assert_eq!(after, before, "{label}");
        sandbox.assert_outside_untouched()?;
        assert_no_link_leaves(&sandbox.dest, &["pre"])?;
        codes.insert(label);
    }
    assert_eq!(
        codes,
        Refusal::CODES.iter().copied().collect(),
        "every reason is covered"
    );
    Ok(())
}

#[test]
fn non_utf8_names_survive_byte_for_byte() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[
        raw(b"caf\xe9.txt", b"latin-1"),
        raw(b".git/\xff", b"x"),
        raw(b"\xfe/../x", b"x"),
        link(EntryType::Symlink, "l", "/\u{e9}"),
        file("ok", b"ok"),
    ])?;
    let report = extract_safe(&stream[..], &sandbox.dest, &workspace_opts())?;
    let cafe = PathBuf::from(OsStr::from_bytes(b"caf\xe9.txt"));
    assert_eq!(report.written, [cafe.clone(), "ok".into()]);
    assert_eq!(fs::read(sandbox.dest.join(&cafe))?, b"latin-1");
    let paths: Vec<&[u8]> = report
        .refused
        .iter()
        .map(|r| r.path.as_os_str().as_bytes())
        .collect();
    assert_eq!(paths, [&b".git/\xff"[..], b"\xfe/../x", b"l"]);

    let record = RefusalRecord::from(report.refused[0].clone());
    assert_eq!(record.path, ".git/\u{fffd}");
    assert_eq!(record.path_bytes_hex.as_deref(), Some("2e6769742fff"));
    assert_eq!(record.reason, "protected");
    let utf8 = RefusalRecord::from(report.refused[2].clone());
    assert_eq!(utf8.path_bytes_hex, None);
    assert_eq!(utf8.message, "symlink target `/\u{e9}` is absolute");
    sandbox.assert_outside_untouched()
}

#[test]
fn links_inside_land_and_links_out_are_refused() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[
        dir("b"),
        link(EntryType::Symlink, "a", "b"),
        dir("d"),
        link(EntryType::Symlink, "d/x", "../y"),
        link(EntryType::Symlink, "d/self", "./../d/."),
        link(EntryType::Symlink, "up", "../../etc/passwd"),
        link(EntryType::Symlink, "abs", "/etc/passwd"),
        link(EntryType::Symlink, "d/out", "../../outside"),
        // `b` could be a link to `.`, making `b/..` the parent of `dest`: judged as leaving.
        link(EntryType::Symlink, "round", "b/../y"),
        file("z", b"z"),
    ])?;
    let report = sandbox.extract(&stream)?;
    assert_eq!(
        report.written,
        [
            PathBuf::from("a"),
            "d/x".into(),
            "d/self".into(),
            "z".into()
        ]
    );
    let outside = |t: &str| Refusal::SymlinkOutside { target: t.into() };
    assert_eq!(
        report.refused,
        [
            refused("up", outside("../../etc/passwd")),
            refused(
                "abs",
                Refusal::SymlinkAbsolute {
                    target: "/etc/passwd".into()
                }
            ),
            refused("d/out", outside("../../outside")),
            refused("round", outside("b/../y")),
        ]
    );
    assert_eq!(fs::read_link(sandbox.dest.join("d/x"))?, Path::new("../y"));
    assert_no_link_leaves(&sandbox.dest, &[])?;
    sandbox.assert_outside_untouched()?;

    // Into a workspace under a prefix: "inside" means inside `dest`, not inside the prefix.
    fs::write(sandbox.dest.join("task.md"), b"the task")?;
    let opts = ExtractOptions {
        prefix: Some(".harnessgym/tools".into()),
        ..workspace_opts()
    };
    let stream = archive(&[
        link(EntryType::Symlink, "x", "../../task.md"),
        link(EntryType::Symlink, "y", "../../../task.md"),
    ])?;
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert_eq!(report.written, [PathBuf::from(".harnessgym/tools/x")]);
    assert_eq!(
        report.refused,
        [refused(".harnessgym/tools/y", outside("../../../task.md"))]
    );
    assert_eq!(
        fs::read(sandbox.dest.join(".harnessgym/tools/x"))?,
        b"the task"
    );
    assert_no_link_leaves(&sandbox.dest, &[])?;
    sandbox.assert_outside_untouched()
}

#[test]
fn protected_paths_are_refused_with_the_workspace_policy() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::create_dir_all(sandbox.dest.join(".git"))?;
    fs::write(sandbox.dest.join(".git/config"), b"host config")?;
    let names = [
        ".git/config",
        ".git/hooks/post-checkout",
        "sub/.git/HEAD",
        ".envrc",
        ".claude/settings.json",
        "sub/.envrc",
        ".GIT/hooks/pre-commit",
        ".vscode/tasks.json",
    ];
    let mut entries = vec![file("a", b"a")];
    entries.extend(names.iter().map(|name| file(name, b"pwned")));
    entries.push(file("z", b"z"));
    let report = extract_safe(&archive(&entries)?[..], &sandbox.dest, &workspace_opts())?;
    assert_eq!(report.written, [PathBuf::from("a"), "z".into()]);
    let expected: Vec<_> = names
        .iter()
        .map(|n| refused(n, Refusal::Protected))
        .collect();
    assert_eq!(report.refused, expected);
    assert_eq!(fs::read(sandbox.dest.join(".git/config"))?, b"host config");
    assert!(!sandbox.dest.join("sub").exists());

    // A refused directory is recorded once; what lies below it is only counted.
    let stream = archive(&[
        dir(".git"),
        file(".git/config", b"pwned"),
        dir(".git/hooks"),
        file(".git/hooks/pre-commit", b"pwned"),
        file("ok", b"ok"),
        file(".git/late", b"pwned"),
    ])?;
    let report = extract_safe(&stream[..], &sandbox.dest, &workspace_opts())?;
    assert_eq!(
        report.refused,
        [
            refused(".git", Refusal::Protected),
            refused(".git/late", Refusal::Protected)
        ]
    );
    assert_eq!((report.refused_below, report.written.len()), (3, 1));
    assert_eq!(fs::read(sandbox.dest.join(".git/config"))?, b"host config");
    assert!(!sandbox.dest.join(".git/hooks").exists());
    sandbox.assert_outside_untouched()
}

#[test]
fn protected_path_matches_whole_components_ignoring_ascii_case() {
    for yes in [
        ".git",
        ".git/config",
        "a/b/.hg/hgrc",
        "_FOSSIL_",
        ".Idea/workspace.xml",
        ".envrc",
        "deep/.envrc",
        ".husky/pre-commit",
        ".githooks/pre-push",
        ".pre-commit-config.yaml",
        "sub/.Pre-Commit-Config.yaml",
        "lefthook.yml",
        ".lefthook.yaml",
        ".agents/skills/x",
    ] {
        assert!(protected_path(Path::new(yes)), "{yes}");
    }
    for no in [
        "git/config",
        ".gitignore",
        ".github/workflows/ci.yml",
        ".envrc.example",
        "pre-commit-config.yaml",
        "lefthook.yml.bak",
        "src",
    ] {
        assert!(!protected_path(Path::new(no)), "{no}");
    }
}

#[test]
fn removal_never_takes_a_protected_path() -> TestResult {
    let sandbox = Sandbox::new()?;
    let dest = &sandbox.dest;
    fs::create_dir_all(dest.join(".git"))?;
    fs::write(dest.join(".git/config"), b"c")?;
    fs::create_dir_all(dest.join("sub/.git"))?;
    fs::write(dest.join("sub/.git/HEAD"), b"h")?;
    fs::write(dest.join("sub/file"), b"f")?;
    fs::write(dest.join("other.txt"), b"o")?;
    let rels: Vec<PathBuf> = [".git", "sub", "other.txt", ".git/config"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let report = remove_paths_safe(dest, &rels, Some(&workspace_policy))?;
    assert_eq!(report.removed, [PathBuf::from("other.txt")]);
    assert_eq!(
        report.refused,
        [
            refused(".git", Refusal::Protected),
            refused("sub/.git", Refusal::Protected),
            refused(".git/config", Refusal::Protected),
        ]
    );
    assert_eq!(fs::read(dest.join(".git/config"))?, b"c");
    assert_eq!(fs::read(dest.join("sub/.git/HEAD"))?, b"h");
    assert!(!dest.join("sub/file").exists());
    sandbox.assert_outside_untouched()
}

#[test]
fn a_directory_replaced_by_a_symlink() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::create_dir_all(sandbox.dest.join("d/inner"))?;
    fs::write(sandbox.dest.join("d/inner/x"), b"x")?;
    let canary = sandbox.canary.display().to_string();
    let replace = ExtractOptions {
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    // Out of `dest`: refused before the directory is touched, even when replacing is allowed.
    for target in [canary.as_str(), "../canary"] {
        let stream = archive(&[link(EntryType::Symlink, "d", target), file("z", b"z")])?;
        let report = extract_safe(&stream[..], &sandbox.dest, &replace)?;
        assert_eq!(report.refused.len(), 1, "{target}");
        assert_eq!(report.written, [PathBuf::from("z")]);
        assert_eq!(fs::read(sandbox.dest.join("d/inner/x"))?, b"x");
    }
    // Inside: refused unless replacing is allowed, then replaced.
    let stream = archive(&[dir("e"), link(EntryType::Symlink, "d", "e")])?;
    let err = refusal(sandbox.extract(&stream));
    assert_eq!(err, Some(Refusal::DirectoryInTheWay));
    assert_eq!(fs::read(sandbox.dest.join("d/inner/x"))?, b"x");
    let report = extract_safe(&stream[..], &sandbox.dest, &replace)?;
    assert!(report.refused.is_empty());
    assert_eq!(fs::read_link(sandbox.dest.join("d"))?, Path::new("e"));
    sandbox.assert_outside_untouched()
}

#[test]
fn a_symlinked_directory_replaced_by_a_real_one() -> TestResult {
    let sandbox = Sandbox::new()?;
    let dest = &sandbox.dest;
    fs::create_dir(dest.join("real"))?;
    fs::write(dest.join("real/kept"), b"kept")?;
    symlink("real", dest.join("d"))?;
    symlink(&sandbox.canary, dest.join("o"))?;
    // The agent's change: the link became a directory, with files below it.
    let stream = archive(&[dir("d"), file("d/f", b"f"), dir("o"), file("o/g", b"g")])?;
    let report = sandbox.extract(&stream)?;
    assert!(report.refused.is_empty(), "{report:?}");
    assert!(fs::symlink_metadata(dest.join("d"))?.is_dir());
    assert_eq!(fs::read(dest.join("d/f"))?, b"f");
    assert_eq!(fs::read(dest.join("o/g"))?, b"g");
    assert_eq!(tree(&dest.join("real"))?.len(), 1);

    // Without the directory entry, files below a host link are refused: once, then counted.
    symlink("real", dest.join("l"))?;
    let stream = archive(&[
        file("l/f", b"pwned"),
        file("l/sub/g", b"pwned"),
        file("ok", b"ok"),
    ])?;
    let report = sandbox.extract(&stream)?;
    let expected = refused("l/f", Refusal::ThroughSymlink { link: "l".into() });
    assert_eq!(report.refused, [expected]);
    assert_eq!((report.refused_below, report.written.len()), (1, 1));
    assert_eq!(tree(&dest.join("real"))?.len(), 1);
    sandbox.assert_outside_untouched()
}

#[test]
fn refusals_past_the_cap_are_counted_not_listed() -> TestResult {
    let sandbox = Sandbox::new()?;
    let names: Vec<String> = (0..MAX_LISTED_REFUSALS + 3)
        .map(|i| format!("../x{i}"))
        .collect();
    let mut entries: Vec<_> = names.iter().map(|n| file(n, b"")).collect();
    entries.push(file("ok", b"ok"));
    let report = sandbox.extract(&archive(&entries)?)?;
    assert_eq!(report.refused.len(), MAX_LISTED_REFUSALS);
    assert_eq!(report.refused_unlisted, 3);
    assert_eq!(report.written, [PathBuf::from("ok")]);
    sandbox.assert_outside_untouched()
}

#[test]
fn refusal_codes_are_unique_and_records_serialize() -> TestResult {
    let codes: BTreeSet<_> = Refusal::CODES.iter().collect();
    assert_eq!(codes.len(), Refusal::CODES.len());
    let record = RefusalRecord::new(
        "a/b".into(),
        Refusal::SymlinkOutside {
            target: "../../x".into(),
        },
    );
    let json = serde_json::to_value(&record)?;
    assert_eq!(
        json,
        serde_json::json!({
            "path": "a/b",
            "reason": "symlink_outside",
            "message": "symlink target `../../x` leaves the destination",
        })
    );
    Ok(())
}
