//! Packing the tree for the engine: the tar stream `docker import` reads, the `changes` applied on
//! import, and the image reference the result is tagged with.

use std::io::Write;
use std::path::Path;

use super::error::BootstrapError;
use super::plan::Plan;

/// The image reference of the bootstrapped root filesystem for `suite`.
pub fn rootfs_image(suite: &str) -> String {
    format!("harnessgym/rootfs:{suite}")
}

/// The `changes` of the import (`POST /images/create?fromSrc=-&changes=…`): the rootfs role
/// label, a `PATH`, and `bash` as the default command. Do not add an owner-pid label: the
/// rootfs is a cache that outlives the process that made it.
pub fn import_changes(plan: &Plan) -> Vec<String> {
    vec![
        "LABEL dev.harnessgym.role=rootfs".to_owned(),
        format!("LABEL dev.harnessgym.rootfs.suite={}", plan.suite),
        format!("LABEL dev.harnessgym.rootfs.tool={}", plan.tool.tool.name()),
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        "CMD [\"/bin/bash\"]".to_owned(),
    ]
}

/// Pack the tree at `root` as a tar stream into `out`, for `docker import`: numeric ownership,
/// modes (setuid bits included) and mtimes preserved, symlinks stored as links (never followed:
/// `/etc/mtab -> ../proc/self/mounts` must not be resolved on the host). Hard links are stored
/// as separate files. Returns the writer.
pub fn write_rootfs_tar<W: Write>(root: &Path, out: W) -> Result<W, BootstrapError> {
    let pack_err = |source| BootstrapError::Pack {
        path: root.to_path_buf(),
        source,
    };
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Complete);
    builder.append_dir_all("", root).map_err(pack_err)?;
    builder.into_inner().map_err(pack_err)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::image::bootstrap::{Tool, test_support::plan};

    #[test]
    fn rootfs_tar_keeps_links_and_modes_without_following() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        fs::create_dir_all(r.join("usr/bin")).expect("mkdir");
        fs::create_dir_all(r.join("etc")).expect("mkdir");
        fs::write(r.join("usr/bin/passwd"), "bin").expect("write");
        fs::set_permissions(r.join("usr/bin/passwd"), fs::Permissions::from_mode(0o4755))
            .expect("chmod");
        std::os::unix::fs::symlink("../proc/self/mounts", r.join("etc/mtab")).expect("symlink");
        std::os::unix::fs::symlink("usr/bin", r.join("bin")).expect("symlink");
        let bytes = write_rootfs_tar(r, Vec::new()).expect("pack");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = std::collections::BTreeMap::new();
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().expect("mode") & 0o7777;
            let link = entry
                .link_name()
                .expect("link")
                .map(|l| l.to_string_lossy().into_owned());
            seen.insert(path, (kind, mode, link));
        }
        assert_eq!(
            seen.get("etc/mtab"),
            Some(&(
                tar::EntryType::Symlink,
                0o777,
                Some("../proc/self/mounts".to_owned())
            ))
        );
        assert_eq!(seen.get("bin").map(|e| e.0), Some(tar::EntryType::Symlink));
        assert_eq!(seen.get("usr/bin/passwd").map(|e| e.1), Some(0o4755));
        assert!(
            !seen.keys().any(|k| k.starts_with("bin/")),
            "symlinked dir not followed"
        );
    }

    #[test]
    fn import_changes_label_the_rootfs_without_owner() {
        let changes = import_changes(&plan(Tool::Debootstrap, None));
        assert!(changes.contains(&"LABEL dev.harnessgym.role=rootfs".to_owned()));
        assert!(!changes.iter().any(|c| c.contains("owner-pid")));
        assert_eq!(rootfs_image("bookworm"), "harnessgym/rootfs:bookworm");
    }
}
