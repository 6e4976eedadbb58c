//! A random tree and random changes to it, remembering which paths and inodes each change
//! touched (what a layer must then carry).

use std::collections::BTreeSet;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use super::fixture::{Fallible, Rng, TestResult, at};
use crate::layer::names::{join, split_last};

/// Names with spaces, unicode, newlines, non-UTF-8 bytes, dots and dashes, and one long enough
/// for a GNU long-name entry; a counter suffix keeps every name unique.
const NAMES: &[&[u8]] = &[
    b"a",
    b"src",
    b"file.txt",
    b"with space",
    "ünïcødé".as_bytes(),
    b"new\nline",
    b"\xff\xfe-raw",
    b".hidden",
    b"-dash",
    b"long-name-long-name-long-name-long-name-long-name-long-name-long-name-long-name-long-name-long-name",
];

/// Symlink targets: inside, outside, unnormalised, long, non-UTF-8.
const TARGETS: &[&[u8]] = &[
    b"a",
    b"../escape",
    b"/etc/passwd",
    b"a//b/./c",
    b"dir/",
    b"\xff\xfe",
    b"with space",
    b"t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t/t",
];

const FILE_MODES: &[u32] = &[0o644, 0o600, 0o755, 0o444, 0o640, 0o4755, 0o2755, 0o700];
/// Directory modes keep the owner's bits, so an unprivileged run can still write into them.
const DIR_MODES: &[u32] = &[0o755, 0o700, 0o775, 0o1777, 0o2775, 0o750];
const SIZES: &[usize] = &[0, 1, 10, 100, 700, 3000];
const OWNERS: &[(u32, u32)] = &[(1000, 1000), (1234, 4321), (0, 0)];

pub(super) struct World {
    pub(super) rng: Rng,
    pub(super) root: PathBuf,
    pub(super) as_root: bool,
    /// Paths created or changed (any kind).
    pub(super) touched: BTreeSet<Vec<u8>>,
    /// Inodes of files whose ctime changed (every path linked to them changed).
    pub(super) touched_inodes: BTreeSet<u64>,
    counter: u32,
}

impl World {
    pub(super) fn new(seed: u64, root: &Path, as_root: bool) -> Self {
        Self {
            rng: Rng::new(seed),
            root: root.to_path_buf(),
            as_root,
            touched: BTreeSet::new(),
            touched_inodes: BTreeSet::new(),
            counter: 0,
        }
    }

    fn new_name(&mut self) -> Vec<u8> {
        self.counter += 1;
        let mut name = self.rng.pick(NAMES).to_vec();
        name.extend_from_slice(format!("-{}", self.counter).as_bytes());
        name
    }

    fn path(&self, rel: &[u8]) -> PathBuf {
        at(&self.root, rel)
    }

    /// A random tree under `dir` (relative), `depth` levels deep at most.
    pub(super) fn build(&mut self, dir: &[u8], depth: u32) -> TestResult {
        for _ in 0..self.rng.below(if depth == 0 { 9 } else { 6 }) {
            let rel = join(dir, &self.new_name());
            match self.rng.below(10) {
                0..=4 => self.write_file(&rel)?,
                5..=7 if depth < 3 => {
                    fs::create_dir(self.path(&rel))?;
                    self.build(&rel, depth + 1)?;
                    let mode = *self.rng.pick(DIR_MODES);
                    self.chmod(&rel, mode)?;
                }
                _ => self.symlink(&rel)?,
            }
        }
        Ok(())
    }

    fn write_file(&mut self, rel: &[u8]) -> TestResult {
        let len = *self.rng.pick(SIZES);
        let content = self.rng.bytes(len);
        fs::write(self.path(rel), content)?;
        let mode = *self.rng.pick(FILE_MODES);
        self.chmod(rel, mode)
    }

