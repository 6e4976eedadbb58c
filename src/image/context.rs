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

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Repository prefix of every image harnessgym builds: `harnessgym/<name>:<tag>`.
pub const REPOSITORY_PREFIX: &str = "harnessgym";
/// Tag of the stable alias every built image also gets.
pub const LATEST_TAG: &str = "latest";
/// Number of hex digits of the content hash used in tags.
pub const SHORT_HASH_LEN: usize = 12;
/// File name of the Dockerfile inside an image directory.
pub const DOCKERFILE: &str = "Dockerfile";

/// Version tag mixed into the hash; bump it when the hashed encoding changes.
const HASH_DOMAIN: &[u8] = b"harnessgym-context-v1";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The `images/` directory could not be listed.
    #[error("failed to list the images directory {}", path.display())]
    ListImages {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An image directory has a name Docker does not accept as a repository component.
    #[error(
        "image directory {} has an invalid name: use lowercase letters, digits and `.`, `_`, `-` between them",
        path.display()
    )]
    InvalidImageName {
        /// The directory.
        path: PathBuf,
    },
    /// A context directory could not be walked (read_dir or metadata failed).
    #[error("failed to walk the build context at {}", path.display())]
    Walk {
        /// The path being read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path in the context is not valid UTF-8.
    #[error("build context path {} is not valid UTF-8", path.display())]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    /// A context entry is neither a file, a directory nor a symlink.
    #[error("build context entry {} is not a file, directory or symlink", path.display())]
    UnsupportedEntry {
        /// The path.
        path: PathBuf,
    },
    /// A context file could not be read (or changed size while it was read).
    #[error("failed to read build context file {}", path.display())]
    ReadFile {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the tar stream failed.
    #[error("failed to write the build context tar")]
    WriteTar {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The Dockerfile could not be read.
    #[error("failed to read {}", path.display())]
    ReadDockerfile {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The Dockerfile has no `FROM` instruction.
    #[error("the Dockerfile has no FROM instruction")]
    NoFrom,
    /// An instruction other than `ARG` comes before the first `FROM`.
    #[error("line {line}: `{instruction}` comes before the first FROM (only ARG may)")]
    InstructionBeforeFrom {
        /// 1-based line number.
        line: usize,
        /// The instruction keyword.
        instruction: String,
    },
    /// A line of the Dockerfile header could not be parsed.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The `FROM` image expands to an empty name.
    #[error("line {line}: the FROM image `{raw}` expands to an empty name")]
    EmptyBaseImage {
        /// 1-based line number.
        line: usize,
        /// The raw `FROM` argument.
        raw: String,
    },
}

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

/// What a context entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file of this many bytes.
    File {
        /// Size in bytes when listed.
        len: u64,
    },
    /// A symbolic link (stored as a link, never followed).
    Symlink {
        /// The link target, as written in the link.
        target: String,
    },
}

/// One entry of a build context, as it goes into the tar and the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated, no leading `./`.
    pub path: String,
    /// The entry kind.
    pub kind: EntryKind,
    /// The normalised mode (`0o755`, `0o644` or `0o777` for links).
    pub mode: u32,
}

/// List a context directory recursively, sorted by path (byte order), symlinks not followed.
pub fn list_context(dir: &Path) -> Result<Vec<ContextEntry>, ContextError> {
    let mut entries = Vec::new();
    walk(dir, "", &mut entries)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<ContextEntry>) -> Result<(), ContextError> {
    let walk_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ContextError::Walk { path, source }
    };
    for entry in fs::read_dir(dir).map_err(walk_err(dir))? {
        let entry = entry.map_err(walk_err(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(ContextError::NonUtf8Path { path });
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(walk_err(&path))?;
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(&path).map_err(walk_err(&path))?;
            let Some(target) = target.to_str().map(str::to_owned) else {
                return Err(ContextError::NonUtf8Path { path });
            };
            out.push(ContextEntry {
                path: rel,
                kind: EntryKind::Symlink { target },
                mode: 0o777,
            });
        } else if file_type.is_dir() {
            out.push(ContextEntry {
                path: rel.clone(),
                kind: EntryKind::Dir,
                mode: 0o755,
            });
            walk(&path, &rel, out)?;
        } else if file_type.is_file() {
            use std::os::unix::fs::PermissionsExt as _;
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push(ContextEntry {
                path: rel,
                kind: EntryKind::File { len: meta.len() },
                mode: if executable { 0o755 } else { 0o644 },
            });
        } else {
            return Err(ContextError::UnsupportedEntry { path });
        }
    }
    Ok(())
}

/// Write the context directory `dir` as a deterministic tar into `out` and return the writer.
///
/// Same content (paths, kinds, executable bits, bytes, link targets) → same bytes. A file that
/// changes size while it is packed is an error rather than a corrupt archive.
pub fn write_context_tar<W: Write>(dir: &Path, out: W) -> Result<W, ContextError> {
    let entries = list_context(dir)?;
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let write_err = |source| ContextError::WriteTar { source };
    for entry in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(entry.mode);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{}/", entry.path), io::empty())
                    .map_err(write_err)?;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.path, target)
                    .map_err(write_err)?;
            }
            EntryKind::File { len } => {
                let path = dir.join(&entry.path);
                let read_err = |source| ContextError::ReadFile {
                    path: path.clone(),
                    source,
                };
                let file = fs::File::open(&path).map_err(read_err)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(*len);
                let mut reader = ExactReader::new(file, *len);
                let result = builder.append_data(&mut header, &entry.path, &mut reader);
                if let Some(source) = reader.error.take() {
                    return Err(read_err(source));
                }
                result.map_err(write_err)?;
            }
        }
    }
    builder.into_inner().map_err(write_err)
}

