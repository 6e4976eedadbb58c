use std::error::Error;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use super::codec::{FORMAT_VERSION, reseal};
use super::*;

type TestResult = Result<(), Box<dyn Error>>;

/// splitmix64, for the garbage tests.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn sample_tree(root: &Path) -> TestResult {
    fs::create_dir_all(root.join("dir/sub"))?;
    fs::write(root.join("dir/sub/file"), b"12345")?;
    fs::write(root.join("b"), b"")?;
    fs::write(root.join(OsStr::from_bytes(b"\xff raw")), b"x")?;
    fs::write(root.join("a.c"), b"x")?;
    fs::hard_link(root.join("b"), root.join("b-link"))?;
    symlink("a//b/../c", root.join("link"))?;
    fs::set_permissions(root.join("dir"), fs::Permissions::from_mode(0o2750))?;
    Ok(())
}

#[test]
fn the_walk_records_every_entry_in_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    sample_tree(dir.path())?;
    let manifest = Manifest::walk(dir.path())?;
    let paths: Vec<Vec<u8>> = manifest.iter().map(|(path, _)| path).collect();
    let expected: Vec<&[u8]> = vec![
        b"",
        b"a.c",
        b"b",
        b"b-link",
        b"dir",
        b"dir/sub",
        b"dir/sub/file",
        b"link",
        b"\xff raw",
    ];
    assert_eq!(paths, expected);
    let root = manifest.root();
    assert_eq!((root.kind, root.listing), (Kind::Dir, Listing::Listed));
    let dir_meta = manifest.get(b"dir").ok_or("no dir")?;
    assert_eq!((dir_meta.kind, dir_meta.mode), (Kind::Dir, 0o2750));
    let file = manifest.get(b"dir/sub/file").ok_or("no file")?;
    let real = fs::symlink_metadata(dir.path().join("dir/sub/file"))?;
    assert_eq!(
        (file.kind, file.size, file.ino, file.dev),
        (Kind::File, 5, real.ino(), real.dev())
    );
    assert_eq!(
        file.ctime,
        Timestamp {
            sec: real.ctime(),
            nsec: real.ctime_nsec() as u32
        }
    );
    assert_eq!(
        file.mtime,
        Timestamp {
            sec: real.mtime(),
            nsec: real.mtime_nsec() as u32
        }
    );
    let link = manifest.get(b"link").ok_or("no link")?;
    assert_eq!(
        (link.kind, link.target.as_deref()),
        (Kind::Symlink, Some(&b"a//b/../c"[..]))
    );
    assert_eq!(manifest.get(b"b").map(|m| m.nlink), Some(2));
    assert!(manifest.get(b"nope").is_none() && manifest.get(b"b/x").is_none());
    assert_eq!(
        (manifest.unreadable(), manifest.other_filesystems()),
        (0, 0)
    );
    Ok(())
}

#[test]
fn the_root_must_be_a_real_directory() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("f"), b"")?;
    symlink(dir.path(), dir.path().join("l"))?;
    assert!(matches!(
        Manifest::walk(&dir.path().join("f")),
        Err(LayerError::RootNotDir { .. })
    ));
    assert!(matches!(
        Manifest::walk(&dir.path().join("l")),
        Err(LayerError::RootNotDir { .. })
    ));
    assert!(matches!(
        Manifest::walk(&dir.path().join("none")),
        Err(LayerError::Root { .. })
    ));
    Ok(())
}

#[test]
fn other_filesystems_are_recorded_not_walked() -> TestResult {
    // /dev/pts is a mount of its own in containers and on most hosts; skip where it is not.
    let (dev, pts) = (Path::new("/dev"), Path::new("/dev/pts"));
    let (Ok(dev_meta), Ok(pts_meta)) = (fs::symlink_metadata(dev), fs::symlink_metadata(pts))
    else {
        return Ok(());
    };
    if dev_meta.dev() == pts_meta.dev() || !pts_meta.is_dir() {
        return Ok(());
    }
    let manifest = Manifest::walk(dev)?;
    let pts = manifest.get(b"pts").ok_or("no pts")?;
    assert_eq!(pts.listing, Listing::OtherFilesystem);
    assert!(manifest.iter().all(|(path, _)| !path.starts_with(b"pts/")));
    assert!(manifest.other_filesystems() >= 1);
    Ok(())
}

#[test]
fn bytes_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    sample_tree(dir.path())?;
    let manifest = Manifest::walk(dir.path())?;
    let bytes = manifest.to_bytes();
    assert_eq!(&bytes[..8], b"HGYMMNFT");
    assert_eq!(Manifest::from_bytes(&bytes)?, manifest);
    Ok(())
}

