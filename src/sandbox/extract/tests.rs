use std::collections::BTreeMap;
use std::error::Error;
use std::fs::{self, File};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::{Builder, EntryType, Header};
use tempfile::TempDir;

use super::*;
use crate::layer::pack::{PackFilter, pack_workspace};

mod attacks;
mod boundary;

type TestResult = Result<(), Box<dyn Error>>;

/// A destination next to a canary directory that no archive may touch.
struct Sandbox {
    tmp: TempDir,
    dest: PathBuf,
    canary: PathBuf,
}

impl Sandbox {
    fn new() -> Result<Self, Box<dyn Error>> {
        let tmp = tempfile::tempdir()?;
        let dest = tmp.path().join("dest");
        let canary = tmp.path().join("canary");
        fs::create_dir_all(&dest)?;
        fs::create_dir_all(&canary)?;
        fs::write(canary.join("secret.txt"), b"secret")?;
        Ok(Self { tmp, dest, canary })
    }

    /// Nothing appeared next to `dest` and the canary is as it was.
    fn assert_outside_untouched(&self) -> TestResult {
        let mut siblings: Vec<_> = fs::read_dir(self.tmp.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        siblings.sort();
        assert_eq!(siblings, ["canary", "dest"]);
        assert_eq!(tree(&self.canary)?.len(), 1);
        assert_eq!(fs::read(self.canary.join("secret.txt"))?, b"secret");
        let meta = fs::symlink_metadata(self.canary.join("secret.txt"))?;
        assert!(meta.is_file());
        Ok(())
    }

    fn extract(&self, archive: &[u8]) -> Result<ExtractReport, ExtractError> {
        extract_safe(archive, &self.dest, &ExtractOptions::default())
    }
}

/// An archive entry built from raw header bytes, bypassing `tar::Builder`'s name checks.
struct Raw<'a> {
    name: &'a [u8],
    kind: EntryType,
    data: &'a [u8],
    link: &'a [u8],
    mode: u32,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Regular,
        data,
        link: b"",
        mode: 0o644,
    }
}

fn dir(name: &str) -> Raw<'_> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Directory,
        data: b"",
        link: b"",
        mode: 0o755,
    }
}

fn link<'a>(kind: EntryType, name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind,
        data: b"",
        link: target.as_bytes(),
        mode: 0o777,
    }
}

const MTIME: u64 = 1_000_000_000;

fn archive(entries: &[Raw<'_>]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut builder = Builder::new(Vec::new());
    for entry in entries {
        let mut header = Header::new_gnu();
        let old = header.as_old_mut();
        old.name[..entry.name.len()].copy_from_slice(entry.name);
        old.linkname[..entry.link.len()].copy_from_slice(entry.link);
        header.set_entry_type(entry.kind);
        header.set_size(entry.data.len() as u64);
        header.set_mode(entry.mode);
        header.set_mtime(MTIME);
        header.set_cksum();
        builder.append(&header, entry.data)?;
    }
    Ok(builder.into_inner()?)
}

/// What a path holds, for comparing trees.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    File {
        data: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    Dir {
        mode: u32,
        mtime: i64,
    },
    Link {
        target: PathBuf,
    },
}

/// Every path below `root` (root excluded), relative.
fn tree(root: &Path) -> Result<BTreeMap<PathBuf, Node>, Box<dyn Error>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for entry in fs::read_dir(root.join(&rel))? {
            let rel = rel.join(entry?.file_name());
            let path = root.join(&rel);
            let meta = fs::symlink_metadata(&path)?;
            let mode = meta.permissions().mode() & 0o7777;
            let node = if meta.file_type().is_symlink() {
                Node::Link {
                    target: fs::read_link(&path)?,
                }
            } else if meta.is_dir() {
                todo.push(rel.clone());
                Node::Dir {
                    mode,
                    mtime: meta.mtime(),
                }
            } else {
                Node::File {
                    data: fs::read(&path)?,
                    mode,
                    mtime: meta.mtime(),
                }
            };
            out.insert(rel, node);
        }
    }
    Ok(out)
}