/// Pack the context directory `dir` into memory (contexts are small: Dockerfiles and scripts).
pub fn context_tar_bytes(dir: &Path) -> Result<Vec<u8>, ContextError> {
    write_context_tar(dir, Vec::new())
}

/// Reads exactly `len` bytes; remembers a read error or a short file so the caller can report it
/// as a read failure instead of a tar failure.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
    error: Option<io::Error>,
}

impl<R: Read> ExactReader<R> {
    fn new(inner: R, len: u64) -> Self {
        Self {
            inner,
            remaining: len,
            error: None,
        }
    }

    fn fail(&mut self, err: io::Error) -> io::Error {
        let copy = io::Error::new(err.kind(), err.to_string());
        self.error = Some(err);
        copy
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match self.inner.read(&mut buf[..want]) {
            Ok(0) => Err(self.fail(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was packed",
            ))),
            Ok(n) => {
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => Err(self.fail(err)),
        }
    }
}

/// A SHA-256 content hash of a build context, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextHash(String);

impl ContextHash {
    /// The full 64-digit hex digest.
    pub fn full(&self) -> &str {
        &self.0
    }

    /// The first [`SHORT_HASH_LEN`] digits, used as the image tag.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_HASH_LEN]
    }
}

impl std::fmt::Display for ContextHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hash a build context: every entry's path, kind, normalised mode and content (or link
/// target), then the build args (sorted by key), then the base image ID if given.
///
/// Pass `base_image_id` (the local ID of the resolved `FROM` image) whenever the base is local,
/// e.g. `harnessgym/base:latest` for the agent images, so a rebuilt parent changes the child's tag.
pub fn context_hash(
    dir: &Path,
    build_args: &BTreeMap<String, String>,
    base_image_id: Option<&str>,
) -> Result<ContextHash, ContextError> {
    let entries = list_context(dir)?;
    let mut hasher = Sha256::new();
    field(&mut hasher, HASH_DOMAIN);
    for entry in &entries {
        match &entry.kind {
            EntryKind::Dir => field(&mut hasher, b"D"),
            EntryKind::File { .. } => field(&mut hasher, b"F"),
            EntryKind::Symlink { .. } => field(&mut hasher, b"L"),
        }
        field(&mut hasher, entry.path.as_bytes());
        field(&mut hasher, format!("{:o}", entry.mode).as_bytes());
        match &entry.kind {
            EntryKind::Dir => {}
            EntryKind::Symlink { target } => field(&mut hasher, target.as_bytes()),
            EntryKind::File { len } => {
                let path = dir.join(&entry.path);
                let read_err = |source| ContextError::ReadFile {
                    path: path.clone(),
                    source,
                };
                let file = fs::File::open(&path).map_err(read_err)?;
                hasher.update(len.to_le_bytes());
                let mut reader = ExactReader::new(file, *len);
                let copied = io::copy(&mut reader, &mut HashWriter(&mut hasher));
                if let Some(source) = reader.error.take() {
                    return Err(read_err(source));
                }
                copied.map_err(read_err)?;
            }
        }
    }
    field(&mut hasher, b"ARGS");
    hasher.update((build_args.len() as u64).to_le_bytes());
    for (key, value) in build_args {
        field(&mut hasher, key.as_bytes());
        field(&mut hasher, value.as_bytes());
    }
    match base_image_id {
        Some(id) => {
            field(&mut hasher, b"BASE");
            field(&mut hasher, id.as_bytes());
        }
        None => field(&mut hasher, b"NOBASE"),
    }
    Ok(ContextHash(hex(&hasher.finalize())))
}

