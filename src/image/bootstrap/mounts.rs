//! Mounts inside the tree: list the mount points under a directory from
//! `/proc/self/mountinfo`, and detach leftovers (the tool may leave `proc`/`sys`/`dev` mounted
//! when it is killed) before anything is deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The mount points at or under `root` in `/proc/self/mountinfo` text, deepest first.
pub fn mounts_under(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mountinfo(field)))
        .filter(|point| point.starts_with(root))
        .collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts.dedup();
    mounts
}

/// Undo mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn current_mounts_under(root: &Path) -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .map(|text| mounts_under(&text, root))
        .unwrap_or_default()
}

/// Detach every mount under `root`; true when none remain.
pub(super) fn release_mounts(root: &Path) -> bool {
    for point in current_mounts_under(root) {
        tracing::warn!("detaching leftover mount {}", point.display());
        lazy_unmount(&point);
    }
    current_mounts_under(root).is_empty()
}

#[expect(unsafe_code, reason = "umount2(2) has no safe std wrapper")]
fn lazy_unmount(point: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c_path) = std::ffi::CString::new(point.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) };
    if rc != 0 {
        tracing::warn!(
            "failed to detach {}: {}",
            point.display(),
            io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_under_root_deepest_first_with_escapes() {
        let info = "\
22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
30 22 0:5 / /var/tmp/hg-rootfs-a/proc rw - proc proc rw
31 22 0:6 / /var/tmp/hg-rootfs-a/dev rw - devtmpfs udev rw
32 31 0:7 / /var/tmp/hg-rootfs-a/dev/pts rw - devpts devpts rw
33 22 0:8 / /var/tmp/hg-rootfs-ab/proc rw - proc proc rw
34 22 0:9 / /var/tmp/with\\040space/sys rw - sysfs sysfs rw
";
        let root = Path::new("/var/tmp/hg-rootfs-a");
        assert_eq!(
            mounts_under(info, root),
            [
                PathBuf::from("/var/tmp/hg-rootfs-a/dev/pts"),
                PathBuf::from("/var/tmp/hg-rootfs-a/proc"),
                PathBuf::from("/var/tmp/hg-rootfs-a/dev"),
            ]
        );
        assert_eq!(
            mounts_under(info, Path::new("/var/tmp/with space")),
            [PathBuf::from("/var/tmp/with space/sys")]
        );
        assert!(mounts_under(info, Path::new("/nowhere")).is_empty());
    }
}