fn set_mtime(path: &Path, secs: u64) -> TestResult {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    File::open(path)?.set_modified(time)?;
    Ok(())
}

/// The one refusal an extraction recorded (it must not have failed, nor refused more).
fn refusal(result: Result<ExtractReport, ExtractError>) -> Option<Refusal> {
    match result {
        Ok(report) if report.refused.len() == 1 => {
            report.refused.into_iter().next().map(|r| r.reason)
        }
        other => {
            crate::errln!("not exactly one refusal: {other:?}");
            None
        }
    }
}

#[test]
fn round_trip_keeps_content_modes_links_and_mtimes() -> TestResult {
    let src = tempfile::tempdir()?;
    let root = src.path();
    fs::create_dir_all(root.join("a/b/empty"))?;
    fs::write(root.join("a/b/deep.txt"), b"deep")?;
    fs::write(root.join("run.sh"), b"#!/bin/sh\necho hi\n")?;
    fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755))?;
    fs::write(root.join("bin.dat"), (0..=255).collect::<Vec<u8>>())?;
    fs::set_permissions(root.join("a/b"), fs::Permissions::from_mode(0o750))?;
    symlink("bin.dat", root.join("to_file"))?;
    symlink("nowhere", root.join("dangling"))?;
    symlink("a/b", root.join("to_dir"))?;
    for (rel, secs) in [
        ("a/b/deep.txt", 1_500_000_000),
        ("run.sh", 1_500_000_001),
        ("bin.dat", 1_500_000_002),
        ("a/b/empty", 1_500_000_003),
        ("a/b", 1_500_000_004),
        ("a", 1_500_000_005),
    ] {
        set_mtime(&root.join(rel), secs)?;
    }

    let mut stream = Vec::new();
    pack_workspace(root, &PackFilter::default(), &mut stream)?;
    let sandbox = Sandbox::new()?;
    let report = sandbox.extract(&stream)?;

    assert_eq!(tree(&sandbox.dest)?, tree(root)?);
    assert_eq!((report.dirs, report.symlinks, report.skipped), (3, 3, 0));
    assert_eq!(report.written.len(), 6);
    assert!(report.written.contains(&PathBuf::from("a/b/deep.txt")));
    sandbox.assert_outside_untouched()
}

fn temp_leftovers(root: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    Ok(tree(root)?
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
        })
        .collect())
}

#[test]
fn truncated_stream_leaves_the_old_file_and_no_temp_files() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::write(sandbox.dest.join("keep.txt"), b"old")?;
    let big = vec![7u8; 10_000];
    let stream = archive(&[file("a.txt", b"a"), file("keep.txt", &big)])?;
    let err = sandbox.extract(&stream[..1024 + 512 + 3000]).err();
    assert!(
        matches!(&err, Some(ExtractError::ReadEntry { entry, .. }) if entry == "keep.txt"),
        "{err:?}"
    );
    assert_eq!(fs::read(sandbox.dest.join("keep.txt"))?, b"old");
    assert_eq!(fs::read(sandbox.dest.join("a.txt"))?, b"a");
    assert!(temp_leftovers(&sandbox.dest)?.is_empty());

    // Success leaves none either, links included.
    let stream = archive(&[
        file("x/1", b"1"),
        file("x/2", b"2"),
        link(EntryType::Symlink, "x/3", "1"),
        link(EntryType::Symlink, "x/3", "2"),
    ])?;
    sandbox.extract(&stream)?;
    assert!(temp_leftovers(&sandbox.dest)?.is_empty());
    sandbox.assert_outside_untouched()
}

#[test]
fn strip_components_applies_to_names_and_hardlink_targets() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[
        dir("workspace/"),
        file("workspace/a/b.txt", b"b"),
        link(EntryType::Symlink, "workspace/l", "a/b.txt"),
        link(EntryType::Link, "workspace/h", "workspace/a/b.txt"),
        file("./workspace/./c.txt", b"c"),
    ])?;
    let opts = ExtractOptions {
        strip_components: 1,
        ..ExtractOptions::default()
    };
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert_eq!(
        report.written,
        [
            PathBuf::from("a/b.txt"),
            "l".into(),
            "h".into(),
            "c.txt".into()
        ]
    );
    assert_eq!(fs::read(sandbox.dest.join("h"))?, b"b");
    assert_eq!(fs::read_link(sandbox.dest.join("l"))?, Path::new("a/b.txt"));
    assert!(!sandbox.dest.join("workspace").exists());

    // A name that is only the stripped prefix names the destination itself.
    let stream = archive(&[file("workspace", b"x")])?;
    let err = refusal(extract_safe(&stream[..], &sandbox.dest, &opts));
    assert_eq!(err, Some(Refusal::Destination));
    sandbox.assert_outside_untouched()
}

