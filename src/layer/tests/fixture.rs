//! Helpers shared by the layer tests: a seeded PRNG, tree copies and comparable tree snapshots,
//! and hand-made tar entries (for hostile layers).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes, Permissions};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime};

use tar::{Builder, EntryType, Header};

use crate::layer::manifest::RACY_WINDOW;
use crate::layer::{LayerEntry, LayerOptions, LayerStats, Manifest, write_layer};

pub(super) type TestResult = Result<(), Box<dyn Error>>;
pub(super) type Fallible<T> = Result<T, Box<dyn Error>>;

/// splitmix64: tiny, seeded, good enough to pick test operations.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `true` with probability `percent`/100.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(super) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Sleeps past the racy window, so files written before count as settled in the next walk.
pub(super) fn settle() {
    std::thread::sleep(RACY_WINDOW + Duration::from_millis(30));
}

/// `root/rel` for a byte path.
pub(super) fn at(root: &Path, rel: &[u8]) -> std::path::PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

/// Writes a layer of `root` since `before` under the prefix `workspace`.
pub(super) fn layer(root: &Path, before: &Manifest) -> Fallible<(Vec<u8>, LayerStats)> {
    let mut out = Vec::new();
    let opts = LayerOptions {
        prefix: b"workspace".to_vec(),
        max_bytes: None,
        full: false,
    };
    let stats = write_layer(root, before, &opts, &mut out)?;
    Ok((out, stats))
}

/// `(kind, path)` of each entry, paths lossily decoded: compact assertions.
pub(super) fn listing(entries: &[LayerEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                format!("{:?}", e.kind),
                String::from_utf8_lossy(&e.path).into_owned(),
            )
        })
        .collect()
}

/// One entry of a comparable tree snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shape {
    Dir {
        mode: u32,
        mtime: i64,
    },
    File {
        mode: u32,
        mtime: i64,
        content: Vec<u8>,
    },
    Symlink {
        target: Vec<u8>,
    },
}

/// uid and gid.
pub(super) type Owner = (u32, u32);

/// One hand-made tar entry: name, type, link target, data.
pub(super) type RawEntry<'a> = (&'a [u8], EntryType, &'a [u8], &'a [u8]);

/// A tree as the comparison sees it: shapes (with owners when `owners`), and the groups of
/// paths sharing an inode. Sockets and other specials are left out.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Tree {
    pub(super) entries: BTreeMap<Vec<u8>, (Shape, Option<Owner>)>,
    pub(super) links: BTreeSet<BTreeSet<Vec<u8>>>,
}

pub(super) fn snapshot(root: &Path, owners: bool) -> Fallible<Tree> {
    let mut entries = BTreeMap::new();
    let mut inodes: BTreeMap<u64, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut stack = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let path = at(root, &rel);
        let meta = fs::symlink_metadata(&path)?;
        let mode = meta.mode() & 0o7777;
        let shape = if meta.is_dir() {
            for child in fs::read_dir(&path)? {
                let name = child?.file_name().into_vec();
                stack.push(crate::layer::names::join(&rel, &name));
            }
            Shape::Dir {
                mode,
                mtime: meta.mtime(),
            }
        } else if meta.is_file() {
            if meta.nlink() > 1 {
                inodes.entry(meta.ino()).or_default().insert(rel.clone());
            }
            let mut content = Vec::new();
            File::open(&path)?.read_to_end(&mut content)?;
            Shape::File {
                mode,
                mtime: meta.mtime(),
                content,
            }
        } else if meta.file_type().is_symlink() {
            Shape::Symlink {
                target: fs::read_link(&path)?.into_os_string().into_vec(),
            }
        } else {
            continue;
        };
        let owner = owners.then(|| (meta.uid(), meta.gid()));
        entries.insert(rel, (shape, owner));
    }
    let links = inodes.into_values().filter(|g| g.len() > 1).collect();
    Ok(Tree { entries, links })
}

/// Copies a tree (no hard links in it), keeping modes, symlink targets, owners (as root) and
/// mtimes to the nanosecond; directories get theirs after their contents.
pub(super) fn copy_tree(src: &Path, dst: &Path, as_root: bool) -> TestResult {
    let meta = fs::symlink_metadata(src)?;
    if meta.file_type().is_symlink() {
        symlink(fs::read_link(src)?, dst)?;
        if as_root {
            std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
        }
        return Ok(());
    }
    if meta.is_dir() {
        if !dst.exists() {
            fs::create_dir(dst)?;
        }
        for child in fs::read_dir(src)? {
            let name = child?.file_name();
            copy_tree(&src.join(&name), &dst.join(&name), as_root)?;
        }
    } else {
        fs::copy(src, dst)?;
    }
    if as_root {
        std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    }
    let handle = File::open(dst)?;
    handle.set_times(
        FileTimes::new()
            .set_modified(meta.modified()?)
            .set_accessed(SystemTime::now()),
    )?;
    handle.set_permissions(Permissions::from_mode(meta.mode() & 0o7777))?;
    Ok(())
}

/// Appends an entry with a raw name and link (no checks, no normalisation): hostile layers.
pub(super) fn raw_entry(
    builder: &mut Builder<Vec<u8>>,
    name: &[u8],
    kind: EntryType,
    link: &[u8],
    data: &[u8],
) -> TestResult {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_size(data.len() as u64);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    if let Some(gnu) = header.as_gnu_mut() {
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
    }
    header.set_cksum();
    builder.append(&header, data)?;
    Ok(())
}

/// A layer tar from `(name, kind, link, data)` entries, with its trailer.
pub(super) fn raw_layer(entries: &[RawEntry<'_>]) -> Fallible<Vec<u8>> {
    let mut builder = Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        raw_entry(&mut builder, name, *kind, link, data)?;
    }
    Ok(builder.into_inner()?)
}
