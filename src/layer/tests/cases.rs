//! Named cases of what a layer holds: one change, no change, deletions, opaque directories,
//! full layers, hard links, odd names, racy files, reserved names.

use std::fs::{self, File, FileTimes};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use tar::Archive;

use super::fixture::{Fallible, TestResult, copy_tree, layer, listing, settle, snapshot};
use crate::layer::perm::running_as_root;
use crate::layer::{
    EntryKind, LayerOptions, LayerStats, Manifest, apply_layer, read_layer, write_layer,
};

fn write(root: &Path, rel: &str, content: &[u8]) -> TestResult {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)?;
    Ok(())
}

/// A settled tree (older than the racy window) and its manifest.
fn settled(files: &[(&str, &[u8])]) -> Fallible<(tempfile::TempDir, Manifest)> {
    let dir = tempfile::tempdir()?;
    for (rel, content) in files {
        write(dir.path(), rel, content)?;
    }
    settle();
    let manifest = Manifest::walk(dir.path())?;
    Ok((dir, manifest))
}

fn entries_of(root: &Path, before: &Manifest) -> Fallible<(Vec<(String, String)>, LayerStats)> {
    let (tar, stats) = layer(root, before)?;
    Ok((listing(&read_layer(&tar[..], b"workspace")?), stats))
}

fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
        .collect()
}

#[test]
fn one_changed_file_gives_that_file_and_its_parents() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    for rel in ["a/b/file", "a/other", "c/d", "top"] {
        write(root, rel, b"hello")?;
    }
    fs::set_permissions(root.join("a"), fs::Permissions::from_mode(0o750))?;
    settle();
    let before = Manifest::walk(root)?;
    // Same size, mtime put back: only the ctime says it changed.
    let path = root.join("a/b/file");
    let mtime = fs::metadata(&path)?.modified()?;
    fs::write(&path, b"HELLO")?;
    File::open(&path)?.set_times(FileTimes::new().set_modified(mtime))?;
    let (tar, stats) = layer(root, &before)?;
    let listed = listing(&read_layer(&tar[..], b"workspace")?);
    assert_eq!(
        listed,
        expect(&[
            ("Dir", ""),
            ("Dir", "a"),
            ("Dir", "a/b"),
            ("File", "a/b/file")
        ])
    );
    assert_eq!((stats.files, stats.dirs, stats.content_bytes), (1, 3, 5));
    let mut archive = Archive::new(&tar[..]);
    let mut names = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let header = entry.header();
        assert_eq!(
            header.username_bytes(),
            Some(&b""[..]),
            "numeric owner only"
        );
        names.push(String::from_utf8(entry.path_bytes().into_owned())?);
        if names.last().map(String::as_str) == Some("workspace/a") {
            assert_eq!(header.mode()?, 0o750, "parents carry their current mode");
        }
        if names.last().map(String::as_str) == Some("workspace/a/b/file") {
            let mut content = Vec::new();
            entry.read_to_end(&mut content)?;
            assert_eq!(content, b"HELLO");
        }
    }
    assert_eq!(
        names,
        [
            "workspace",
            "workspace/a",
            "workspace/a/b",
            "workspace/a/b/file"
        ]
    );
    Ok(())
}

#[test]
fn an_unchanged_tree_gives_an_empty_layer() -> TestResult {
    let (dir, before) = settled(&[("a/b", b"1"), ("c", b"2")])?;
    let (tar, stats) = layer(dir.path(), &before)?;
    // The engine's well-known empty layer: the trailer alone.
    assert_eq!(tar, vec![0u8; 1024]);
    assert_eq!(stats, LayerStats::default());
    assert_eq!(stats.entries(), 0);
    assert!(read_layer(&tar[..], b"workspace")?.is_empty());
    Ok(())
}

#[test]
fn a_deleted_tree_is_one_whiteout() -> TestResult {
    let (dir, before) = settled(&[
        ("a/b/c/d", b"1"),
        ("a/b/e", b"2"),
        ("a/f", b"3"),
        ("g", b"4"),
    ])?;
    fs::remove_dir_all(dir.path().join("a"))?;
    let (listed, stats) = entries_of(dir.path(), &before)?;
    assert_eq!(listed, expect(&[("Dir", ""), ("Whiteout", "a")]));
    assert_eq!(stats.whiteouts, 1);
    Ok(())
}