/// Length-prefixed field, so no two different inputs encode to the same byte string.
fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
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

/// An `ARG` declared before the first `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The variable name.
    pub name: String,
    /// Its default, already unquoted and expanded against the earlier ARGs; `None` for `ARG X`.
    pub default: Option<String>,
}

/// The first `FROM` of a Dockerfile, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The effective image reference, after ARG expansion (e.g. `harnessgym/rootfs:bookworm`).
    pub image: String,
    /// The `FROM` argument as written (e.g. `${BASE_IMAGE}`).
    pub raw: String,
    /// The stage name (`AS name`), if any.
    pub stage: Option<String>,
    /// The `--platform=` flag as written, if any.
    pub platform: Option<String>,
    /// The ARGs declared before the `FROM`, with their effective values (override or default).
    pub args: Vec<ArgDecl>,
}

/// Resolve the image the first `FROM` of `dockerfile` names, with `build_args` overriding the
/// defaults of the ARGs declared before it (as Docker does; undeclared build args are ignored).
///
/// Supports `$X`, `${X}`, `${X:-word}`, `${X:+word}`, quotes, line continuations and the `escape`
/// parser directive. An ARG without default and without override expands to the empty string.
pub fn resolve_base_image(
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
) -> Result<BaseImage, ContextError> {
    let mut scope: HashMap<String, String> = HashMap::new();
    let mut args = Vec::new();
    let escape = escape_char(dockerfile);
    for (line, text) in logical_lines(dockerfile, escape) {
        let (keyword, rest) = match text.split_once(char::is_whitespace) {
            Some((k, r)) => (k, r.trim()),
            None => (text.as_str(), ""),
        };
        let syntax = |reason: String| ContextError::Syntax { line, reason };
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" => {
                let words = shell_words(rest, &scope, escape).map_err(syntax)?;
                if words.is_empty() {
                    return Err(syntax("ARG needs a name".into()));
                }
                for word in words {
                    let (name, default) = match word.split_once('=') {
                        Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
                        None => (word, None),
                    };
                    if name.is_empty() {
                        return Err(syntax("ARG with an empty name".into()));
                    }
                    let value = build_args
                        .get(&name)
                        .cloned()
                        .or_else(|| default.clone())
                        .unwrap_or_default();
                    scope.insert(name.clone(), value.clone());
                    args.push(ArgDecl {
                        name,
                        default: Some(value),
                    });
                }
            }
            "FROM" => {
                let words = shell_words(rest, &scope, escape).map_err(syntax)?;
                let mut platform = None;
                let mut positional = Vec::new();
                for word in words {
                    if positional.is_empty() && word.starts_with("--") {
                        if let Some(p) = word.strip_prefix("--platform=") {
                            platform = Some(p.to_owned());
                        }
                    } else {
                        positional.push(word);
                    }
                }
                let raw_image = rest
                    .split_whitespace()
                    .find(|w| !w.starts_with("--"))
                    .unwrap_or_default()
                    .to_owned();
                let (image, stage) = match positional.as_slice() {
                    [image] => (image.clone(), None),
                    [image, as_kw, stage] if as_kw.eq_ignore_ascii_case("as") => {
                        (image.clone(), Some(stage.clone()))
                    }
                    _ => {
                        return Err(syntax(format!(
                            "FROM takes `[--platform=P] IMAGE [AS NAME]`, got `{rest}`"
                        )));
                    }
                };
                if image.is_empty() {
                    return Err(ContextError::EmptyBaseImage {
                        line,
                        raw: raw_image,
                    });
                }
                return Ok(BaseImage {
                    image,
                    raw: raw_image,
                    stage,
                    platform,
                    args,
                });
            }
            other => {
                return Err(ContextError::InstructionBeforeFrom {
                    line,
                    instruction: other.to_owned(),
                });
            }
        }
    }
    Err(ContextError::NoFrom)
}

