//! The model test: random trees, random changes, and for each seed
//!
//! - the layer, applied to an untouched copy of the tree, gives the changed tree back (kinds,
//!   contents, modes, mtimes, symlink targets, owners when root, hard-link groups);
//! - the layer lists exactly what changed: the files and symlinks the changes touched (every
//!   path of a touched inode included), one whiteout per topmost deleted path, opaque markers
//!   where no old name remains, and the directories above all of those;
//! - writing it twice gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::fixture::{Fallible, TestResult, at, copy_tree, layer, settle, snapshot};
use super::world::World;
use crate::layer::names::{join, split_last};
use crate::layer::perm::running_as_root;
use crate::layer::{EntryKind, Kind, LayerEntry, Manifest, apply_layer, read_layer};

const SEEDS: u64 = 40;

#[test]
fn layers_carry_random_changes_exactly() -> TestResult {
    let base = tempfile::tempdir()?;
    let as_root = running_as_root();
    let mut cases = Vec::new();
    for seed in 0..SEEDS {
        let (src, copy) = (
            base.path().join(format!("src-{seed}")),
            base.path().join(format!("copy-{seed}")),
        );
        fs::create_dir(&src)?;
        let mut world = World::new(seed, &src, as_root);
        world.build(b"", 0)?;
        copy_tree(&src, &copy, as_root)?;
        cases.push((world, copy));
    }
    // One wait for all seeds: the trees must be older than the racy window when walked.
    settle();
    for (world, copy) in cases {
        let seed = format!("{:?}", world.root);
        check(world, &copy).map_err(|e| format!("{seed}: {e}"))?;
    }
    Ok(())
}

fn check(mut world: World, copy: &Path) -> TestResult {
    let root = world.root.clone();
    let before_kinds = kinds(&root)?;
    let manifest = Manifest::from_bytes(&Manifest::walk(&root)?.to_bytes())?;
    for _ in 0..4 + world.rng.below(20) {
        world.mutate()?;
    }
    let (tar, stats) = layer(&root, &manifest)?;
    let (again, _) = layer(&root, &manifest)?;
    assert!(tar == again, "the same tree gave two different layers");
    let entries = read_layer(&tar[..], b"workspace")?;
    assert_eq!(stats.entries(), entries.len() as u64, "{stats:?}");
    let expected = Expected::new(&world, &before_kinds, &kinds(&root)?);
    expected.assert_matches(&entries)?;
    apply_layer(&tar[..], copy, b"workspace")?;
    let (want, got) = (
        snapshot(&root, world.as_root)?,
        snapshot(copy, world.as_root)?,
    );
    if want != got {
        let diff: Vec<_> = want
            .entries
            .iter()
            .filter(|(path, shape)| got.entries.get(*path) != Some(*shape))
            .map(|(path, _)| String::from_utf8_lossy(path).into_owned())
            .chain(
                got.entries
                    .keys()
                    .filter(|path| !want.entries.contains_key(*path))
                    .map(|path| format!("extra {}", String::from_utf8_lossy(path))),
            )
            .collect();
        return Err(format!(
            "applied copy differs at {diff:?}; links {:?} vs {:?}",
            want.links, got.links
        )
        .into());
    }
    Ok(())
}

/// Every path under `root` with its kind and inode (an independent walk, not the manifest's).
fn kinds(root: &Path) -> Fallible<BTreeMap<Vec<u8>, (Kind, u64)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let meta = fs::symlink_metadata(at(root, &rel))?;
        let kind = if meta.is_dir() {
            for child in fs::read_dir(at(root, &rel))? {
                stack.push(join(&rel, &child?.file_name().into_vec()));
            }
            Kind::Dir
        } else if meta.is_file() {
            Kind::File
        } else if meta.file_type().is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        out.insert(rel, (kind, meta.ino()));
    }
    Ok(out)
}

type Kinds = BTreeMap<Vec<u8>, (Kind, u64)>;

/// What the layer must list, worked out from the two walks and the changes' own records.
#[derive(Debug, Default)]
struct Expected {
    contents: BTreeSet<Vec<u8>>,
    symlinks: BTreeSet<Vec<u8>>,
    whiteouts: BTreeSet<Vec<u8>>,
    opaque: BTreeSet<Vec<u8>>,
    dirs: BTreeSet<Vec<u8>>,
}

