//! Image build contexts: find the images under `images/`, pack a context directory as a
//! deterministic tar, hash it for the image tag, and resolve the `FROM` image of its Dockerfile.
//!
//! Everything here is pure host-side logic (no Docker): the builder streams [`write_context_tar`]
//! to the engine and tags the result with [`image_tags`].
//!
//! Determinism: entries are sorted by path, mtimes/uids/gids are zero, owner names are empty and
//! modes are normalised (`0755` for directories and for files with any execute bit, `0644` for
//! other files), so the same content gives the same bytes on every checkout whatever the umask.
//! The hash covers exactly what the tar carries (paths, entry kinds, normalised modes, contents,
//! link targets) plus the build args and, when the caller has it, the ID of the local base image,
//! so an image is rebuilt when its parent was rebuilt even if its own directory did not change.
//! `.dockerignore` is not applied: an image directory holds only what its build needs.

mod archive;
mod discover;
mod dockerfile;
mod error;
mod exact_reader;
mod hash;
mod list;
mod names;
mod shell;
#[cfg(test)]
mod test_support;

pub use archive::{
    ExtraFile, ExtraSource, context_tar_bytes, write_context_tar, write_context_tar_with,
};
pub use discover::{DOCKERFILE, ImageDir, discover_images};
pub use dockerfile::{ArgDecl, BaseImage, resolve_base_image, resolve_base_image_of};
pub use error::ContextError;
pub use hash::{ContextHash, SHORT_HASH_LEN, context_hash};
pub use list::{ContextEntry, EntryKind, list_context};
pub use names::{
    ImageTags, LATEST_TAG, REPOSITORY_PREFIX, image_tags, is_valid_image_name, local_image_name,
    repository,
};
