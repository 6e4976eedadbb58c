//! Decides, from two manifests alone, which entries a layer holds and in which order.
//!
//! Pure: no file is touched. The plan is a list of operations in tar order, and its stats count
//! every entry and content byte the layer will hold (so a size limit is checked before a single
//! byte is written).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::LayerStats;
use crate::layer::manifest::{EntryMeta, Kind, Manifest};
use crate::layer::names::{self, WHITEOUT_PREFIX};

/// What one tar entry is; indices point into the current manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    /// A directory header.
    Dir(usize),
    /// A regular file with its contents.
    File(usize),
    /// A regular file whose inode an earlier entry (this path, relative) already holds.
    Hardlink(usize, Vec<u8>),
    /// A symlink.
    Symlink(usize),
    /// The path was deleted.
    Whiteout,
    /// The directory hides what the layers below hold in it.
    Opaque,
}

/// One tar entry: a path relative to the root (for markers: the deleted path, the opaque
/// directory) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Op {
    pub(super) rel: Vec<u8>,
    pub(super) what: What,
}

/// The entries of a layer, in order, and what they add up to.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) ops: Vec<Op>,
    pub(super) stats: LayerStats,
}

/// Plans the layer of `now` over `before`; `None` plans a full layer (everything, opaque root).
pub(super) fn plan(before: Option<&Manifest>, now: &Manifest) -> Plan {
    let mut planner = Planner {
        before,
        now,
        plan: Plan::default(),
        stack: Vec::new(),
        first_links: HashMap::new(),
    };
    planner.plan.stats.unreadable = now.unreadable() as u64;
    planner.plan.stats.skipped_long = now.too_long() as u64;
    planner.plan.stats.other_filesystems = now.other_filesystems() as u64;
    match before {
        None => {
            let items = planner.items(0, None, true);
            planner.push_frame(0, Vec::new(), items);
            planner.flush();
        }
        Some(_) => planner.visit_dir(0, Vec::new(), Some(0)),
    }
    planner.run();
    planner.plan
}

/// Whether an entry changed between two walks (see the module docs of `diff`).
pub(super) fn changed(before: &EntryMeta, now: &EntryMeta) -> bool {
    before.kind != now.kind
        || before.ino != now.ino
        || before.ctime != now.ctime
        || before.size != now.size
        || before.mode != now.mode
        || before.uid != now.uid
        || before.gid != now.gid
        || before.target != now.target
        || before.racy
}

/// One child of a directory being planned.
#[derive(Debug, Clone, Copy)]
enum Item {
    /// The directory hides what lies below it (always first).
    Opaque,
    /// A current entry, and the same name in `before` when it is compared.
    Now { now: usize, before: Option<usize> },
    /// A name `before` held and that is gone.
    Gone { before: usize },
}

/// A directory whose children are being planned.
struct Frame {
    dir: usize,
    rel: Vec<u8>,
    items: std::vec::IntoIter<Item>,
    /// Its header is in the plan already.
    emitted: bool,
}

struct Planner<'a> {
    before: Option<&'a Manifest>,
    now: &'a Manifest,
    plan: Plan,
    stack: Vec<Frame>,
    /// (dev, ino) of multiply-linked files written so far → the path written.
    first_links: HashMap<(u64, u64), Vec<u8>>,
}

impl<'a> Planner<'a> {
    fn run(&mut self) {
        while let Some(frame) = self.stack.last_mut() {
            let Some(item) = frame.items.next() else {
                self.stack.pop();
                continue;
            };
            let parent_rel = frame.rel.clone();
            match item {
                Item::Opaque => {
                    self.flush();
                    self.push(parent_rel, What::Opaque);
                    self.plan.stats.opaque_dirs += 1;
                }
                Item::Gone { before } => {
                    let name = &self.before_manifest().node(before).name;
                    let rel = names::join(&parent_rel, name);
                    self.whiteout(rel);
                }
                Item::Now { now, before } => {
                    let rel = names::join(&parent_rel, &self.now.node(now).name);
                    self.visit(now, rel, before);
                }
            }
        }
    }

