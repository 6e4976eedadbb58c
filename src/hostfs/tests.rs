//! Hostile workspaces for the host reader: links out, loops, FIFOs, directories, large files.

use std::error::Error;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

type TestResult = Result<(), Box<dyn Error>>;

const LIMIT: u64 = 1 << 20;

/// A workspace `ws` next to a directory `outside` holding a secret.
fn workspace() -> Result<(TempDir, PathBuf), Box<dyn Error>> {
    let tmp = tempfile::tempdir()?;
    let ws = tmp.path().join("ws");
    fs::create_dir_all(ws.join("sub/deep"))?;
    fs::create_dir_all(tmp.path().join("outside"))?;
    fs::write(tmp.path().join("outside/secret"), b"secret")?;
    fs::write(ws.join("task.md"), b"task")?;
    fs::write(ws.join("sub/deep/file"), b"deep")?;
    Ok((tmp, ws))
}

fn read(ws: &Path, rel: &str) -> Result<Vec<u8>, HostReadError> {
    read_workspace_file(ws, Path::new(rel), LIMIT)
}

#[test]
fn plain_files_and_links_inside_are_read() -> TestResult {
    let (_tmp, ws) = workspace()?;
    assert_eq!(read(&ws, "task.md")?, b"task");
    assert_eq!(read(&ws, "./sub/../task.md")?, b"task");
    // A chain of links, relative and absolute, that stays inside.
    symlink("sub", ws.join("a"))?;
    symlink("deep/file", ws.join("sub/b"))?;
    symlink(ws.join("a/b"), ws.join("c"))?;
    symlink("../task.md", ws.join("sub/up"))?;
    assert_eq!(read(&ws, "a/b")?, b"deep");
    assert_eq!(read(&ws, "c")?, b"deep");
    assert_eq!(read(&ws, "sub/up")?, b"task");
    // `..` after a link applies to where the link led, as the kernel does.
    symlink("sub/deep", ws.join("d"))?;
    assert_eq!(read(&ws, "d/../deep/file")?, b"deep");
    let abs = ws.join("task.md");
    assert_eq!(read_workspace_file(&ws, &abs, LIMIT)?, b"task");
    Ok(())
}

