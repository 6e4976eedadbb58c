//! Hostile archives and removal lists: each is refused and nothing outside `dest` changes.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::*;

#[test]
fn refuses_parent_dir_and_absolute_entries() -> TestResult {
    let sandbox = Sandbox::new()?;
    let abs = format!("{}/pwned", sandbox.canary.display());
    for (name, expected) in [
        ("../canary/pwned", Refusal::ParentDir),
        ("../pwned", Refusal::ParentDir),
        ("a/../../canary/pwned", Refusal::ParentDir),
        ("a/../b", Refusal::ParentDir),
        (abs.as_str(), Refusal::Absolute),
    ] {
        let stream = archive(&[file(name, b"pwned")])?;
        assert_eq!(
            refusal(sandbox.extract(&stream)),
            Some(expected.clone()),
            "{name}"
        );
        let stream = archive(&[dir(name)])?;
        assert_eq!(refusal(sandbox.extract(&stream)), Some(expected), "{name}/");
    }
    assert!(tree(&sandbox.dest)?.is_empty());
    sandbox.assert_outside_untouched()
}

#[test]
fn refuses_links_out_so_later_entries_land_in_real_directories() -> TestResult {
    let sandbox = Sandbox::new()?;
    let abs = sandbox.canary.display().to_string();
    for (target, expected) in [
        (
            abs.as_str(),
            Refusal::SymlinkAbsolute {
                target: abs.as_str().into(),
            },
        ),
        (
            "../canary",
            Refusal::SymlinkOutside {
                target: "../canary".into(),
            },
        ),
    ] {
        let stream = archive(&[
            link(EntryType::Symlink, "lnk", target),
            file("lnk/pwned", b"pwned"),
            dir("lnk/sub"),
        ])?;
        assert_eq!(refusal(sandbox.extract(&stream)), Some(expected));
        // No link was made, so what follows is written in a real directory inside `dest`.
        assert!(fs::symlink_metadata(sandbox.dest.join("lnk"))?.is_dir());
        assert_eq!(fs::read(sandbox.dest.join("lnk/pwned"))?, b"pwned");
        fs::remove_dir_all(sandbox.dest.join("lnk"))?;
    }
    sandbox.assert_outside_untouched()
}

#[test]
fn refuses_writing_through_a_symlink_that_stays_inside() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[
        dir("sub"),
        link(EntryType::Symlink, "sub/lnk", ".."),
        link(EntryType::Symlink, "lnk", "sub"),
        file("lnk/f", b"x"),
    ])?;
    let expected = Refusal::ThroughSymlink {
        link: PathBuf::from("lnk"),
    };
    assert_eq!(refusal(sandbox.extract(&stream)), Some(expected));
    assert!(!sandbox.dest.join("sub/f").exists());
    let stream = archive(&[file("sub/lnk/f", b"x")])?;
    assert!(refusal(sandbox.extract(&stream)).is_some());
    assert!(!sandbox.dest.join("f").exists());
    sandbox.assert_outside_untouched()
}

#[test]
fn refuses_writing_through_a_symlink_already_on_the_host() -> TestResult {
    let sandbox = Sandbox::new()?;
    symlink(&sandbox.canary, sandbox.dest.join("pre"))?;
    for stream in [
        archive(&[file("pre/secret.txt", b"pwned")])?,
        archive(&[file("pre/new.txt", b"pwned")])?,
        archive(&[dir("pre/d")])?,
        archive(&[link(EntryType::Symlink, "pre/l", "x")])?,
    ] {
        let expected = Refusal::ThroughSymlink {
            link: PathBuf::from("pre"),
        };
        assert_eq!(refusal(sandbox.extract(&stream)), Some(expected));
    }
    sandbox.assert_outside_untouched()
}

#[test]
fn refuses_hardlinks_outside_or_not_yet_extracted() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::write(sandbox.dest.join("pre.txt"), b"on the host")?;
    let abs = format!("{}/secret.txt", sandbox.canary.display());
    for (target, expected) in [
        ("../canary/secret.txt", Refusal::ParentDir),
        (abs.as_str(), Refusal::Absolute),
        (
            "later.txt",
            Refusal::HardlinkTarget {
                target: "later.txt".into(),
            },
        ),
        (
            "pre.txt",
            Refusal::HardlinkTarget {
                target: "pre.txt".into(),
            },
        ),
        ("", Refusal::MissingLinkTarget),
    ] {
        let stream = archive(&[
            link(EntryType::Link, "h", target),
            file("later.txt", b"later"),
        ])?;
        assert_eq!(
            refusal(sandbox.extract(&stream)),
            Some(expected),
            "{target}"
        );
        assert!(!sandbox.dest.join("h").exists());
    }
    sandbox.assert_outside_untouched()
}