#[test]
fn a_refilled_directory_is_opaque() -> TestResult {
    let (dir, before) = settled(&[("d/x", b"1"), ("d/y", b"2"), ("e", b"3")])?;
    fs::remove_file(dir.path().join("d/x"))?;
    fs::remove_file(dir.path().join("d/y"))?;
    write(dir.path(), "d/z", b"new")?;
    let (listed, stats) = entries_of(dir.path(), &before)?;
    assert_eq!(
        listed,
        expect(&[("Dir", ""), ("Dir", "d"), ("Opaque", "d"), ("File", "d/z")])
    );
    assert_eq!((stats.opaque_dirs, stats.whiteouts), (1, 0));
    Ok(())
}

#[test]
fn an_emptied_directory_is_opaque() -> TestResult {
    let (dir, before) = settled(&[("d/x", b"1"), ("d/y", b"2")])?;
    fs::remove_file(dir.path().join("d/x"))?;
    fs::remove_file(dir.path().join("d/y"))?;
    let (listed, _) = entries_of(dir.path(), &before)?;
    assert_eq!(
        listed,
        expect(&[("Dir", ""), ("Dir", "d"), ("Opaque", "d")])
    );
    Ok(())
}

#[test]
fn a_directory_replacing_a_file_is_opaque() -> TestResult {
    let (dir, before) = settled(&[("f", b"file"), ("g", b"1")])?;
    fs::remove_file(dir.path().join("f"))?;
    write(dir.path(), "f/inner", b"2")?;
    let (listed, _) = entries_of(dir.path(), &before)?;
    assert_eq!(
        listed,
        expect(&[
            ("Dir", ""),
            ("Dir", "f"),
            ("Opaque", "f"),
            ("File", "f/inner")
        ])
    );
    Ok(())
}

#[test]
fn a_recreated_directory_keeping_names_is_not_opaque() -> TestResult {
    // A new inode for the directory (as an overlay copy-up may give) must not make it opaque.
    let (dir, before) = settled(&[("d/x", b"1"), ("d/y", b"2"), ("d/sub/z", b"3")])?;
    fs::remove_dir_all(dir.path().join("d"))?;
    write(dir.path(), "d/x", b"1")?;
    let (listed, _) = entries_of(dir.path(), &before)?;
    assert_eq!(
        listed,
        expect(&[
            ("Dir", ""),
            ("Dir", "d"),
            ("Whiteout", "d/sub"),
            ("Whiteout", "d/y"),
            ("File", "d/x")
        ])
    );
    Ok(())
}

#[test]
fn a_file_replaced_by_a_socket_is_whited_out() -> TestResult {
    let (dir, before) = settled(&[("s", b"file"), ("t", b"1")])?;
    fs::remove_file(dir.path().join("s"))?;
    drop(std::os::unix::net::UnixListener::bind(
        dir.path().join("s"),
    )?);
    drop(std::os::unix::net::UnixListener::bind(
        dir.path().join("u"),
    )?);
    let (listed, stats) = entries_of(dir.path(), &before)?;
    assert_eq!(listed, expect(&[("Dir", ""), ("Whiteout", "s")]));
    assert_eq!(stats.skipped_special, 2);
    Ok(())
}

#[test]
fn a_full_layer_is_everything_under_an_opaque_root() -> TestResult {
    let (dir, before) = settled(&[("a/b", b"1"), ("c", b"22")])?;
    let opts = LayerOptions {
        prefix: b"workspace".to_vec(),
        max_bytes: None,
        full: true,
    };
    let mut tar = Vec::new();
    let stats = write_layer(dir.path(), &before, &opts, &mut tar)?;
    assert_eq!(
        listing(&read_layer(&tar[..], b"workspace")?),
        expect(&[
            ("Dir", ""),
            ("Opaque", ""),
            ("Dir", "a"),
            ("File", "a/b"),
            ("File", "c")
        ])
    );
    assert_eq!(
        (stats.files, stats.content_bytes, stats.opaque_dirs),
        (2, 3, 1)
    );
    Ok(())
}

