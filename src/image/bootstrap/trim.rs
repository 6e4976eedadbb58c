//! Trimming a fresh tree: remove what a container image does not need (device nodes, apt caches,
//! logs, docs, man pages, locales), blank host-specific files and keep later installs slim,
//! never following a symlink and never touching a tree with mounts inside.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::error::BootstrapError;
use super::mounts::current_mounts_under;

/// dpkg configuration written into the tree so later `apt-get install`s stay slim too.
pub const DPKG_SLIM_CONFIG: &str = "etc/dpkg/dpkg.cfg.d/harnessgym-slim";

const DPKG_SLIM_RULES: &str = "\
# harnessgym: keep the image small and its file count low (on storage drivers without native
# diff, e.g. fuse-overlayfs, every commit walks every file of the image)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
";

/// Trim a freshly bootstrapped tree in place; returns the number of entries removed.
///
/// Removes device nodes under `/dev` (the engine provides `/dev`), apt's package cache and lists,
/// log files, `/tmp` and `/var/tmp` contents, docs (except copyright files), man/info pages and
/// locales (as `debian:*-slim` does, which also cuts the file count every commit walks), empties
/// `/etc/resolv.conf` and `/etc/hostname` (they carry the host's values; the engine mounts its
/// own), and writes [`DPKG_SLIM_CONFIG`] so later package installs stay slim. Never follows a
/// symlink, and refuses to touch a tree with anything mounted inside.
pub fn trim_rootfs(root: &Path) -> Result<u64, BootstrapError> {
    let canonical = fs::canonicalize(root).map_err(|source| BootstrapError::Trim {
        path: root.to_path_buf(),
        source,
    })?;
    if let Some(path) = current_mounts_under(&canonical).into_iter().next() {
        return Err(BootstrapError::Mounted { path });
    }
    let mut removed = 0;
    let keep_nothing: &[&str] = &[];
    removed += clear(root, "dev", keep_nothing)?;
    removed += clear(root, "var/cache/apt", &["archives"])?;
    removed += clear(root, "var/cache/apt/archives", &["partial"])?;
    removed += clear(root, "var/cache/apt/archives/partial", keep_nothing)?;
    removed += clear(root, "var/lib/apt/lists", &["partial"])?;
    removed += clear(root, "var/lib/apt/lists/partial", keep_nothing)?;
    removed += remove_files_keeping(root, "var/log", false, |_| false)?;
    removed += clear(root, "tmp", keep_nothing)?;
    removed += clear(root, "var/tmp", keep_nothing)?;
    removed += remove_files_keeping(root, "usr/share/doc", true, |name| name == "copyright")?;
    for dir in [
        "usr/share/man",
        "usr/share/info",
        "usr/share/groff",
        "usr/share/linda",
        "usr/share/lintian/overrides",
    ] {
        removed += clear(root, dir, keep_nothing)?;
    }
    removed += clear(root, "usr/share/locale", &["locale.alias"])?;
    for file in ["etc/resolv.conf", "etc/hostname"] {
        truncate_regular(&root.join(file))?;
    }
    let config = root.join(DPKG_SLIM_CONFIG);
    let trim_err = |source| BootstrapError::Trim {
        path: config.clone(),
        source,
    };
    if let Some(parent) = config.parent() {
        fs::create_dir_all(parent).map_err(trim_err)?;
    }
    fs::write(&config, DPKG_SLIM_RULES).map_err(trim_err)?;
    Ok(removed)
}

/// Join a relative path under `root`, refusing components that could climb out of it.
fn inside(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    for component in Path::new(rel).components() {
        if let Component::Normal(part) = component {
            path.push(part);
        }
    }
    path
}

/// Remove every child of `root/rel` except the names in `keep`. A missing directory, or one
/// that is a symlink, is left alone.
fn clear(root: &Path, rel: &str, keep: &[&str]) -> Result<u64, BootstrapError> {
    let dir = inside(root, rel);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
    let trim_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BootstrapError::Trim { path, source }
    };
    let mut removed = 0;
    for entry in fs::read_dir(&dir).map_err(trim_err(&dir))? {
        let entry = entry.map_err(trim_err(&dir))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| keep.contains(&n))
        {
            continue;
        }
        remove_entry(&entry.path()).map_err(trim_err(&entry.path()))?;
        removed += 1;
    }
    Ok(removed)
}