#[test]
fn filter_skips_entries_and_leaves_the_host_untouched() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::create_dir_all(sandbox.dest.join(".harnessgym"))?;
    fs::write(sandbox.dest.join(".harnessgym/registry.json"), b"host")?;
    let stream = archive(&[
        file(".harnessgym/registry.json", b"container"),
        dir(".git"),
        file(".git/HEAD", b"ref"),
        file("src/main.rs", b"fn main() {}"),
    ])?;
    let keep =
        |rel: &Path| Decision::keep_if(!rel.starts_with(".harnessgym") && !rel.starts_with(".git"));
    let opts = ExtractOptions {
        policy: Some(Box::new(keep)),
        ..ExtractOptions::default()
    };
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert_eq!(report.skipped, 3);
    assert_eq!(report.written, [PathBuf::from("src/main.rs")]);
    assert_eq!(
        fs::read(sandbox.dest.join(".harnessgym/registry.json"))?,
        b"host"
    );
    assert!(!sandbox.dest.join(".git").exists());
    sandbox.assert_outside_untouched()
}

#[test]
fn devices_and_fifos_are_refused_and_recorded() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut fifo = file("p", b"");
    fifo.kind = EntryType::Fifo;
    let mut chr = file("c", b"");
    chr.kind = EntryType::Char;
    let mut blk = file("b", b"");
    blk.kind = EntryType::Block;
    let mut odd = file("v", b"");
    odd.kind = EntryType::new(b'V');
    let stream = archive(&[fifo, chr, blk, file("ok", b"ok"), odd])?;
    let report = sandbox.extract(&stream)?;
    let refused: Vec<_> = report
        .refused
        .iter()
        .map(|r| (r.path.to_str(), r.reason.clone()))
        .collect();
    let special = |kind| Refusal::SpecialFile { kind };
    assert_eq!(
        refused,
        [
            (Some("p"), special(FileKind::Fifo)),
            (Some("c"), special(FileKind::CharDevice)),
            (Some("b"), special(FileKind::BlockDevice)),
            (Some("v"), special(FileKind::Other)),
        ]
    );
    assert_eq!((report.skipped, report.written.len()), (0, 1));
    assert_eq!(tree(&sandbox.dest)?.len(), 1);
    sandbox.assert_outside_untouched()
}

#[test]
fn permissions_are_masked_and_applied_after_children() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut suid = file("suid", b"x");
    suid.mode = 0o6755;
    let mut sticky = dir("sticky");
    sticky.mode = 0o1777;
    let mut read_only = dir("ro");
    read_only.mode = 0o555;
    let mut group = dir("group");
    group.mode = 0o750;
    let stream = archive(&[suid, sticky, read_only, file("ro/inside", b"in"), group])?;
    let report = sandbox.extract(&stream)?;
    assert_eq!(report.modes_stripped, 2, "setuid file and sticky dir");
    assert!(report.refused.is_empty());
    let got = tree(&sandbox.dest)?;
    assert!(matches!(
        got[Path::new("suid")],
        Node::File { mode: 0o755, .. }
    ));
    // No write for others, and the owner can always write: 0o1777 and 0o555 both land 0o755.
    assert!(matches!(
        got[Path::new("sticky")],
        Node::Dir { mode: 0o755, .. }
    ));
    assert!(
        matches!(got[Path::new("ro")], Node::Dir { mode: 0o755, mtime, .. } if mtime == MTIME as i64)
    );
    assert!(matches!(
        got[Path::new("ro/inside")],
        Node::File { mode: 0o644, .. }
    ));
    assert!(matches!(
        got[Path::new("group")],
        Node::Dir { mode: 0o750, .. }
    ));
    sandbox.assert_outside_untouched()
}