    fn before_manifest(&self) -> &'a Manifest {
        // Items name a `before` entry only when there is a `before` manifest.
        self.before.unwrap_or(self.now)
    }

    fn before_meta(&self, before: Option<usize>) -> Option<&'a EntryMeta> {
        before.map(|b| &self.before_manifest().node(b).meta)
    }

    /// A current entry that is not the root, with the same name in `before` if compared.
    fn visit(&mut self, now: usize, rel: Vec<u8>, before: Option<usize>) {
        let meta = &self.now.node(now).meta;
        let old = self.before_meta(before);
        let is_changed = old.is_none_or(|old| changed(old, meta));
        match meta.kind {
            Kind::Dir => self.visit_dir(now, rel, before),
            Kind::Other => {
                if is_changed {
                    self.plan.stats.skipped_special += 1;
                }
                // The layers below hold something here that the special file replaced.
                if old.is_some_and(|old| old.kind != Kind::Other) {
                    self.whiteout(rel);
                }
            }
            Kind::File if is_changed => self.file(now, rel),
            Kind::Symlink if is_changed => {
                self.flush();
                self.push(rel, What::Symlink(now));
                self.plan.stats.symlinks += 1;
            }
            Kind::File | Kind::Symlink => {}
        }
    }

    /// A current directory (the root included) and its counterpart in `before`, if compared.
    fn visit_dir(&mut self, now: usize, rel: Vec<u8>, before: Option<usize>) {
        let meta = &self.now.node(now).meta;
        let old = self.before_meta(before);
        let listed = meta.listing.is_known();
        // (emit the header now, compare the children with this `before` dir, make it opaque)
        let (emit, compare, opaque) = match old {
            None => (true, None, false),
            Some(old) if old.kind != Kind::Dir => (true, None, listed),
            Some(old) if !listed => (changed(old, meta), None, false),
            // Its contents were unknown: hide whatever the layers below hold there.
            Some(old) if !old.listing.is_known() => (true, None, true),
            Some(old) => (changed(old, meta), before, false),
        };
        if !listed {
            if emit {
                self.flush();
                self.push(rel, What::Dir(now));
                self.plan.stats.dirs += 1;
            }
            return;
        }
        let items = self.items(now, compare, opaque);
        self.push_frame(now, rel, items);
        if emit {
            self.flush();
        }
    }

    /// The children of current directory `now`, merged with those of `before` (when compared),
    /// in tar order. Opaque when asked, or when none of `before`'s names remain.
    fn items(&mut self, now: usize, before: Option<usize>, opaque: bool) -> Vec<Item> {
        let current: Vec<usize> = self
            .now
            .children(now)
            .filter(|&c| {
                let reserved = names::is_reserved(&self.now.node(c).name);
                self.plan.stats.skipped_reserved += u64::from(reserved);
                !reserved
            })
            .collect();
        let old: Vec<usize> = match (before, self.before) {
            (Some(b), Some(manifest)) if !opaque => manifest
                .children(b)
                .filter(|&c| !names::is_reserved(&manifest.node(c).name))
                .collect(),
            _ => Vec::new(),
        };
        let mut items = merge(self.now, &current, self.before_manifest(), &old);
        let kept_any = items.iter().any(|item| {
            matches!(
                item,
                Item::Now {
                    before: Some(_),
                    ..
                }
            )
        });
        if opaque || (!old.is_empty() && !kept_any) {
            items = current
                .iter()
                .map(|&now| Item::Now { now, before: None })
                .collect();
            items.insert(0, Item::Opaque);
        }
        let key = |item: &Item| -> (&[u8], &[u8]) {
            match *item {
                Item::Opaque => (&[], &[]),
                Item::Now { now, .. } => (&[], &self.now.node(now).name),
                Item::Gone { before } => {
                    (WHITEOUT_PREFIX, &self.before_manifest().node(before).name)
                }
            }
        };
        items.sort_by(|a, b| {
            if matches!(a, Item::Opaque) || matches!(b, Item::Opaque) {
                return matches!(b, Item::Opaque).cmp(&matches!(a, Item::Opaque));
            }
            let ((pa, na), (pb, nb)) = (key(a), key(b));
            pa.iter().chain(na).cmp(pb.iter().chain(nb))
        });
        items
    }

    fn push_frame(&mut self, dir: usize, rel: Vec<u8>, items: Vec<Item>) {
        self.stack.push(Frame {
            dir,
            rel,
            items: items.into_iter(),
            emitted: false,
        });
    }

    /// Puts the headers of the directories being planned that are not in the plan yet, top
    /// down, so the next entry has all its parents before it.
    fn flush(&mut self) {
        let pending = self
            .stack
            .iter()
            .rev()
            .take_while(|frame| !frame.emitted)
            .count();
        let first = self.stack.len() - pending;
        for i in first..self.stack.len() {
            let frame = &mut self.stack[i];
            frame.emitted = true;
            let op = Op {
                rel: frame.rel.clone(),
                what: What::Dir(frame.dir),
            };
            self.plan.ops.push(op);
            self.plan.stats.dirs += 1;
        }
    }

    fn push(&mut self, rel: Vec<u8>, what: What) {
        self.plan.ops.push(Op { rel, what });
    }

    fn whiteout(&mut self, rel: Vec<u8>) {
        self.flush();
        self.push(rel, What::Whiteout);
        self.plan.stats.whiteouts += 1;
    }

    fn file(&mut self, now: usize, rel: Vec<u8>) {
        self.flush();
        let meta = &self.now.node(now).meta;
        if meta.nlink > 1 {
            let key = (meta.dev, meta.ino);
            if let Some(first) = self.first_links.get(&key) {
                let what = What::Hardlink(now, first.clone());
                self.push(rel, what);
                self.plan.stats.hardlinks += 1;
                return;
            }
            self.first_links.insert(key, rel.clone());
        }
        self.plan.stats.files += 1;
        self.plan.stats.content_bytes += meta.size;
        self.push(rel, What::File(now));
    }
}

