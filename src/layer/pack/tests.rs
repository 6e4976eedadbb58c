use std::error::Error;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::{Archive, EntryType};

use super::*;

type TestResult = Result<(), Box<dyn Error>>;

/// One entry of a packed archive, as read back.
#[derive(Debug)]
struct Listed {
    name: String,
    kind: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    user: String,
    group: String,
    mtime: u64,
    link: Option<String>,
    data: Vec<u8>,
}

fn list(archive: &[u8]) -> Result<Vec<Listed>, Box<dyn Error>> {
    let mut out = Vec::new();
    for entry in Archive::new(archive).entries()? {
        let mut entry = entry?;
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.push(Listed {
            name: String::from_utf8(entry.path_bytes().into_owned())?,
            kind: header.entry_type(),
            mode: header.mode()?,
            uid: header.uid()?,
            gid: header.gid()?,
            user: header.username()?.unwrap_or_default().to_owned(),
            group: header.groupname()?.unwrap_or_default().to_owned(),
            mtime: header.mtime()?,
            link: entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned()),
            data,
        });
    }
    Ok(out)
}

fn pack(root: &Path, filter: &PackFilter) -> Result<(Vec<Listed>, PackStats), Box<dyn Error>> {
    let mut out = Vec::new();
    let stats = pack_workspace(root, filter, &mut out)?;
    Ok((list(&out)?, stats))
}

fn names(listed: &[Listed]) -> Vec<&str> {
    listed.iter().map(|l| l.name.as_str()).collect()
}

fn write(root: &Path, rel: &str, content: &[u8]) -> TestResult {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)?;
    Ok(())
}

fn find<'a>(listed: &'a [Listed], name: &str) -> Result<&'a Listed, Box<dyn Error>> {
    listed
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| format!("no entry {name}").into())
}

#[test]
fn packs_every_kind_sorted_with_root_first_and_agent_owner() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    write(root, "b.txt", b"bee")?;
    write(root, "a/x.txt", b"ex")?;
    fs::create_dir_all(root.join("a/empty"))?;
    write(root, "run.sh", b"#!/bin/sh\n")?;
    fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755))?;
    write(root, ".git/HEAD", b"ref: refs/heads/main\n")?;
    let binary: Vec<u8> = (0..=255).collect();
    write(root, "bin.dat", &binary)?;
    symlink("b.txt", root.join("link_file"))?;
    symlink("nowhere", root.join("dangling"))?;
    symlink("a", root.join("link_dir"))?;
    symlink("/etc", root.join("abs"))?;
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    File::options()
        .write(true)
        .open(root.join("b.txt"))?
        .set_modified(mtime)?;

    let (listed, stats) = pack(root, &PackFilter::default())?;

    assert_eq!(
        names(&listed),
        [
            "./",
            ".git",
            ".git/HEAD",
            "a",
            "a/empty",
            "a/x.txt",
            "abs",
            "b.txt",
            "bin.dat",
            "dangling",
            "link_dir",
            "link_file",
            "run.sh"
        ]
    );
    for entry in &listed {
        assert_eq!((entry.uid, entry.gid), (1000, 1000), "{}", entry.name);
        assert_eq!(
            (entry.user.as_str(), entry.group.as_str()),
            ("agent", "agent")
        );
    }
    assert_eq!(find(&listed, "./")?.kind, EntryType::Directory);
    assert_eq!(find(&listed, "a/empty")?.kind, EntryType::Directory);
    assert_eq!(find(&listed, "run.sh")?.mode & 0o777, 0o755);
    assert_eq!(find(&listed, "b.txt")?.mtime, 1_600_000_000);
    assert_eq!(find(&listed, "bin.dat")?.data, binary);
    for (name, target) in [
        ("link_file", "b.txt"),
        ("dangling", "nowhere"),
        ("link_dir", "a"),
        ("abs", "/etc"),
    ] {
        let entry = find(&listed, name)?;
        assert_eq!(entry.kind, EntryType::Symlink, "{name}");
        assert_eq!(entry.link.as_deref(), Some(target), "{name}");
    }
    let bytes = (3 + 2 + 10 + 21 + 256) as u64;
    assert_eq!(
        stats,
        PackStats {
            files: 5,
            dirs: 4,
            symlinks: 4,
            skipped_special: 0,
            bytes
        }
    );
    Ok(())
}