#[test]
fn hardlink_to_an_extracted_file_becomes_an_independent_copy() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[
        file("a.txt", b"shared"),
        link(EntryType::Link, "sub/b.txt", "a.txt"),
    ])?;
    let report = sandbox.extract(&stream)?;
    assert_eq!(report.written, [PathBuf::from("a.txt"), "sub/b.txt".into()]);
    let (a, b) = (sandbox.dest.join("a.txt"), sandbox.dest.join("sub/b.txt"));
    assert_eq!(fs::read(&b)?, b"shared");
    assert_ne!(fs::metadata(&a)?.ino(), fs::metadata(&b)?.ino());

    // A target replaced by a symlink after it was written is no longer a valid source.
    let stream = archive(&[
        file("c.txt", b"c"),
        link(EntryType::Symlink, "c.txt", "a.txt"),
        link(EntryType::Link, "d.txt", "c.txt"),
    ])?;
    let err = refusal(sandbox.extract(&stream));
    assert!(
        matches!(err, Some(Refusal::HardlinkTarget { .. })),
        "{err:?}"
    );
    sandbox.assert_outside_untouched()
}

#[test]
fn existing_links_and_files_are_replaced_never_written_through() -> TestResult {
    let sandbox = Sandbox::new()?;
    symlink(sandbox.canary.join("secret.txt"), sandbox.dest.join("f"))?;
    fs::write(sandbox.dest.join("g"), b"old")?;
    symlink(&sandbox.canary, sandbox.dest.join("d"))?;
    symlink(&sandbox.canary, sandbox.dest.join("l"))?;
    let stream = archive(&[
        file("f", b"new"),
        link(EntryType::Symlink, "g", "f"),
        dir("d"),
        link(EntryType::Symlink, "l", "elsewhere"),
    ])?;
    sandbox.extract(&stream)?;
    let got = tree(&sandbox.dest)?;
    assert!(matches!(&got[Path::new("f")], Node::File { data, .. } if data == b"new"));
    assert_eq!(got[Path::new("g")], Node::Link { target: "f".into() });
    assert!(matches!(got[Path::new("d")], Node::Dir { .. }));
    assert_eq!(
        got[Path::new("l")],
        Node::Link {
            target: "elsewhere".into()
        }
    );
    sandbox.assert_outside_untouched()
}

#[test]
fn existing_directory_in_the_way_is_refused_unless_allowed() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::create_dir_all(sandbox.dest.join("d/inner"))?;
    fs::write(sandbox.dest.join("d/inner/x"), b"x")?;
    fs::write(sandbox.dest.join("f"), b"a file")?;
    for stream in [
        archive(&[file("d", b"file now")])?,
        archive(&[link(EntryType::Symlink, "d", "x")])?,
    ] {
        let err = refusal(sandbox.extract(&stream));
        assert_eq!(err, Some(Refusal::DirectoryInTheWay));
        assert!(sandbox.dest.join("d/inner/x").is_file());
    }
    let stream = archive(&[file("f/x", b"x")])?;
    let expected = Refusal::ParentNotDir {
        parent: PathBuf::from("f"),
    };
    assert_eq!(refusal(sandbox.extract(&stream)), Some(expected));

    let opts = ExtractOptions {
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    let stream = archive(&[dir("d/inner"), file("d", b"file now")])?;
    extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert_eq!(fs::read(sandbox.dest.join("d"))?, b"file now");
    sandbox.assert_outside_untouched()
}

#[test]
fn entry_paths_are_normalised_or_refused() {
    let ok = |raw: &[u8], strip| entry_path(raw, strip);
    assert_eq!(ok(b"a/b", 0), Ok(Some(PathBuf::from("a/b"))));
    assert_eq!(ok(b"./a//b/", 0), Ok(Some(PathBuf::from("a/b"))));
    assert_eq!(ok(b"w/a/b", 1), Ok(Some(PathBuf::from("a/b"))));
    assert_eq!(ok(b"w/", 1), Ok(Some(PathBuf::new())));
    assert_eq!(ok(b"./", 1), Ok(None));
    assert_eq!(ok(b"a\0b", 0), Err(Refusal::NulByte));
    assert_eq!(ok(b"w/../a", 1), Err(Refusal::ParentDir));
    assert_eq!(ok(b"//etc/passwd", 0), Err(Refusal::Absolute));
    assert_eq!(ok(b"..", 0), Err(Refusal::ParentDir));
}

