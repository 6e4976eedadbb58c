//! Finding the images: every directory under `images/` that holds a `Dockerfile` is an image
//! named after the directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::ContextError;
use super::names::is_valid_image_name;

/// File name of the Dockerfile inside an image directory.
pub const DOCKERFILE: &str = "Dockerfile";

/// One image found under `images/`: `images/<name>/Dockerfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDir {
    /// The image name (the directory name), e.g. `base`.
    pub name: String,
    /// The build context directory.
    pub dir: PathBuf,
    /// `dir/Dockerfile`.
    pub dockerfile: PathBuf,
}

/// Find the images under `images_dir`, sorted by name.
///
/// Hidden directories and directories without a `Dockerfile` are skipped; a directory with a
/// `Dockerfile` whose name is not a valid repository component is an error.
pub fn discover_images(images_dir: &Path) -> Result<Vec<ImageDir>, ContextError> {
    let list_err = |source| ContextError::ListImages {
        path: images_dir.to_path_buf(),
        source,
    };
    let mut images = Vec::new();
    for entry in fs::read_dir(images_dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        let dir = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::debug!("skipping non-UTF-8 entry {}", dir.display());
            continue;
        };
        if name.starts_with('.') || !entry.file_type().map_err(list_err)?.is_dir() {
            continue;
        }
        let dockerfile = dir.join(DOCKERFILE);
        if !dockerfile.is_file() {
            tracing::debug!("skipping {}: no {DOCKERFILE}", dir.display());
            continue;
        }
        if !is_valid_image_name(&name) {
            return Err(ContextError::InvalidImageName { path: dir });
        }
        images.push(ImageDir {
            name,
            dir,
            dockerfile,
        });
    }
    images.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::context::test_support::write;

    #[test]
    fn discovers_images_sorted_and_skips_dirs_without_dockerfile() {
        let root = tempfile::tempdir().expect("tempdir");
        write(&root.path().join("codex/Dockerfile"), "FROM x\n");
        write(&root.path().join("base/Dockerfile"), "FROM y\n");
        write(&root.path().join("notes/README.md"), "no dockerfile\n");
        write(&root.path().join(".hidden/Dockerfile"), "FROM z\n");
        write(&root.path().join("file-at-top"), "x");
        let images = discover_images(root.path()).expect("discover");
        let names: Vec<_> = images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["base", "codex"]);
        assert_eq!(images[0].dockerfile, root.path().join("base/Dockerfile"));
    }

    #[test]
    fn invalid_image_directory_name_is_an_error() {
        let root = tempfile::tempdir().expect("tempdir");
        write(&root.path().join("Base/Dockerfile"), "FROM x\n");
        let err = discover_images(root.path()).expect_err("uppercase name");
        assert!(
            matches!(err, ContextError::InvalidImageName { .. }),
            "{err}"
        );
    }
}
