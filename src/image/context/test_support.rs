//! Fixtures shared by the build-context unit tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Build args from `(key, value)` pairs.
pub(super) fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Write `text` to `path`, creating its parent directories.
pub(super) fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

/// Set the permission bits of `path`.
pub(super) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A small context: a Dockerfile, an executable script, a plain file and a symlink.
pub(super) fn sample_context(dir: &Path) {
    write(&dir.join("Dockerfile"), "FROM debian:bookworm-slim\n");
    write(&dir.join("scripts/setup.sh"), "#!/bin/sh\necho hi\n");
    set_mode(&dir.join("scripts/setup.sh"), 0o755);
    write(&dir.join("a.txt"), "a");
    std::os::unix::fs::symlink("scripts/setup.sh", dir.join("link")).expect("symlink");
}