#[test]
fn an_archive_cannot_lock_the_user_out_of_their_own_files() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut locked = dir("locked");
    locked.mode = 0o000;
    let mut secret = file("locked/secret", b"s");
    secret.mode = 0o000;
    let mut write_only = file("write-only", b"w");
    write_only.mode = 0o222;
    let mut everyone = file("everyone", b"e");
    everyone.mode = 0o777;
    let stream = archive(&[locked, secret, write_only, everyone])?;
    let report = sandbox.extract(&stream)?;
    assert!(report.refused.is_empty());
    let got = tree(&sandbox.dest)?;
    let mode = |rel: &str| match got[Path::new(rel)] {
        Node::File { mode, .. } | Node::Dir { mode, .. } => mode,
        _ => panic!("{rel} is not a file or directory"),
    };
    assert_eq!(mode("locked"), 0o700);
    assert_eq!(mode("locked/secret"), 0o600);
    assert_eq!(mode("write-only"), 0o600);
    assert_eq!(mode("everyone"), 0o755);
    assert_eq!(fs::read(sandbox.dest.join("locked/secret"))?, b"s");
    sandbox.assert_outside_untouched()
}

#[test]
fn host_modes_keep_read_and_execute_and_drop_the_rest() {
    use super::host_mode;
    assert_eq!(host_mode(0o644, false), 0o644);
    assert_eq!(host_mode(0o755, false), 0o755);
    assert_eq!(host_mode(0o000, false), 0o600);
    assert_eq!(host_mode(0o000, true), 0o700);
    assert_eq!(host_mode(0o4777, false), 0o755);
    assert_eq!(host_mode(0o1777, true), 0o755);
    assert_eq!(host_mode(0o640, false), 0o640);
    assert_eq!(host_mode(0o066, false), 0o644);
}

#[test]
fn mtimes_are_kept_only_when_asked() -> TestResult {
    let sandbox = Sandbox::new()?;
    let stream = archive(&[file("kept", b"k")])?;
    sandbox.extract(&stream)?;
    assert_eq!(
        fs::metadata(sandbox.dest.join("kept"))?.mtime(),
        MTIME as i64
    );

    let opts = ExtractOptions {
        preserve_mtime: false,
        ..ExtractOptions::default()
    };
    let stream = archive(&[file("fresh", b"f")])?;
    extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert!(fs::metadata(sandbox.dest.join("fresh"))?.mtime() > MTIME as i64);
    Ok(())
}

#[test]
fn root_entry_is_accepted_but_leaves_dest_metadata_alone() -> TestResult {
    let sandbox = Sandbox::new()?;
    fs::set_permissions(&sandbox.dest, fs::Permissions::from_mode(0o755))?;
    let mut root = dir("./");
    root.mode = 0o700;
    let mut old_style_dir = file("old/", b"");
    old_style_dir.mode = 0o755;
    let stream = archive(&[root, file("./a.txt", b"a"), old_style_dir])?;
    let report = sandbox.extract(&stream)?;
    assert_eq!(report.written, [PathBuf::from("a.txt")]);
    assert!(sandbox.dest.join("old").is_dir());
    let mode = fs::metadata(&sandbox.dest)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);

    for name in [".", "./"] {
        let mut entry = file(name, b"x");
        entry.kind = EntryType::Symlink;
        entry.link = b"x";
        let stream = archive(&[entry])?;
        assert_eq!(
            refusal(sandbox.extract(&stream)),
            Some(Refusal::Destination)
        );
    }
    let stream = archive(&[link(EntryType::Symlink, "empty", "")])?;
    assert_eq!(
        refusal(sandbox.extract(&stream)),
        Some(Refusal::MissingLinkTarget)
    );
    sandbox.assert_outside_untouched()
}

