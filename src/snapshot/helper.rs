//! The harnessgym binary inside every container, as one image layer shared by every run.
//!
//! The in-container helper (`harnessgym internal ...`, `mcp-proxy`, `mcp-bridge`, `mcp-call`) is
//! this very program, installed root-owned at [`HELPER_PATH`] so the agent cannot replace it. It
//! goes in as its own layer, packed deterministically (fixed owner, mode and mtime): the same
//! binary always gives the same diff id, so the engine holds the layer once and every run's
//! baseline stacks on the same `harnessgym/helper:<base>-<layer>` image.
//!
//! A statically linked build (`make build`) runs in any image, old glibc or musl or none; a
//! dynamically linked one needs a compatible glibc in the image (`harnessgym doctor` checks).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::sandbox::{
    Digesting, Engine, ImageConfig, LayerFile, LoadRequest, SandboxError, labels, short_id,
};

/// Where the harnessgym binary lives inside every container of a run.
pub const HELPER_PATH: &str = "/opt/harnessgym/bin/harnessgym";
/// The repository helper images are tagged in.
pub const HELPER_REPO: &str = "harnessgym/helper";
/// The role label of helper images (they carry no run label: they belong to no run).
pub const HELPER_ROLE: &str = "helper";

/// The harnessgym executable to install into containers: `HARNESSGYM_HELPER_BINARY` when set
/// (tests, or a build for another image's libc), else this very executable.
pub fn helper_binary() -> io::Result<PathBuf> {
    match std::env::var_os("HARNESSGYM_HELPER_BINARY") {
        Some(path) => Ok(path.into()),
        None => std::env::current_exe(),
    }
}

/// Whether the ELF executable at `path` is statically linked (has no program interpreter).
/// `None` when it cannot be read or is not a 64-bit little-endian ELF file.
pub fn is_static(path: &Path) -> Option<bool> {
    let mut head = vec![0u8; 64 * 1024];
    let mut file = std::fs::File::open(path).ok()?;
    let n = io::Read::read(&mut file, &mut head).ok()?;
    elf_is_static(&head[..n])
}

fn elf_is_static(bytes: &[u8]) -> Option<bool> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    // Magic, 64-bit class, little-endian.
    if bytes.get(..4)? != b"\x7fELF" || *bytes.get(4)? != 2 || *bytes.get(5)? != 1 {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize)? == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

/// Write the helper layer of `binary` to `out` (a tar holding `opt/harnessgym/bin/harnessgym`,
/// root-owned, mode 0755, mtime 0); returns its diff id.
pub fn write_helper_layer(binary: &Path, out: impl Write) -> io::Result<String> {
    let mut digesting = Digesting::new(out);
    {
        let mut builder = tar::Builder::new(&mut digesting);
        let header = |kind, mode, size| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(size);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h
        };
        for dir in ["opt", "opt/harnessgym", "opt/harnessgym/bin"] {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            builder.append_data(&mut h, dir, io::empty())?;
        }
        let file = std::fs::File::open(binary)?;
        let size = file.metadata()?.len();
        let mut h = header(tar::EntryType::Regular, 0o755, size);
        builder.append_data(&mut h, HELPER_PATH.trim_start_matches('/'), file)?;
        builder.finish()?;
    }
    let (mut out, digest, _) = digesting.finish();
    out.flush()?;
    Ok(digest)
}

fn io_err(path: &Path, source: io::Error) -> SandboxError {
    SandboxError::HostIo {
        action: "pack the helper layer from",
        path: path.to_path_buf(),
        source,
    }
}

/// The helper image on top of `base_image` (made once per engine, base and binary): its tag and
/// config.
pub async fn ensure_helper_image(
    engine: &Engine,
    base_image: &str,
    binary: &Path,
) -> Result<(String, ImageConfig), SandboxError> {
    let base = engine.image_config(base_image).await?;
    let path = binary.to_path_buf();
    let diff_id = tokio::task::spawn_blocking(move || write_helper_layer(&path, io::sink()))
        .await
        .map_err(|e| io_err(binary, io::Error::other(e.to_string())))?
        .map_err(|e| io_err(binary, e))?;
    let tag = format!(
        "{HELPER_REPO}:{}-{}",
        short_id(&base.id()),
        short_id(&diff_id)
    );
    if let Some(inspect) = engine.inspect_image(&tag).await? {
        return Ok((tag.clone(), ImageConfig::from_inspect(&tag, &inspect)?));
    }
    let dir = tempfile::tempdir().map_err(|e| io_err(binary, e))?;
    let file = dir.path().join("helper.tar");
    let (src, dst) = (binary.to_path_buf(), file.clone());
    let written = tokio::task::spawn_blocking(move || {
        let out = io::BufWriter::new(std::fs::File::create(&dst)?);
        write_helper_layer(&src, out)
    })
    .await
    .map_err(|e| io_err(binary, io::Error::other(e.to_string())))?
    .map_err(|e| io_err(binary, e))?;
    let mut image_labels = std::collections::HashMap::new();
    image_labels.insert(labels::ROLE.to_string(), HELPER_ROLE.to_string());
    let config = base.child(
        &written,
        &format!("harnessgym {} helper", env!("CARGO_PKG_VERSION")),
        &image_labels,
    );
    let layers = [LayerFile {
        diff_id: written,
        path: file,
    }];
    engine
        .load_image(&LoadRequest {
            config: &config,
            tag: &tag,
            layers: &layers,
        })
        .await?;
    Ok((tag, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_layer_depends_only_on_the_binarys_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"same bytes").expect("write");
        std::fs::write(&b, b"same bytes").expect("write");
        let first = write_helper_layer(&a, io::sink()).expect("pack");
        let second = write_helper_layer(&b, io::sink()).expect("pack");
        assert_eq!(first, second);
        std::fs::write(&b, b"other bytes").expect("write");
        assert_ne!(first, write_helper_layer(&b, io::sink()).expect("pack"));
    }

    #[test]
    fn static_and_dynamic_executables_are_told_apart() {
        // This test binary is linked like the crate's own builds; /bin/sh is dynamic on Debian.
        assert_eq!(is_static(Path::new("/bin/sh")), Some(false));
        assert_eq!(elf_is_static(b"not an elf file at all"), None);
        let mut fake = vec![0u8; 0x40 + 56];
        fake[..4].copy_from_slice(b"\x7fELF");
        fake[4] = 2;
        fake[5] = 1;
        fake[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        fake[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        fake[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        fake[0x40..0x44].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD only
        assert_eq!(elf_is_static(&fake), Some(true));
        fake[0x40..0x44].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        assert_eq!(elf_is_static(&fake), Some(false));
    }
}