#[test]
fn remove_paths_safe_removes_links_not_targets() -> TestResult {
    let sandbox = Sandbox::new()?;
    let dest = &sandbox.dest;
    fs::write(dest.join("file.txt"), b"x")?;
    fs::create_dir_all(dest.join("dir/sub"))?;
    fs::write(dest.join("dir/sub/x"), b"x")?;
    symlink(&sandbox.canary, dest.join("dir/sub/out"))?;
    symlink(&sandbox.canary, dest.join("link_out"))?;
    symlink(sandbox.canary.join("secret.txt"), dest.join("link_file"))?;
    let rels: Vec<PathBuf> = [
        "file.txt",
        "dir",
        "dir/sub/x",
        "link_out",
        "./link_file",
        "missing",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let report = remove_paths_safe(dest, &rels, None)?;
    assert_eq!(
        report.removed,
        [
            PathBuf::from("file.txt"),
            "dir".into(),
            "link_out".into(),
            "link_file".into()
        ]
    );
    assert!(report.refused.is_empty());
    assert!(tree(dest)?.is_empty());
    sandbox.assert_outside_untouched()
}

#[test]
fn remove_paths_safe_refuses_each_unsafe_path_and_removes_the_rest() -> TestResult {
    let sandbox = Sandbox::new()?;
    let dest = &sandbox.dest;
    symlink(&sandbox.canary, dest.join("lnk"))?;
    let abs = sandbox.canary.join("secret.txt");
    for (bad, expected) in [
        (PathBuf::from("../canary/secret.txt"), Refusal::ParentDir),
        (abs, Refusal::Absolute),
        (
            PathBuf::from("lnk/secret.txt"),
            Refusal::ThroughSymlink { link: "lnk".into() },
        ),
        (PathBuf::from(""), Refusal::Destination),
        (PathBuf::from("."), Refusal::Destination),
    ] {
        fs::write(dest.join("before.txt"), b"x")?;
        fs::write(dest.join("after.txt"), b"x")?;
        let rels = [PathBuf::from("before.txt"), bad.clone(), "after.txt".into()];
        let report = remove_paths_safe(dest, &rels, None)?;
        assert_eq!(
            report.removed,
            [PathBuf::from("before.txt"), "after.txt".into()]
        );
        assert_eq!(
            report.refused,
            [Refused {
                path: bad.clone(),
                reason: expected
            }],
            "{bad:?}"
        );
    }
    assert!(fs::symlink_metadata(dest.join("lnk"))?.is_symlink());
    sandbox.assert_outside_untouched()
}

#[test]
fn replacing_a_directory_with_a_symlink_never_opens_a_path_through_it() -> TestResult {
    let sandbox = Sandbox::new()?;
    let opts = ExtractOptions {
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    fs::create_dir(sandbox.dest.join("e"))?;
    fs::set_permissions(sandbox.dest.join("e"), fs::Permissions::from_mode(0o755))?;
    // The parent check for `a/y` must not reuse the one made for `a/x`.
    let stream = archive(&[
        file("a/x", b"x"),
        link(EntryType::Symlink, "a", "e"),
        file("a/y", b"pwned"),
    ])?;
    let err = refusal(extract_safe(&stream[..], &sandbox.dest, &opts));
    let expected = Refusal::ThroughSymlink { link: "a".into() };
    assert_eq!(err, Some(expected));
    assert!(!sandbox.dest.join("e/y").exists());

    // Deferred directory metadata must not be applied through the symlink that replaced it.
    let mut locked = dir("d");
    locked.mode = 0o700;
    let stream = archive(&[
        locked,
        file("d/x", b"x"),
        link(EntryType::Symlink, "d", "e"),
    ])?;
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(fs::metadata(sandbox.dest.join("e"))?.mode() & 0o777, 0o755);
    sandbox.assert_outside_untouched()
}

#[test]
fn a_deep_chain_is_checked_level_by_level_and_a_link_put_into_it_still_stops_writes() -> TestResult
{
    let sandbox = Sandbox::new()?;
    // 40 levels: the raw headers of these tests hold names of up to 100 bytes.
    let names: Vec<String> = (1..=40).map(|depth| "d/".repeat(depth)).collect();
    let mut entries: Vec<Raw<'_>> = names.iter().map(|n| dir(n.trim_end_matches('/'))).collect();
    let deep = format!("{}f", names[39]);
    entries.push(file(&deep, b"deep"));
    // The agent's own change: `d/d` becomes a link (inside), then something is written below it.
    entries.push(link(EntryType::Symlink, "d/d", "."));
    let below = format!("{}g", names[2]);
    entries.push(file(&below, b"x"));
    let stream = archive(&entries)?;
    let options = ExtractOptions {
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    let report = extract_safe(stream.as_slice(), &sandbox.dest, &options)?;
    assert_eq!(report.dirs, 40);
    // It landed (the link below replaced its directories afterwards, as the agent asked).
    assert!(report.written.contains(&PathBuf::from(&deep)), "{report:?}");
    assert_eq!(
        report.refused.last().map(|r| r.reason.clone()),
        Some(Refusal::ThroughSymlink {
            link: PathBuf::from("d/d")
        })
    );
    assert_eq!(fs::read_link(sandbox.dest.join("d/d"))?, Path::new("."));
    assert!(!sandbox.dest.join("d/g").exists());
    sandbox.assert_outside_untouched()
}