fn children(map: &Kinds, dir: &[u8]) -> BTreeSet<Vec<u8>> {
    map.keys()
        .filter(|p| !p.is_empty() && split_last(p).0 == dir)
        .map(|p| split_last(p).1.to_vec())
        .collect()
}

fn ancestors(rel: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut at = Some(rel);
    std::iter::from_fn(move || {
        let current = at?;
        at = (!current.is_empty()).then(|| split_last(current).0);
        Some(current.to_vec())
    })
}

impl Expected {
    fn new(world: &World, before: &Kinds, after: &Kinds) -> Self {
        let is_dir = |map: &Kinds, p: &[u8]| map.get(p).is_some_and(|(k, _)| *k == Kind::Dir);
        // Directories whose contents the layer carries whole (no comparison below them).
        let mut fresh: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut out = Self::default();
        for dir in after.keys().filter(|p| is_dir(after, p)) {
            let compared = ancestors(dir).skip(1).all(|a| !fresh.contains(&a));
            if !compared {
                continue;
            }
            let opaque = match before.get(dir) {
                None => {
                    fresh.insert(dir.clone());
                    false
                }
                Some((Kind::Dir, _)) => {
                    let old = children(before, dir);
                    !old.is_empty() && old.is_disjoint(&children(after, dir))
                }
                Some(_) => true,
            };
            if opaque {
                fresh.insert(dir.clone());
                out.opaque.insert(dir.clone());
            }
        }
        let under_fresh = |p: &[u8]| ancestors(p).skip(1).any(|a| fresh.contains(&a));
        for (path, (kind, ino)) in after {
            let touched = world.touched.contains(path)
                || (*kind == Kind::File && world.touched_inodes.contains(ino))
                || under_fresh(path);
            match kind {
                Kind::File if touched => out.contents.insert(path.clone()),
                Kind::Symlink if touched => out.symlinks.insert(path.clone()),
                Kind::Dir if touched => out.dirs.insert(path.clone()),
                _ => false,
            };
        }
        for (path, (kind, _)) in before {
            let gone = !after.contains_key(path)
                || (after.get(path).is_some_and(|(k, _)| *k == Kind::Other)
                    && *kind != Kind::Other);
            let (parent, _) = split_last(path);
            if !path.is_empty() && gone && is_dir(after, parent) && !under_fresh(path) {
                out.whiteouts.insert(path.clone());
            }
        }
        let mut dirs = BTreeSet::new();
        let starts = out.contents.iter().chain(&out.symlinks).chain(&out.dirs);
        for path in starts
            .map(|p| split_last(p).0)
            .chain(out.whiteouts.iter().map(|p| split_last(p).0))
        {
            dirs.extend(ancestors(path));
        }
        for path in out.opaque.iter().chain(&out.dirs) {
            dirs.extend(ancestors(path));
        }
        out.dirs = dirs;
        out
    }

    fn assert_matches(&self, entries: &[LayerEntry]) -> TestResult {
        let of = |kinds: &[EntryKind]| -> BTreeSet<Vec<u8>> {
            entries
                .iter()
                .filter(|e| kinds.contains(&e.kind))
                .map(|e| e.path.clone())
                .collect()
        };
        let show = |set: &BTreeSet<Vec<u8>>| -> Vec<String> {
            set.iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        };
        for (what, want, got) in [
            (
                "contents",
                &self.contents,
                of(&[EntryKind::File, EntryKind::Hardlink]),
            ),
            ("symlinks", &self.symlinks, of(&[EntryKind::Symlink])),
            ("whiteouts", &self.whiteouts, of(&[EntryKind::Whiteout])),
            ("opaque", &self.opaque, of(&[EntryKind::Opaque])),
            ("dirs", &self.dirs, of(&[EntryKind::Dir])),
        ] {
            if *want != got {
                return Err(format!(
                    "{what}: expected {:?}, layer has {:?}",
                    show(want),
                    show(&got)
                )
                .into());
            }
        }
        Ok(())
    }
}
