//! Workspaces on the host: generated ones (small files and one blob), copies, disk usage.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::util::{BenchResult, Ctx};

/// Iterations of the optimization-mode rows; one scripted attempt per iteration.
pub const LOOP_ITERATIONS: u32 = 5;
/// The score the untouched workspace has (`score.txt`); attempt `n` writes `SCORE_START - n`.
pub const SCORE_START: u32 = 100;

/// The shape of a generated workspace.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// How many small files.
    pub files: usize,
    /// Bytes of each small file.
    pub file_bytes: usize,
    /// Bytes of the one blob.
    pub blob_bytes: usize,
}

impl Shape {
    /// Bytes of file contents in all.
    pub fn total(&self) -> u64 {
        (self.files * self.file_bytes + self.blob_bytes) as u64
    }
}

/// Fast deterministic bytes nothing can compress (xorshift64).
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> BenchResult<()> {
    std::fs::write(path, bytes).ctx(&format!("write {}", path.display()))
}

/// Create `root` holding `shape`: `files/dNNN/fNNNNN.dat` (100 per directory), `blob.bin`, a
/// `task.md`, a `score.txt` and one `.fake_runner/attempt_<n>.sh` per iteration that changes
/// `score.txt` (a small file) to `SCORE_START - n`.
pub fn generate(root: &Path, shape: Shape) -> BenchResult<()> {
    std::fs::create_dir_all(root).ctx(&format!("create {}", root.display()))?;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut small = vec![0u8; shape.file_bytes];
    for i in 0..shape.files {
        let dir = root.join(format!("files/d{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).ctx(&format!("create {}", dir.display()))?;
        }
        noise.fill(&mut small);
        write_file(&dir.join(format!("f{i:05}.dat")), &small)?;
    }
    let blob = root.join("blob.bin");
    let file = std::fs::File::create(&blob).ctx(&format!("create {}", blob.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = shape.blob_bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        noise.fill(&mut chunk[..n]);
        out.write_all(&chunk[..n]).ctx("write the blob")?;
        left -= n;
    }
    out.flush().ctx("write the blob")?;
    write_file(
        &root.join("task.md"),
        b"# Bench task\n\nLower the number in score.txt. The benchmark prints it as the score.\n",
    )?;
    write_file(
        &root.join("score.txt"),
        format!("{SCORE_START}\n").as_bytes(),
    )?;
    let scripts = root.join(".fake_runner");
    std::fs::create_dir_all(&scripts).ctx("create .fake_runner")?;
    for n in 1..=LOOP_ITERATIONS {
        let script = format!(
            "# Scripted fake attempt {n}: change one small file (score.txt).\n\
             set -eu\n\
             echo {} > score.txt\n\
             cat > \"$HARNESSGYM_RESULT\" <<'JSON'\n\
             {{\"status\": \"incomplete\", \"summary\": \"bench attempt {n}: score.txt lowered\"}}\n\
             JSON\n",
            SCORE_START - n
        );
        write_file(&scripts.join(format!("attempt_{n}.sh")), script.as_bytes())?;
    }
    Ok(())
}

/// Copy `src` to a new `dst`: `preserve` keeps modes, owners and mtimes (`cp -a`: the copy packs
/// into the same layer), otherwise the files get fresh mtimes (`cp -r`, as `make demo` does).
pub fn copy_tree(src: &Path, dst: &Path, preserve: bool) -> BenchResult<()> {
    remove_tree(dst)?;
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).ctx(&format!("create {}", parent.display()))?;
    }
    let flag = if preserve { "-a" } else { "-r" };
    let status = std::process::Command::new("cp")
        .arg(flag)
        .arg(src)
        .arg(dst)
        .status()
        .ctx("run cp")?;
    if !status.success() {
        return Err(format!(
            "cp {flag} {} {} failed",
            src.display(),
            dst.display()
        ));
    }
    Ok(())
}

/// Remove a directory tree if it exists.
pub fn remove_tree(path: &Path) -> BenchResult<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("remove {}: {e}", path.display())),
    }
}

/// Disk usage of a tree like `du -s` (allocated blocks, hard links once, links not followed).
pub fn disk_usage(root: &Path) -> BenchResult<u64> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).ctx(&format!("stat {}", path.display()))?;
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).ctx(&format!("list {}", path.display()))? {
                stack.push(entry.ctx("list a directory")?.path());
            }
        }
    }
    Ok(total)
}
