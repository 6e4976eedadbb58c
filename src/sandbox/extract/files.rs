//! File-writing helpers for extraction: temp files created next to their targets, and a copy
//! through a reused buffer that says which side failed.

use std::io::{self, Read, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use super::{ExtractError, TEMP_PREFIX};

/// A temp file next to `target`, so the final rename stays on one filesystem.
pub(super) fn temp_file(parent: &Path, target: &Path) -> Result<NamedTempFile, ExtractError> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(parent)
        .map_err(|source| ExtractError::WriteFile {
            path: target.to_path_buf(),
            source,
        })
}

/// Which side of a copy failed.
pub(super) enum CopyFault {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `src` to `dst` through `buf`; returns the number of bytes copied.
pub(super) fn copy_data(
    src: &mut impl Read,
    dst: &mut impl Write,
    buf: &mut [u8],
) -> Result<u64, CopyFault> {
    let mut total = 0u64;
    loop {
        let n = match src.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyFault::Read(e)),
        };
        dst.write_all(&buf[..n]).map_err(CopyFault::Write)?;
        total += n as u64;
    }
}