/// Merges two name-sorted child lists: a name in both is one item comparing the two.
fn merge(now: &Manifest, current: &[usize], before: &Manifest, old: &[usize]) -> Vec<Item> {
    let mut items = Vec::with_capacity(current.len().max(old.len()));
    let (mut i, mut j) = (0, 0);
    while i < current.len() || j < old.len() {
        let order = match (current.get(i), old.get(j)) {
            (Some(&c), Some(&o)) => now.node(c).name.cmp(&before.node(o).name),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                items.push(Item::Now {
                    now: current[i],
                    before: None,
                });
                i += 1;
            }
            Ordering::Greater => {
                items.push(Item::Gone { before: old[j] });
                j += 1;
            }
            Ordering::Equal => {
                items.push(Item::Now {
                    now: current[i],
                    before: Some(old[j]),
                });
                i += 1;
                j += 1;
            }
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::manifest::{Listing, Timestamp};

    fn file() -> EntryMeta {
        EntryMeta {
            kind: Kind::File,
            ino: 7,
            dev: 1,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            size: 3,
            ctime: Timestamp { sec: 10, nsec: 5 },
            mtime: Timestamp { sec: 9, nsec: 0 },
            nlink: 1,
            target: None,
            listing: Listing::NotDir,
            racy: false,
        }
    }

    #[test]
    fn mtime_alone_is_not_a_change() {
        let before = file();
        let mut now = file();
        now.mtime.sec += 100;
        now.nlink = 2;
        assert!(!changed(&before, &now));
        for change in [
            |m: &mut EntryMeta| m.ctime.nsec += 1,
            |m: &mut EntryMeta| m.ino += 1,
            |m: &mut EntryMeta| m.size += 1,
            |m: &mut EntryMeta| m.mode = 0o4644,
            |m: &mut EntryMeta| m.uid = 0,
            |m: &mut EntryMeta| m.gid = 0,
            |m: &mut EntryMeta| m.kind = Kind::Symlink,
            |m: &mut EntryMeta| m.target = Some(b"x".to_vec()),
        ] {
            let mut now = file();
            change(&mut now);
            assert!(changed(&before, &now), "{now:?}");
        }
        let racy = EntryMeta {
            racy: true,
            ..file()
        };
        assert!(
            changed(&racy, &file()),
            "a racy file always counts as changed"
        );
    }
}