#[test]
fn hard_links_point_at_the_first_path() -> TestResult {
    let (dir, before) = settled(&[("keep", b"1")])?;
    write(dir.path(), "a", b"shared")?;
    fs::hard_link(dir.path().join("a"), dir.path().join("b"))?;
    let (tar, stats) = layer(dir.path(), &before)?;
    let entries = read_layer(&tar[..], b"workspace")?;
    let link = entries
        .iter()
        .find(|e| e.kind == EntryKind::Hardlink)
        .ok_or("no hardlink entry")?;
    assert_eq!(
        (link.path.as_slice(), link.link.as_deref()),
        (&b"b"[..], Some(&b"a"[..]))
    );
    assert_eq!(
        (stats.files, stats.hardlinks, stats.content_bytes),
        (1, 1, 6)
    );
    Ok(())
}

#[test]
fn a_racy_file_is_carried_until_a_settled_walk() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "f", b"just written")?;
    let before = Manifest::walk(dir.path())?;
    assert!(before.get(b"f").is_some_and(|m| m.racy));
    let (listed, _) = entries_of(dir.path(), &before)?;
    assert_eq!(listed, expect(&[("Dir", ""), ("File", "f")]));
    settle();
    let before = Manifest::walk(dir.path())?;
    assert!(before.get(b"f").is_some_and(|m| !m.racy));
    let (listed, _) = entries_of(dir.path(), &before)?;
    assert!(listed.is_empty());
    Ok(())
}

#[test]
fn reserved_names_are_left_out() -> TestResult {
    let (dir, before) = settled(&[("keep", b"1")])?;
    write(dir.path(), ".wh.keep", b"would delete keep")?;
    write(dir.path(), ".wh..wh..opq/x", b"would hide everything")?;
    write(dir.path(), "new", b"2")?;
    let (listed, stats) = entries_of(dir.path(), &before)?;
    assert_eq!(listed, expect(&[("Dir", ""), ("File", "new")]));
    assert_eq!(stats.skipped_reserved, 2);
    Ok(())
}

#[test]
fn odd_names_and_targets_survive_byte_for_byte() -> TestResult {
    let (dir, before) = settled(&[])?;
    let root = dir.path();
    let long = "n".repeat(150);
    let deep = format!("deep/{long}/{long}/{long}");
    let names: Vec<&[u8]> = vec![
        b"with space",
        "ünïcødé".as_bytes(),
        b"new\nline",
        b"\xff\xfe",
        long.as_bytes(),
    ];
    for name in &names {
        fs::write(root.join(std::ffi::OsStr::from_bytes(name)), *name)?;
    }
    write(root, &format!("{deep}/leaf"), b"deep")?;
    let long_target = "t/".repeat(80);
    symlink(&long_target, root.join("long-link"))?;
    symlink("a//b/./c", root.join("odd-link"))?;
    let copy = tempfile::tempdir()?;
    let (tar, _) = layer(root, &before)?;
    let entries = read_layer(&tar[..], b"workspace")?;
    for name in &names {
        assert!(entries.iter().any(|e| e.path == *name), "{name:?} missing");
    }
    let link = entries
        .iter()
        .find(|e| e.path == b"odd-link")
        .ok_or("no odd-link")?;
    assert_eq!(link.link.as_deref(), Some(&b"a//b/./c"[..]));
    apply_layer(&tar[..], copy.path(), b"workspace")?;
    assert_eq!(snapshot(copy.path(), false)?, snapshot(root, false)?);
    assert_eq!(
        fs::read_link(copy.path().join("long-link"))?
            .as_os_str()
            .len(),
        long_target.len()
    );
    Ok(())
}

#[test]
fn a_multi_component_prefix_works() -> TestResult {
    let (dir, before) = settled(&[])?;
    write(dir.path(), "x", b"1")?;
    let opts = LayerOptions {
        prefix: b"home/agent".to_vec(),
        max_bytes: None,
        full: false,
    };
    let mut tar = Vec::new();
    write_layer(dir.path(), &before, &opts, &mut tar)?;
    let listed = listing(&read_layer(&tar[..], b"home/agent")?);
    assert_eq!(listed, expect(&[("Dir", ""), ("File", "x")]));
    assert!(read_layer(&tar[..], b"workspace").is_err());
    Ok(())
}

