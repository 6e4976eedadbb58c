//! The offline base: build a Debian root filesystem on the host from Debian packages, for when no
//! registry is reachable and `debian:bookworm-slim` cannot be pulled.
//!
//! [`bootstrap`] finds `debootstrap` or `mmdebstrap` (installing `debootstrap` with apt-get when
//! neither exists and we are root), detects the host's Debian mirror, runs the tool into a fresh
//! temporary directory with [`BASE_PACKAGES`], streams its progress to `tracing`, then trims the
//! tree ([`trim_rootfs`]). It returns a [`Rootfs`] handle; the caller packs it with
//! [`write_rootfs_tar`] and imports the stream through the Docker API (`POST /images/create?fromSrc=-`
//! with [`import_changes`]), then drops the handle, which removes the directory.
//!
//! The tree holds every package the `base` Dockerfile needs, so building `base` on top of it needs
//! no network. Keep [`BASE_PACKAGES`] and the list in `images/base/Dockerfile` the same.
//!
//! Safety: the tool may leave `proc`/`sys`/`dev` mounted inside the target when it is killed.
//! Nothing here deletes under a mount point: mounts are detached first and, if any remain, the
//! directory is left on disk (and logged) rather than deleted through it.

mod error;
mod mirror;
mod mounts;
mod pack;
mod plan;
mod process;
mod rootfs;
#[cfg(test)]
mod test_support;
mod tool;
mod trim;

pub use error::BootstrapError;
pub use mirror::{DEFAULT_MIRROR, detect_mirror, mirror_from_deb822, mirror_from_one_line};
pub use mounts::mounts_under;
pub use pack::{import_changes, rootfs_image, write_rootfs_tar};
pub use plan::{
    BASE_PACKAGES, BootstrapOptions, DEBIAN_KEYRING, DEFAULT_SUITE, Plan, VARIANT, command_line,
};
pub use rootfs::{Rootfs, bootstrap};
pub use tool::{
    FoundTool, INSTALL_PACKAGES, SBIN_DIRS, Tool, ensure_tool, euid_from_status, find_tool,
    install_command_lines, install_hint, is_root,
};
pub use trim::{DPKG_SLIM_CONFIG, trim_rootfs};