/// Read `dir/Dockerfile` and resolve its base image (see [`resolve_base_image`]).
pub fn resolve_base_image_of(
    image: &ImageDir,
    build_args: &BTreeMap<String, String>,
) -> Result<BaseImage, ContextError> {
    let text =
        fs::read_to_string(&image.dockerfile).map_err(|source| ContextError::ReadDockerfile {
            path: image.dockerfile.clone(),
            source,
        })?;
    resolve_base_image(&text, build_args)
}

/// The escape character from a leading `# escape=` parser directive, else `\`.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(directive) = trimmed.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "escape" {
            let value = value.trim();
            if value == "`" {
                return '`';
            }
            break;
        }
        if key != "syntax" && key != "check" {
            break;
        }
    }
    '\\'
}

/// Join continuation lines and drop comments and blank lines; yields (first line number, text).
fn logical_lines(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_some()) {
            continue; // comments (also inside continuations) and blank continuation lines
        }
        if trimmed.is_empty() {
            continue;
        }
        // Like Docker: the escape and the newline vanish, the next line is appended as written.
        let body = raw.trim_end();
        let (body, continues) = match body.strip_suffix(escape) {
            Some(b) => (b, true),
            None => (body, false),
        };
        let (start, mut acc) = current.take().unwrap_or((line_no, String::new()));
        acc.push_str(body);
        if continues {
            current = Some((start, acc));
        } else {
            out.push((start, acc.trim().to_owned()));
        }
    }
    if let Some((start, acc)) = current {
        out.push((start, acc.trim().to_owned()));
    }
    out
}

/// Split `input` into words like the Dockerfile shell lexer: whitespace separates words, quotes
/// group and are removed, `$VAR`/`${VAR}`/`${VAR:-w}`/`${VAR:+w}` expand outside single quotes.
fn shell_words(
    input: &str,
    scope: &HashMap<String, String>,
    escape: char,
) -> Result<Vec<String>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    word.push(c);
                }
                i += 1;
            }
            Some(_) => {
                if c == '"' {
                    quote = None;
                    i += 1;
                } else if c == escape
                    && chars
                        .get(i + 1)
                        .is_some_and(|&n| n == '"' || n == '$' || n == escape)
                {
                    word.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_var(&chars, i, scope, escape, &mut word)?;
                } else {
                    word.push(c);
                    i += 1;
                }
            }
            None => {
                if c.is_whitespace() {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    i += 1;
                    continue;
                }
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    word.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_var(&chars, i, scope, escape, &mut word)?;
                } else {
                    word.push(c);
                    i += 1;
                }
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Expand the variable starting at `chars[start] == '$'`; returns the index after it.
fn expand_var(
    chars: &[char],
    start: usize,
    scope: &HashMap<String, String>,
    escape: char,
    out: &mut String,
) -> Result<usize, String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = start + 1;
    if i < chars.len() && chars[i] == '{' {
        let close = chars[i..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| i + p)
            .ok_or_else(|| "missing `}` in variable reference".to_owned())?;
        let inner: String = chars[i + 1..close].iter().collect();
        let name_len = inner.chars().take_while(|&c| is_name(c)).count();
        let (name, modifier) = inner.split_at(name_len);
        if name.is_empty() {
            return Err(format!("bad variable reference `${{{inner}}}`"));
        }
        let value = scope.get(name).map(String::as_str).unwrap_or("");
        if modifier.is_empty() {
            out.push_str(value);
        } else if let Some(word) = modifier.strip_prefix(":-") {
            if value.is_empty() {
                out.push_str(&expand_word(word, scope, escape)?);
            } else {
                out.push_str(value);
            }
        } else if let Some(word) = modifier.strip_prefix(":+") {
            if !value.is_empty() {
                out.push_str(&expand_word(word, scope, escape)?);
            }
        } else {
            return Err(format!(
                "unsupported variable modifier in `${{{inner}}}` (only :- and :+)"
            ));
        }
        return Ok(close + 1);
    }
    let name: String = chars[i..].iter().take_while(|&&c| is_name(c)).collect();
    if name.is_empty() {
        out.push('$');
        return Ok(i);
    }
    i += name.chars().count();
    out.push_str(scope.get(&name).map(String::as_str).unwrap_or(""));
    Ok(i)
}

/// Expand the `word` of `${X:-word}`: variables expand, the result is one word.
fn expand_word(
    word: &str,
    scope: &HashMap<String, String>,
    escape: char,
) -> Result<String, String> {
    Ok(shell_words(word, scope, escape)?.join(" "))
}

#[cfg(test)]
mod tests;