/// A synthetic manifest of `n` entries: 100 directories of files, like a source tree.
fn synthetic(n: usize) -> Manifest {
    let meta = |kind: Kind, i: usize| EntryMeta {
        kind,
        ino: 1_000_000 + i as u64,
        dev: 66,
        mode: if kind == Kind::Dir { 0o755 } else { 0o644 },
        uid: 1000,
        gid: 1000,
        size: (i % 5000) as u64,
        ctime: Timestamp {
            sec: 1_760_000_000 + i as i64,
            nsec: (i * 7919 % 1_000_000_000) as u32,
        },
        mtime: Timestamp {
            sec: 1_750_000_000,
            nsec: 0,
        },
        nlink: 1,
        target: None,
        listing: if kind == Kind::Dir {
            Listing::Listed
        } else {
            Listing::NotDir
        },
        racy: false,
    };
    let mut nodes = vec![Node {
        name: Vec::new(),
        parent: 0,
        end: 0,
        meta: meta(Kind::Dir, 0),
    }];
    let per_dir = n / 100;
    for d in 0..100 {
        let dir_index = nodes.len();
        let name = format!("module_{d:03}").into_bytes();
        nodes.push(Node {
            name,
            parent: 0,
            end: 0,
            meta: meta(Kind::Dir, dir_index),
        });
        for f in 0..per_dir.saturating_sub(1) {
            let name = format!("source_file_{f:05}.rs").into_bytes();
            let i = nodes.len();
            nodes.push(Node {
                name,
                parent: dir_index,
                end: 0,
                meta: meta(Kind::File, i),
            });
        }
    }
    Manifest::from_nodes(nodes)
}

#[test]
fn a_hundred_thousand_entries_take_a_few_megabytes() -> TestResult {
    let manifest = synthetic(100_000);
    assert!(manifest.len() > 99_000);
    let bytes = manifest.to_bytes();
    assert!(bytes.len() < 5_000_000, "{} bytes", bytes.len());
    assert_eq!(Manifest::from_bytes(&bytes)?, manifest);
    assert_eq!(
        manifest
            .get(b"module_042/source_file_00500.rs")
            .map(|m| m.kind),
        Some(Kind::File)
    );
    Ok(())
}

#[test]
fn garbage_is_refused_without_panicking() -> TestResult {
    let dir = tempfile::tempdir()?;
    sample_tree(dir.path())?;
    let bytes = Manifest::walk(dir.path())?.to_bytes();
    for len in 0..bytes.len() {
        assert!(
            Manifest::from_bytes(&bytes[..len]).is_err(),
            "a prefix of {len} bytes parsed"
        );
    }
    let mut state = 7;
    for _ in 0..3000 {
        let mut mutated = bytes.clone();
        for _ in 0..1 + next(&mut state) % 4 {
            let at = (next(&mut state) % mutated.len() as u64) as usize;
            mutated[at] = next(&mut state) as u8;
        }
        if mutated != bytes {
            assert!(
                Manifest::from_bytes(&mutated).is_err(),
                "a corrupted manifest parsed"
            );
        }
        // With a valid checksum, the structural checks alone must hold (Ok or Err, no panic).
        let _ = Manifest::from_bytes(&reseal(&mutated));
        let cut = (next(&mut state) % mutated.len() as u64) as usize;
        let _ = Manifest::from_bytes(&reseal(&mutated[..cut]));
    }
    let noise: Vec<u8> = (0..4096).map(|_| next(&mut state) as u8).collect();
    assert!(Manifest::from_bytes(&noise).is_err());
    Ok(())
}

#[test]
fn another_format_version_is_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut bytes = Manifest::walk(dir.path())?.to_bytes();
    bytes[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = Manifest::from_bytes(&reseal(&bytes)).expect_err("unknown version");
    assert!(
        matches!(err, LayerError::ManifestVersion { version } if version == FORMAT_VERSION + 1)
    );
    Ok(())
}

#[test]
fn structure_is_checked_behind_a_valid_checksum() -> TestResult {
    // Two roots: the second entry claims depth 0.
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("f"), b"")?;
    let manifest = Manifest::walk(dir.path())?;
    let mut nodes = manifest.nodes().to_vec();
    nodes[1].name = b"a/b".to_vec();
    let broken = Manifest { nodes, too_long: 0 }.to_bytes();
    let err = Manifest::from_bytes(&broken).expect_err("a name with a slash");
    assert!(matches!(err, LayerError::InvalidManifest { .. }), "{err}");
    Ok(())
}

#[test]
fn paths_longer_than_the_bound_are_left_out_and_counted() -> TestResult {
    let dir = tempfile::tempdir()?;
    let name = "a".repeat(200);
    // Level k ends at 201k - 1 bytes: levels 1..=15 fit in MAX_PATH_BYTES, level 16 does not.
    let mut path = dir.path().to_path_buf();
    for _ in 0..17 {
        path.push(&name);
    }
    fs::create_dir_all(&path)?;
    fs::write(path.join("f"), b"deep")?;
    let manifest = Manifest::walk(dir.path())?;
    assert_eq!(manifest.too_long(), 1, "level 16, with what is below it");
    assert_eq!(manifest.len(), 1 + 15);
    Ok(())
}