#[test]
fn same_tree_packs_to_the_same_bytes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    for rel in ["z", "a/b/c", "a/a", "M", "_"] {
        write(tmp.path(), rel, rel.as_bytes())?;
    }
    let (mut first, mut second) = (Vec::new(), Vec::new());
    pack_workspace(tmp.path(), &PackFilter::default(), &mut first)?;
    pack_workspace(tmp.path(), &PackFilter::default(), &mut second)?;
    assert_eq!(first, second);
    assert_eq!(
        names(&list(&first)?),
        ["./", "M", "_", "a", "a/a", "a/b", "a/b/c", "z"]
    );
    Ok(())
}

#[test]
fn what_is_left_out_never_changes_the_bytes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "task.md", b"task")?;
    let tasks = PackFilter {
        skip: vec![PathBuf::from(".harnessgym")],
        ..PackFilter::default()
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    pack_workspace(tmp.path(), &tasks, &mut before)?;
    // A run creates `.harnessgym/` at its start: the root's mtime moves (here far, so that it
    // is not the same second).
    fs::create_dir(tmp.path().join(".harnessgym"))?;
    let moved = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    fs::File::open(tmp.path())?.set_modified(moved)?;
    pack_workspace(tmp.path(), &tasks, &mut after)?;
    assert_eq!(before, after);
    Ok(())
}