#[test]
fn links_and_dots_leaving_the_workspace_are_refused() -> TestResult {
    let (tmp, ws) = workspace()?;
    symlink("/etc/passwd", ws.join("passwd"))?;
    symlink("../outside/secret", ws.join("rel_out"))?;
    symlink(tmp.path().join("outside"), ws.join("dir_out"))?;
    symlink("..", ws.join("sub/root"))?;
    // Climbs out and back in: still refused, the walk never leaves the root.
    symlink("../../ws/task.md", ws.join("sub/round_trip"))?;
    for rel in [
        "passwd",
        "rel_out",
        "dir_out/secret",
        "sub/root/../outside/secret",
        "sub/round_trip",
        "../outside/secret",
        "sub/../../outside/secret",
    ] {
        let err = read(&ws, rel).err();
        assert!(
            matches!(err, Some(HostReadError::Outside { .. })),
            "{rel}: {err:?}"
        );
    }
    let abs = tmp.path().join("outside/secret");
    let err = read_workspace_file(&ws, &abs, LIMIT).err();
    assert!(
        matches!(err, Some(HostReadError::Outside { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn link_loops_end_in_an_error() -> TestResult {
    let (_tmp, ws) = workspace()?;
    symlink("b", ws.join("a"))?;
    symlink("a", ws.join("b"))?;
    let err = read(&ws, "a").err();
    assert!(
        matches!(&err, Some(HostReadError::Io { source, .. }) if source.raw_os_error() == Some(libc::ELOOP)),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn a_fifo_is_refused_without_blocking() -> TestResult {
    let (_tmp, ws) = workspace()?;
    let status = Command::new("mkfifo").arg(ws.join("pipe")).status()?;
    assert!(status.success());
    symlink("pipe", ws.join("to_pipe"))?;
    let started = Instant::now();
    for rel in ["pipe", "to_pipe"] {
        let err = read(&ws, rel).err();
        assert!(
            matches!(
                err,
                Some(HostReadError::NotRegular {
                    kind: FileKind::Fifo,
                    ..
                })
            ),
            "{rel}: {err:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[test]
fn directories_large_and_missing_files_are_refused() -> TestResult {
    let (_tmp, ws) = workspace()?;
    let err = read(&ws, "sub").err();
    assert!(
        matches!(
            err,
            Some(HostReadError::NotRegular {
                kind: FileKind::Directory,
                ..
            })
        ),
        "{err:?}"
    );
    // A sparse file: refused from its size, never read.
    let big = fs::File::create(ws.join("big"))?;
    big.set_len(2 << 30)?;
    let err = read(&ws, "big").err();
    assert!(
        matches!(err, Some(HostReadError::TooLarge { size, limit: LIMIT, .. }) if size == 2 << 30),
        "{err:?}"
    );
    fs::write(ws.join("exact"), vec![b'x'; 10])?;
    assert_eq!(read_workspace_file(&ws, Path::new("exact"), 10)?.len(), 10);
    let err = read_workspace_file(&ws, Path::new("exact"), 9).err();
    assert!(
        matches!(err, Some(HostReadError::TooLarge { .. })),
        "{err:?}"
    );
    for rel in ["missing", "sub/missing/x", "task.md/x", "task.md/.."] {
        let err = read(&ws, rel).err();
        assert!(
            matches!(err, Some(HostReadError::NotFound { .. })),
            "{rel}: {err:?}"
        );
    }
    symlink("missing", ws.join("dangling"))?;
    let err = read(&ws, "dangling").err();
    assert!(
        matches!(err, Some(HostReadError::NotFound { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn check_inside_resolves_inside_links_and_refuses_the_rest() -> TestResult {
    let (tmp, ws) = workspace()?;
    symlink("sub/deep", ws.join("d"))?;
    symlink("/etc", ws.join("etc"))?;
    assert_eq!(
        check_inside(&ws, &ws.join("task.md"))?,
        Path::new("task.md")
    );
    assert_eq!(
        check_inside(&ws, &ws.join("d/file"))?,
        Path::new("sub/deep/file")
    );
    assert_eq!(
        check_inside(&ws, Path::new("d/new/x.json"))?,
        Path::new("sub/deep/new/x.json")
    );
    // The root named through a link resolves to the same place.
    let alias = tmp.path().join("alias");
    symlink(&ws, &alias)?;
    assert_eq!(
        check_inside(&ws, &alias.join("task.md"))?,
        Path::new("task.md")
    );
    assert_eq!(
        check_inside(&alias, &ws.join("task.md"))?,
        Path::new("task.md")
    );
    for bad in [
        tmp.path().join("outside/secret"),
        ws.join("etc/passwd"),
        ws.join("../outside"),
        PathBuf::from("/etc/passwd"),
    ] {
        let err = check_inside(&ws, &bad).err();
        assert!(
            matches!(err, Some(HostReadError::Outside { .. })),
            "{bad:?}: {err:?}"
        );
    }
    let err = check_inside(&ws, Path::new("missing/../task.md")).err();
    assert!(
        matches!(err, Some(HostReadError::NotFound { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn errors_name_the_path_and_the_rule() -> TestResult {
    let (_tmp, ws) = workspace()?;
    symlink("/etc/passwd", ws.join("passwd"))?;
    let err = read(&ws, "passwd").err().ok_or("read through a link out")?;
    assert_eq!(
        err.to_string(),
        format!(
            "{} leads outside the workspace",
            ws.join("passwd").display()
        )
    );
    assert!(std::mem::size_of::<HostReadError>() <= 64);
    Ok(())
}
