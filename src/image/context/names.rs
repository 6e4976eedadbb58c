//! Image names and tags: which directory names Docker accepts, the `harnessgym/<name>`
//! repository, the content and `latest` tags of a built image, and recognising our own images in
//! a `FROM` reference.

use super::hash::ContextHash;

/// Repository prefix of every image harnessgym builds: `harnessgym/<name>:<tag>`.
pub const REPOSITORY_PREFIX: &str = "harnessgym";
/// Tag of the stable alias every built image also gets.
pub const LATEST_TAG: &str = "latest";

/// Whether `name` is a valid Docker repository path component (`[a-z0-9]+` joined by `.`, `_`,
/// `__` or runs of `-`).
pub fn is_valid_image_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// The two tags of a built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTags {
    /// `harnessgym/<name>:<hash12>`: identifies the content; present means "up to date".
    pub content: String,
    /// `harnessgym/<name>:latest`: the stable alias other images and the runner use.
    pub latest: String,
}

/// The repository of an image: `harnessgym/<name>`.
pub fn repository(name: &str) -> String {
    format!("{REPOSITORY_PREFIX}/{name}")
}

/// The tags for image `name` with content hash `hash`.
pub fn image_tags(name: &str, hash: &ContextHash) -> ImageTags {
    let repo = repository(name);
    ImageTags {
        content: format!("{repo}:{}", hash.short()),
        latest: format!("{repo}:{LATEST_TAG}"),
    }
}

/// If `image` is one of ours (`harnessgym/<name>[:tag]`), the `<name>`; used to order builds
/// (an image whose base is `harnessgym/base:latest` is built after `base`).
pub fn local_image_name(image: &str) -> Option<&str> {
    let rest = image.strip_prefix(REPOSITORY_PREFIX)?.strip_prefix('/')?;
    let name = rest.split_once('@').map_or(rest, |(n, _)| n);
    let name = name.split_once(':').map_or(name, |(n, _)| n);
    is_valid_image_name(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_name_rules() {
        for ok in [
            "base",
            "codex",
            "claude-code",
            "a.b",
            "a_b",
            "a__b",
            "a--b",
            "x1",
        ] {
            assert!(is_valid_image_name(ok), "{ok}");
        }
        for bad in ["", "Base", "-a", "a-", "a..b", "a___b", "a b", "a/b", "_a"] {
            assert!(!is_valid_image_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_use_short_hash_and_latest() {
        let hash = ContextHash("0123456789abcdef".repeat(4));
        let tags = image_tags("base", &hash);
        assert_eq!(tags.content, "harnessgym/base:0123456789ab");
        assert_eq!(tags.latest, "harnessgym/base:latest");
    }

    #[test]
    fn local_image_names() {
        assert_eq!(local_image_name("harnessgym/base:latest"), Some("base"));
        assert_eq!(local_image_name("harnessgym/base"), Some("base"));
        assert_eq!(
            local_image_name("harnessgym/rootfs:bookworm"),
            Some("rootfs")
        );
        assert_eq!(local_image_name("harnessgym/base@sha256:00"), Some("base"));
        assert_eq!(local_image_name("debian:bookworm-slim"), None);
        assert_eq!(local_image_name("harnessgymx/base"), None);
        assert_eq!(local_image_name("docker.io/harnessgym/base"), None);
    }
}