#[test]
fn locked_entries_are_carried_and_their_modes_restored() -> TestResult {
    let (dir, _) = settled(&[("locked/f", b"old"), ("g", b"old"), ("h", b"1")])?;
    let root = dir.path();
    let copy = tempfile::tempdir()?;
    copy_tree(root, copy.path(), running_as_root())?;
    let lock = |rel: &str, mode: u32| {
        fs::set_permissions(root.join(rel), fs::Permissions::from_mode(mode))
    };
    lock("locked", 0o000)?;
    lock("g", 0o000)?;
    settle();
    let before = Manifest::walk(root)?;
    let mode = |rel: &str| -> Fallible<u32> {
        Ok(fs::symlink_metadata(root.join(rel))?.permissions().mode() & 0o7777)
    };
    assert_eq!(
        (mode("locked")?, mode("g")?),
        (0, 0),
        "the walk restored the modes"
    );
    assert!(
        before.get(b"locked/f").is_some(),
        "a locked directory is listed"
    );
    // Root ignores permission bits, so only an unprivileged run has to open the directory up.
    if !running_as_root() {
        assert_eq!(
            before.get(b"locked").map(|m| m.listing),
            Some(crate::layer::Listing::ListedAfterChmod)
        );
    }
    lock("locked", 0o700)?;
    fs::write(root.join("locked/f"), b"new!")?;
    lock("locked", 0o000)?;
    lock("g", 0o600)?;
    fs::write(root.join("g"), b"new!")?;
    lock("g", 0o000)?;
    let (tar, stats) = layer(root, &before)?;
    assert_eq!(
        (mode("locked")?, mode("g")?),
        (0, 0),
        "the layer restored the modes"
    );
    assert_eq!(stats.unreadable, 0);
    let entries = read_layer(&tar[..], b"workspace")?;
    let listed = listing(&entries);
    assert_eq!(
        listed,
        expect(&[
            ("Dir", ""),
            ("File", "g"),
            ("Dir", "locked"),
            ("File", "locked/f")
        ])
    );
    let locked: Vec<u32> = entries
        .iter()
        .filter(|e| e.path == b"g" || e.path == b"locked")
        .map(|e| e.mode)
        .collect();
    assert_eq!(locked, [0, 0], "locked entries keep mode 0 in the layer");
    apply_layer(&tar[..], copy.path(), b"workspace")?;
    lock("locked", 0o700)?;
    lock("g", 0o600)?;
    let unlock = |rel: &str, mode: u32| {
        fs::set_permissions(copy.path().join(rel), fs::Permissions::from_mode(mode))
    };
    unlock("locked", 0o700)?;
    unlock("g", 0o600)?;
    assert_eq!(fs::read(copy.path().join("locked/f"))?, b"new!");
    assert_eq!(fs::read(copy.path().join("g"))?, b"new!");
    Ok(())
}

#[test]
fn over_the_limit_nothing_is_written() -> TestResult {
    let (dir, before) = settled(&[])?;
    write(dir.path(), "a", &[7u8; 600])?;
    write(dir.path(), "b", &[8u8; 600])?;
    let opts = LayerOptions {
        prefix: b"workspace".to_vec(),
        max_bytes: Some(1000),
        full: false,
    };
    let mut out = Vec::new();
    let err = write_layer(dir.path(), &before, &opts, &mut out).expect_err("over the limit");
    assert!(
        matches!(
            err,
            crate::layer::LayerError::TooLarge {
                limit: 1000,
                needed: 1200
            }
        ),
        "{err}"
    );
    assert!(out.is_empty());
    let opts = LayerOptions {
        max_bytes: Some(1200),
        ..opts
    };
    write_layer(dir.path(), &before, &opts, &mut out)?;
    Ok(())
}

/// Accepts `limit` bytes, then fails every write.
struct FailAfter {
    data: Vec<u8>,
    limit: usize,
}

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.len() >= self.limit {
            return Err(std::io::Error::other("pipe closed"));
        }
        let n = buf.len().min(self.limit - self.data.len());
        self.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_stream_never_ends_like_a_layer() -> TestResult {
    let (dir, before) = settled(&[])?;
    for i in 0..4 {
        write(dir.path(), &format!("f{i}"), &vec![i as u8 + 1; 900_000])?;
    }
    let mut out = FailAfter {
        data: Vec::new(),
        limit: 2_500_000,
    };
    let err = crate::layer::write_layer(
        dir.path(),
        &before,
        &LayerOptions {
            prefix: b"workspace".to_vec(),
            max_bytes: None,
            full: false,
        },
        &mut out,
    )
    .expect_err("the writer fails");
    assert!(
        matches!(err, crate::layer::LayerError::Write { .. }),
        "{err}"
    );
    assert!(out.data.len() <= 2_500_000);
    assert!(read_layer(&out.data[..], b"workspace").is_err());
    Ok(())
}