    fn chmod(&mut self, rel: &[u8], mode: u32) -> TestResult {
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    fn symlink(&mut self, rel: &[u8]) -> TestResult {
        let target: &&[u8] = self.rng.pick(TARGETS);
        let target = std::ffi::OsStr::from_bytes(target);
        symlink(target, self.path(rel))?;
        Ok(())
    }

    /// Every current path of one kind (`None`: everything), the root included for directories.
    fn list(&self, want: fn(&fs::Metadata) -> bool) -> Fallible<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut stack = vec![Vec::new()];
        while let Some(rel) = stack.pop() {
            let meta = fs::symlink_metadata(self.path(&rel))?;
            if want(&meta) {
                out.push(rel.clone());
            }
            if meta.is_dir() {
                for child in fs::read_dir(self.path(&rel))? {
                    stack.push(join(&rel, &child?.file_name().into_vec()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn pick(&mut self, want: fn(&fs::Metadata) -> bool) -> Fallible<Option<Vec<u8>>> {
        let all = self.list(want)?;
        Ok((!all.is_empty()).then(|| self.rng.pick(&all).clone()))
    }

    fn pick_dir(&mut self) -> Fallible<Vec<u8>> {
        Ok(self.pick(|m| m.is_dir())?.unwrap_or_default())
    }

    /// Marks `rel` and its parent directory (its listing changed) as touched.
    fn created(&mut self, rel: &[u8]) {
        self.touched.insert(rel.to_vec());
        self.touched.insert(split_last(rel).0.to_vec());
    }

    /// Notes the inodes of every file under `rel` (about to be removed or changed).
    fn note_inodes(&mut self, rel: &[u8]) -> TestResult {
        let path = self.path(rel);
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_file() {
            self.touched_inodes.insert(meta.ino());
        } else if meta.is_dir() {
            for child in fs::read_dir(&path)? {
                self.note_inodes(&join(rel, &child?.file_name().into_vec()))?;
            }
        }
        Ok(())
    }

    fn remove(&mut self, rel: &[u8]) -> TestResult {
        self.note_inodes(rel)?;
        let path = self.path(rel);
        if fs::symlink_metadata(&path)?.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
        self.touched.insert(split_last(rel).0.to_vec());
        Ok(())
    }

    /// One random change.
    pub(super) fn mutate(&mut self) -> TestResult {
        let is_file: fn(&fs::Metadata) -> bool = |m| m.is_file();
        let not_root_dir = |w: &mut Self| -> Fallible<Option<Vec<u8>>> {
            Ok(w.pick(|m| m.is_dir())?.filter(|rel| !rel.is_empty()))
        };
        match self.rng.below(15) {
            0 | 1 => {
                let rel = join(&self.pick_dir()?, &self.new_name());
                self.write_file(&rel)?;
                self.created(&rel);
            }
            2 => {
                if let Some(rel) = self.pick(is_file)? {
                    self.rewrite_keeping_size_and_mtime(&rel)?;
                }
            }
            3 => {
                if let Some(rel) = self.pick(is_file)? {
                    self.note_inodes(&rel)?;
                    self.writable(&rel, |mut file| file.write_all(b"+"))?;
                    self.touched.insert(rel);
                }
            }
            4 => {
                if let Some(rel) = self.pick(|m| m.is_file() || m.is_dir())? {
                    self.note_inodes_of_entry(&rel)?;
                    let is_dir = fs::symlink_metadata(self.path(&rel))?.is_dir();
                    let mode = *self.rng.pick(if is_dir { DIR_MODES } else { FILE_MODES });
                    self.chmod(&rel, mode)?;
                    self.touched.insert(rel);
                }
            }
            5 => {
                if let Some(rel) = self.pick(|m| !m.is_dir())? {
                    self.remove(&rel)?;
                }
            }
            6 => {
                if let Some(rel) = not_root_dir(self)? {
                    self.remove(&rel)?;
                }
            }
            7 => {
                if let Some(rel) = self.pick(is_file)? {
                    self.remove(&rel)?;
                    fs::create_dir(self.path(&rel))?;
                    self.created(&rel);
                    if self.rng.chance(70) {
                        let child = join(&rel, &self.new_name());
                        self.write_file(&child)?;
                        self.created(&child);
                    }
                }
            }
            8 => {
                if let Some(rel) = not_root_dir(self)? {
                    self.remove(&rel)?;
                    self.write_file(&rel)?;
                    self.created(&rel);
                }
            }
            9 => {
                let rel = join(&self.pick_dir()?, &self.new_name());
                self.symlink(&rel)?;
                self.created(&rel);
            }
            10 => self.hard_link()?,
            11 => {
                let rel = join(&self.pick_dir()?, &self.new_name());
                fs::create_dir(self.path(&rel))?;
                self.created(&rel);
            }
            12 => self.empty_and_refill()?,
            13 => self.socket()?,
            _ => self.chown()?,
        }
        Ok(())
    }

    fn note_inodes_of_entry(&mut self, rel: &[u8]) -> TestResult {
        let meta = fs::symlink_metadata(self.path(rel))?;
        if meta.is_file() {
            self.touched_inodes.insert(meta.ino());
        }
        Ok(())
    }

    /// New contents of the same size, and the old mtime put back: only the ctime tells.
    fn rewrite_keeping_size_and_mtime(&mut self, rel: &[u8]) -> TestResult {
        let path = self.path(rel);
        let meta = fs::symlink_metadata(&path)?;
        self.touched_inodes.insert(meta.ino());
        self.touched.insert(rel.to_vec());
        let old = fs::read(&path)?;
        let new: Vec<u8> = if old.is_empty() {
            b"grown".to_vec()
        } else {
            old.iter().map(|b| b.wrapping_add(1)).collect()
        };
        self.writable(rel, |mut file| {
            file.set_len(0)?;
            file.write_all(&new)
        })?;
        File::open(&path)?.set_times(FileTimes::new().set_modified(meta.modified()?))?;
        Ok(())
    }

    /// Runs `write` on the file opened for appending, with the owner's write bit added for the
    /// time (files may be read-only), the mode restored after.
    fn writable(&self, rel: &[u8], write: impl FnOnce(&File) -> std::io::Result<()>) -> TestResult {
        let path = self.path(rel);
        let mode = fs::symlink_metadata(&path)?.mode() & 0o7777;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode | 0o200))?;
        let file = File::options().append(true).open(&path)?;
        write(&file)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    fn hard_link(&mut self) -> TestResult {
        let Some(first) = self.pick(|m| m.is_file())? else {
            return Ok(());
        };
        let rel = join(&self.pick_dir()?, &self.new_name());
        self.note_inodes_of_entry(&first)?;
        fs::hard_link(self.path(&first), self.path(&rel))?;
        self.created(&rel);
        Ok(())
    }

    /// Deletes every child of a directory, then puts back new names or some of the old ones.
    fn empty_and_refill(&mut self) -> TestResult {
        let dir = self.pick_dir()?;
        let mut old = Vec::new();
        for child in fs::read_dir(self.path(&dir))? {
            old.push(child?.file_name().into_vec());
        }
        old.sort();
        for name in &old {
            self.remove(&join(&dir, name))?;
        }
        let reuse = self.rng.chance(50);
        for _ in 0..self.rng.below(4) {
            let name = match old.is_empty() || !reuse {
                true => self.new_name(),
                false => self.rng.pick(&old).clone(),
            };
            let rel = join(&dir, &name);
            if fs::symlink_metadata(self.path(&rel)).is_err() {
                self.write_file(&rel)?;
                self.created(&rel);
            }
        }
        Ok(())
    }

    /// A socket: never carried; where it replaces a file, a whiteout.
    fn socket(&mut self) -> TestResult {
        let rel = match self.pick(|m| m.is_file())? {
            Some(rel) if self.rng.chance(50) => {
                self.remove(&rel)?;
                rel
            }
            _ => join(&self.pick_dir()?, &self.new_name()),
        };
        // Socket paths are limited to 108 bytes; a long one is simply not made.
        if self.path(&rel).as_os_str().len() < 100 {
            drop(UnixListener::bind(self.path(&rel))?);
            self.touched.insert(split_last(&rel).0.to_vec());
        }
        Ok(())
    }

    /// A new owner (only root may give files away).
    fn chown(&mut self) -> TestResult {
        if !self.as_root {
            return Ok(());
        }
        if let Some(rel) = self.pick(|m| m.is_file() || m.is_dir() || m.file_type().is_symlink())? {
            self.note_inodes_of_entry(&rel)?;
            let (uid, gid) = *self.rng.pick(OWNERS);
            std::os::unix::fs::lchown(self.path(&rel), Some(uid), Some(gid))?;
            self.touched.insert(rel);
        }
        Ok(())
    }
}