#[test]
fn owner_is_configurable_and_validated() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "f", b"x")?;
    let owner = EntryOwner {
        uid: 4242,
        gid: 4343,
        user: "u".into(),
        group: "g".into(),
    };
    let filter = PackFilter {
        owner,
        ..PackFilter::default()
    };
    let (listed, _) = pack(tmp.path(), &filter)?;
    let entry = find(&listed, "f")?;
    assert_eq!((entry.uid, entry.gid), (4242, 4343));
    assert_eq!((entry.user.as_str(), entry.group.as_str()), ("u", "g"));

    let mut long = filter.clone();
    long.owner.user = "x".repeat(40);
    let err = pack_workspace(tmp.path(), &long, Vec::new()).err();
    assert!(
        matches!(err, Some(PackError::InvalidOwner { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn run_state_is_always_excluded() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    for rel in [
        ".harnessgym/runs/r1/result.json",
        ".harnessgym/task_state/initial/a.txt",
        ".harnessgym/run.lock",
        ".harnessgym/registry.json",
        ".harnessgym/runsx",
        ".harnessgym/skills/s/SKILL.md",
        "src/runs/keep.txt",
    ] {
        write(root, rel, b"x")?;
    }
    let (listed, _) = pack(root, &PackFilter::default())?;
    assert_eq!(
        names(&listed),
        [
            "./",
            ".harnessgym",
            ".harnessgym/registry.json",
            ".harnessgym/runsx",
            ".harnessgym/skills",
            ".harnessgym/skills/s",
            ".harnessgym/skills/s/SKILL.md",
            "src",
            "src/runs",
            "src/runs/keep.txt",
        ]
    );
    Ok(())
}

const REFERENCE_TREE: [&str; 20] = [
    ".agents/a",
    ".claude/c",
    ".codex/config.toml",
    ".git/HEAD",
    ".harnessgym/registry.json",
    ".harnessgym_build/out",
    ".pytest_cache/v",
    "__pycache__/m.pyc",
    "lib/.so",
    "lib/x.so",
    "lib/x.so.1",
    "lib/y.dylib",
    "lib/z.o",
    "pkg/__pycache__/m.cpython-312.pyc",
    "pkg/__pycache__/notes.txt",
    "pkg/mod.py",
    "pkg/mod.pyc",
    "pkg/mod.pyo",
    "src/.git/config",
    "task.md",
];

#[test]
fn reference_exclusions_apply_only_when_enabled() -> TestResult {
    let tmp = tempfile::tempdir()?;
    for rel in REFERENCE_TREE {
        write(tmp.path(), rel, b"x")?;
    }
    let (all, _) = pack(tmp.path(), &PackFilter::default())?;
    for rel in REFERENCE_TREE {
        find(&all, rel)?;
    }

    let filter = PackFilter {
        reference_exclusions: true,
        ..PackFilter::default()
    };
    let (kept, stats) = pack(tmp.path(), &filter)?;
    assert_eq!(
        names(&kept),
        [
            "./",
            "lib",
            "lib/.so",
            "lib/x.so.1",
            "pkg",
            "pkg/mod.py",
            "src",
            "src/.git",
            "src/.git/config",
            "task.md",
        ]
    );
    assert_eq!(stats.files, 5);
    Ok(())
}

#[test]
fn reference_predicate_matches_the_spec() {
    for rel in [
        ".git",
        ".git/objects/ab",
        "./.codex/config.toml",
        ".harnessgym",
        ".harnessgym_build/x",
        "__pycache__",
        "pkg/__pycache__",
        "a/b/.pytest_cache/v",
        "m.pyc",
        "deep/er/lib.so",
        "x.dylib",
        "obj/a.o",
        "odd.so/inside.txt",
    ] {
        assert!(is_reference_excluded(Path::new(rel)), "{rel}");
    }
    for rel in [
        "",
        ".",
        "src/.git/config",
        "src/.claude",
        ".gitignore",
        ".so",
        "lib/.pyc",
        "x.so.1",
        "a.",
        "main.rs",
    ] {
        assert!(!is_reference_excluded(Path::new(rel)), "{rel}");
    }
    assert!(is_run_state(Path::new("./.harnessgym/runs/r/x")));
    assert!(is_run_state(Path::new(".harnessgym/run.lock")));
    assert!(!is_run_state(Path::new(".harnessgym/registry.json")));
    assert!(!is_run_state(Path::new("runs")));
}

#[test]
fn include_list_packs_only_those_paths_with_their_parents() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    for rel in [
        ".harnessgym/registry.json",
        ".harnessgym/runs/r/x",
        ".harnessgym/skills/s/SKILL.md",
        "src/a/b/c.txt",
        "src/a/other.txt",
        "top.txt",
    ] {
        write(root, rel, b"x")?;
    }
    symlink("src", root.join("ln"))?;

    let only = |paths: &[&str]| PackFilter {
        include: Some(paths.iter().map(PathBuf::from).collect()),
        ..PackFilter::default()
    };
    let (listed, _) = pack(root, &only(&[".harnessgym"]))?;
    assert_eq!(
        names(&listed),
        [
            "./",
            ".harnessgym",
            ".harnessgym/registry.json",
            ".harnessgym/skills",
            ".harnessgym/skills/s",
            ".harnessgym/skills/s/SKILL.md",
        ]
    );

    let changed = only(&[
        "top.txt",
        "src/a/b/c.txt",
        "missing.txt",
        "src/a/b",
        "./top.txt",
        "ln/a",
    ]);
    let (listed, stats) = pack(root, &changed)?;
    assert_eq!(
        names(&listed),
        ["./", "src", "src/a", "src/a/b", "src/a/b/c.txt", "top.txt"]
    );
    assert_eq!((stats.files, stats.dirs), (2, 4));

    let (everything, _) = pack(root, &only(&["."]))?;
    let (default, _) = pack(root, &PackFilter::default())?;
    assert_eq!(names(&everything), names(&default));

    for bad in ["../x", "/etc", "a/../../b"] {
        let err = pack_workspace(root, &only(&[bad]), Vec::new()).err();
        assert!(
            matches!(err, Some(PackError::InvalidInclude { .. })),
            "{bad}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn sockets_are_skipped_and_counted() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "f", b"x")?;
    let _listener = std::os::unix::net::UnixListener::bind(tmp.path().join("sock"))?;
    let (listed, stats) = pack(tmp.path(), &PackFilter::default())?;
    assert_eq!(names(&listed), ["./", "f"]);
    assert_eq!(stats.skipped_special, 1);
    Ok(())
}

#[test]
fn root_must_be_a_directory_but_may_be_a_symlink_to_one() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "ws/f", b"x")?;
    symlink("ws", tmp.path().join("alias"))?;
    let (listed, _) = pack(&tmp.path().join("alias"), &PackFilter::default())?;
    assert_eq!(names(&listed), ["./", "f"]);

    let err = pack_workspace(&tmp.path().join("ws/f"), &PackFilter::default(), Vec::new()).err();
    assert!(matches!(err, Some(PackError::RootNotDir { .. })), "{err:?}");
    let err = pack_workspace(&tmp.path().join("nope"), &PackFilter::default(), Vec::new()).err();
    assert!(matches!(err, Some(PackError::Root { .. })), "{err:?}");
    Ok(())
}

/// Counts bytes and drops them, so the archive is never held in memory.
#[derive(Default)]
struct CountingSink {
    bytes: u64,
    largest_write: usize,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.largest_write = self.largest_write.max(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn large_file_streams_through_bounded_buffers() -> TestResult {
    const SIZE: u64 = 64 << 20;
    let tmp = tempfile::tempdir()?;
    let file = File::create(tmp.path().join("big.bin"))?;
    file.set_len(SIZE)?;
    drop(file);
    let mut sink = CountingSink::default();
    let stats = pack_workspace(tmp.path(), &PackFilter::default(), &mut sink)?;
    assert_eq!(stats.bytes, SIZE);
    // root header + file header + data + two zero blocks of trailer.
    assert_eq!(sink.bytes, 512 + 512 + SIZE + 1024);
    assert!(sink.largest_write <= COPY_BUF, "{}", sink.largest_write);
    Ok(())
}

#[test]
fn exact_reader_pads_a_shrunk_file_and_cuts_a_grown_one() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("f");
    fs::write(&path, b"0123456789")?;
    let mut buf = vec![0; 4];

    let mut file = File::open(&path)?;
    let mut reader = ExactReader::new(&mut file, &mut buf, 14);
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    assert_eq!(out, b"0123456789\0\0\0\0");
    assert!(reader.shrank);

    let mut file = File::open(&path)?;
    let mut reader = ExactReader::new(&mut file, &mut buf, 5);
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    assert_eq!(out, b"01234");
    assert!(!reader.shrank);
    Ok(())
}

/// Fails every write and counts how often it was asked.
struct FailingWriter<'a> {
    attempts: &'a mut u32,
}

impl Write for FailingWriter<'_> {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        *self.attempts += 1;
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn nothing_reaches_the_output_after_a_failure() -> TestResult {
    let tmp = tempfile::tempdir()?;
    File::create(tmp.path().join("big.bin"))?.set_len(3 * COPY_BUF as u64)?;
    write(tmp.path(), "later.txt", b"x")?;
    let mut attempts = 0;
    let out = FailingWriter {
        attempts: &mut attempts,
    };
    let err = pack_workspace(tmp.path(), &PackFilter::default(), out).err();
    assert!(
        matches!(&err, Some(PackError::Append { path, .. }) if path == Path::new("big.bin")),
        "{err:?}"
    );
    // Without closing the output, dropping the builder would try to write the trailer too.
    assert_eq!(attempts, 1);
    Ok(())
}

#[test]
fn a_prefix_names_the_root_and_every_entry_below_it_for_an_image_layer() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir(dir.path().join("src"))?;
    fs::write(dir.path().join("src/a.py"), "a")?;
    symlink("src/a.py", dir.path().join("link"))?;
    let filter = PackFilter {
        prefix: Some(PathBuf::from("workspace")),
        ..PackFilter::default()
    };
    let (listed, _) = pack(dir.path(), &filter)?;
    assert_eq!(
        names(&listed),
        vec![
            "workspace",
            "workspace/link",
            "workspace/src",
            "workspace/src/a.py"
        ]
    );
    let mut first = Vec::new();
    let mut second = Vec::new();
    pack_workspace(dir.path(), &filter, &mut first)?;
    pack_workspace(dir.path(), &filter, &mut second)?;
    assert_eq!(first, second, "the same tree packs to the same bytes");
    Ok(())
}

#[test]
fn skipped_paths_leave_out_their_tree_and_an_include_packs_it_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir_all(dir.path().join(".harnessgym/tools"))?;
    fs::write(dir.path().join(".harnessgym/tools/t.py"), "t")?;
    fs::write(dir.path().join("task.md"), "task")?;
    let tasks = PackFilter {
        skip: vec![PathBuf::from(".harnessgym")],
        ..PackFilter::default()
    };
    let (listed, _) = pack(dir.path(), &tasks)?;
    assert_eq!(names(&listed), vec!["./", "task.md"]);
    let harness = PackFilter {
        include: Some(vec![PathBuf::from(".harnessgym")]),
        ..PackFilter::default()
    };
    let (listed, _) = pack(dir.path(), &harness)?;
    assert_eq!(
        names(&listed),
        vec![
            "./",
            ".harnessgym",
            ".harnessgym/tools",
            ".harnessgym/tools/t.py"
        ]
    );
    Ok(())
}