#[test]
fn large_file_round_trips_through_a_stream() -> TestResult {
    const SIZE: u64 = 64 << 20;
    let src = tempfile::tempdir()?;
    let mut big = File::create(src.path().join("big.bin"))?;
    big.write_all(b"head")?;
    big.seek(std::io::SeekFrom::Start(SIZE - 4))?;
    big.write_all(b"tail")?;
    drop(big);

    // The archive goes through a file, never a buffer in memory.
    let mut stream = tempfile::tempfile()?;
    pack_workspace(src.path(), &PackFilter::default(), &mut stream)?;
    stream.rewind()?;
    let sandbox = Sandbox::new()?;
    let report = extract_safe(&stream, &sandbox.dest, &ExtractOptions::default())?;
    assert_eq!(report.written, [PathBuf::from("big.bin")]);
    let out = sandbox.dest.join("big.bin");
    assert_eq!(fs::metadata(&out)?.len(), SIZE);
    let data = fs::read(&out)?;
    assert_eq!(
        (&data[..4], &data[data.len() - 4..]),
        (&b"head"[..], &b"tail"[..])
    );
    sandbox.assert_outside_untouched()
}

#[test]
fn options_move_into_a_blocking_task() -> TestResult {
    fn assert_send_static<T: Send + 'static>(_: &T) {}
    let opts = ExtractOptions {
        policy: Some(Box::new(|rel: &Path| {
            Decision::keep_if(rel.starts_with("a"))
        })),
        ..ExtractOptions::default()
    };
    assert_send_static(&opts);
    let sandbox = Sandbox::new()?;
    let dest = sandbox.dest.clone();
    let stream = archive(&[file("a/x", b"x"), file("b/y", b"y")])?;
    let report = std::thread::spawn(move || extract_safe(&stream[..], &dest, &opts))
        .join()
        .map_err(|_| "extraction thread panicked")??;
    assert_eq!(report.written, [PathBuf::from("a/x")]);
    Ok(())
}

#[test]
fn prefix_places_entries_and_hardlink_targets_below_it() -> TestResult {
    let sandbox = Sandbox::new()?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let opts = ExtractOptions {
        prefix: Some("src/./lib".into()),
        policy: Some(Box::new(move |rel: &Path| {
            Decision::keep_if(record.lock().is_ok_and(|mut seen| {
                seen.push(rel.to_path_buf());
                true
            }))
        })),
        ..ExtractOptions::default()
    };
    let stream = archive(&[
        dir("pkg/"),
        file("pkg/a.py", b"a"),
        link(EntryType::Link, "pkg/b.py", "pkg/a.py"),
    ])?;
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    assert_eq!(
        report.written,
        [PathBuf::from("src/lib/pkg/a.py"), "src/lib/pkg/b.py".into()]
    );
    assert_eq!(fs::read(sandbox.dest.join("src/lib/pkg/b.py"))?, b"a");
    let seen = seen.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(seen[0], Path::new("src/lib/pkg"));

    for bad in ["../x", "/abs"] {
        let opts = ExtractOptions {
            prefix: Some(bad.into()),
            ..ExtractOptions::default()
        };
        let err = extract_safe(&stream[..], &sandbox.dest, &opts).err();
        assert!(
            matches!(err, Some(ExtractError::InvalidPrefix { .. })),
            "{err:?}"
        );
    }
    symlink(&sandbox.canary, sandbox.dest.join("out"))?;
    let opts = ExtractOptions {
        prefix: Some("out".into()),
        ..ExtractOptions::default()
    };
    // Refused once, for the link; the entries below it are only counted.
    let report = extract_safe(&stream[..], &sandbox.dest, &opts)?;
    let expected = Refused {
        path: "out/pkg".into(),
        reason: Refusal::ThroughSymlink { link: "out".into() },
    };
    assert_eq!((report.refused, report.refused_below), (vec![expected], 2));
    sandbox.assert_outside_untouched()
}

#[test]
fn errors_stay_small_enough_to_nest() {
    // Callers wrap this error with several strings of context; clippy's `result_large_err`
    // fires past 128 bytes, so keep the cause itself at five words or less.
    assert!(std::mem::size_of::<ExtractError>() <= 40);
    assert!(std::mem::size_of::<crate::layer::pack::PackError>() <= 40);
}