/// Remove every non-directory under `root/rel` whose name fails `keep`; with `prune`, also the
/// directories left empty (the top directory itself stays).
fn remove_files_keeping(
    root: &Path,
    rel: &str,
    prune: bool,
    keep: fn(&str) -> bool,
) -> Result<u64, BootstrapError> {
    fn walk(
        dir: &Path,
        prune: bool,
        keep: fn(&str) -> bool,
        removed: &mut u64,
    ) -> Result<bool, BootstrapError> {
        let trim_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BootstrapError::Trim { path, source }
        };
        let mut empty = true;
        for entry in fs::read_dir(dir).map_err(trim_err(dir))? {
            let entry = entry.map_err(trim_err(dir))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(trim_err(&path))?;
            if file_type.is_dir() {
                if walk(&path, prune, keep, removed)? && prune {
                    fs::remove_dir(&path).map_err(trim_err(&path))?;
                    *removed += 1;
                } else {
                    empty = false;
                }
            } else if entry.file_name().to_str().is_some_and(keep) {
                empty = false;
            } else {
                fs::remove_file(&path).map_err(trim_err(&path))?;
                *removed += 1;
            }
        }
        Ok(empty)
    }
    let dir = inside(root, rel);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
    let mut removed = 0;
    walk(&dir, prune, keep, &mut removed)?;
    Ok(removed)
}

/// Remove a file, symlink, device node or directory tree, never following a symlink.
fn remove_entry(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn truncate_regular(path: &Path) -> Result<(), BootstrapError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        fs::write(path, b"").map_err(|source| BootstrapError::Trim {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_removes_caches_dev_docs_and_keeps_structure() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        let put = |rel: &str, text: &str| {
            let path = r.join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        };
        put("dev/null-stand-in", "");
        std::os::unix::fs::symlink("/proc/self/fd", r.join("dev/fd")).expect("symlink");
        put("var/cache/apt/archives/python3.deb", "deb");
        put("var/cache/apt/archives/partial/x.deb", "deb");
        put("var/cache/apt/pkgcache.bin", "bin");
        put("var/lib/apt/lists/deb.debian.org_Packages", "p");
        put("var/lib/apt/lists/partial/y", "p");
        put("var/log/apt/history.log", "log");
        put("var/log/dpkg.log", "log");
        put("tmp/junk", "x");
        put("usr/share/doc/git/copyright", "c");
        put("usr/share/doc/git/README.md", "r");
        put("usr/share/doc/gcc/changelog.gz", "r");
        put("usr/share/man/man1/git.1.gz", "m");
        put("usr/share/locale/de/LC_MESSAGES/git.mo", "m");
        put("usr/share/locale/locale.alias", "a");
        put("etc/resolv.conf", "nameserver 10.0.0.1\n");
        put("etc/hostname", "vm\n");
        put("usr/bin/python3", "#!");
        // A symlinked doc dir must be removed as a link, never followed.
        let outside = tempfile::tempdir().expect("tempdir");
        fs::write(outside.path().join("precious"), "keep").expect("write");
        std::os::unix::fs::symlink(outside.path(), r.join("usr/share/doc/linked"))
            .expect("symlink");

        let removed = trim_rootfs(r).expect("trim");
        assert!(removed >= 14, "{removed}");
        let exists = |rel: &str| fs::symlink_metadata(r.join(rel)).is_ok();
        for gone in [
            "dev/null-stand-in",
            "dev/fd",
            "var/cache/apt/archives/python3.deb",
            "var/cache/apt/archives/partial/x.deb",
            "var/cache/apt/pkgcache.bin",
            "var/lib/apt/lists/deb.debian.org_Packages",
            "var/lib/apt/lists/partial/y",
            "var/log/apt/history.log",
            "var/log/dpkg.log",
            "tmp/junk",
            "usr/share/doc/git/README.md",
            "usr/share/doc/gcc",
            "usr/share/doc/linked",
            "usr/share/man/man1",
            "usr/share/locale/de",
        ] {
            assert!(!exists(gone), "{gone} should be gone");
        }
        for kept in [
            "dev",
            "var/cache/apt/archives/partial",
            "var/lib/apt/lists/partial",
            "var/log/apt",
            "tmp",
            "usr/share/doc/git/copyright",
            "usr/share/locale/locale.alias",
            "usr/bin/python3",
            DPKG_SLIM_CONFIG,
        ] {
            assert!(exists(kept), "{kept} should be kept");
        }
        assert_eq!(
            fs::read_to_string(r.join("etc/resolv.conf")).expect("read"),
            ""
        );
        assert_eq!(
            fs::read_to_string(r.join("etc/hostname")).expect("read"),
            ""
        );
        assert_eq!(
            fs::read_to_string(outside.path().join("precious")).expect("read"),
            "keep"
        );
    }
}
