//! How much disk a container's workload has written: the disk-limit watchdog's measure on
//! engines that cannot give a container a storage quota.
//!
//! Runs inside the container (`harnessgym internal usage`). A file counts when its ctime is at or
//! after the session's start: the workload created it, or changed it so that the storage driver
//! copied it up (ctime cannot be set back, unlike mtime). Files still held open after being
//! deleted count too (found through `/proc/<pid>/fd`), so deleting a huge file that a process
//! keeps writing does not hide it. Pseudo filesystems (`/proc`, `/sys`, `/dev`) and other mounts
//! are skipped: they are not the container's writable layer.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// What the workload has written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Bytes of allocated blocks.
    pub bytes: u64,
    /// Files counted.
    pub files: u64,
}

const SKIP: [&str; 3] = ["/proc", "/sys", "/dev"];

/// `harnessgym internal usage` (run by the host inside a container; not for direct use).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct UsageArgs {
    /// Count what changed at or after this time (nanoseconds since the Unix epoch).
    #[arg(long, value_name = "NS")]
    pub since_ns: i128,
}

/// Measure the container's writes and print them as one JSON object.
pub fn run_cli(args: &UsageArgs) -> Result<u8, std::io::Error> {
    if std::env::var_os("HARNESSGYM_IN_CONTAINER").as_deref() != Some(std::ffi::OsStr::new("1")) {
        crate::errln!(
            "harnessgym: error: `internal usage` runs only inside a harnessgym container"
        );
        return Ok(crate::exit::USAGE);
    }
    let usage = measure(Path::new("/"), Path::new("/proc"), args.since_ns)?;
    crate::outln!(
        "{}",
        serde_json::to_string(&usage).map_err(io::Error::other)?
    );
    Ok(crate::exit::SUCCESS)
}

fn ctime_ns(meta: &fs::Metadata) -> i128 {
    i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec())
}

/// Measure what was written under `root` (normally `/`) since `since` (nanoseconds since the
/// Unix epoch), plus deleted files still open in `proc` (normally `/proc`).
pub fn measure(root: &Path, proc: &Path, since: i128) -> io::Result<Usage> {
    let device = fs::symlink_metadata(root)?.dev();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut usage = Usage::default();
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // An unreadable directory (another user's) holds nothing the workload could write.
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if SKIP.iter().any(|s| path == Path::new(s)) {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.dev() != device {
                continue;
            }
            if meta.is_dir() {
                stack.push(path);
            }
            if ctime_ns(&meta) >= since && seen.insert((meta.dev(), meta.ino())) {
                usage.bytes += meta.blocks() * 512;
                usage.files += 1;
            }
        }
    }
    add_deleted_open_files(proc, &mut seen, &mut usage);
    Ok(usage)
}

/// Deleted files still held open by some process (as far as this user may look).
fn add_deleted_open_files(proc: &Path, seen: &mut HashSet<(u64, u64)>, usage: &mut Usage) {
    let Ok(pids) = fs::read_dir(proc) else {
        return;
    };
    for pid in pids.flatten() {
        let Ok(fds) = fs::read_dir(pid.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let deleted = fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().ends_with(" (deleted)"));
            if !deleted {
                continue;
            }
            // `metadata` follows the magic link to the open (unlinked) file itself.
            if let Ok(meta) = fs::metadata(fd.path())
                && meta.is_file()
                && seen.insert((meta.dev(), meta.ino()))
            {
                usage.bytes += meta.blocks() * 512;
                usage.files += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn new_files_count_and_old_ones_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("old");
        fs::write(&old, vec![1u8; 8192]).expect("write");
        let since = ctime_ns(&fs::symlink_metadata(&old).expect("stat")) + 10_000_000_000_000;
        let none = measure(dir.path(), Path::new("/nonexistent"), since).expect("measure");
        assert_eq!(none, Usage::default(), "nothing is newer than the future");
        let all = measure(dir.path(), Path::new("/nonexistent"), 0).expect("measure");
        assert!(all.bytes >= 8192, "{all:?}");
    }

    #[test]
    fn a_deleted_file_held_open_still_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hidden");
        let mut file = fs::File::create(&path).expect("create");
        file.write_all(&vec![7u8; 1 << 20]).expect("write");
        file.sync_all().expect("sync");
        // Only this process's descriptors: a fake /proc whose one pid is us.
        let proc = tempfile::tempdir().expect("tempdir");
        fs::create_dir(proc.path().join("1")).expect("mkdir");
        std::os::unix::fs::symlink("/proc/self/fd", proc.path().join("1/fd")).expect("link");
        let empty = tempfile::tempdir().expect("tempdir");
        let before = measure(empty.path(), proc.path(), 0).expect("measure");
        fs::remove_file(&path).expect("unlink");
        let after = measure(empty.path(), proc.path(), 0).expect("measure");
        assert!(
            after.bytes >= before.bytes + (1 << 20),
            "{before:?} {after:?}"
        );
        drop(file);
    }
}
