//! `harnessgym internal manifest | layer | apply-layer`: the layer code as the host runs it
//! inside containers through `docker exec`.
//!
//! - `manifest --root DIR`: the [`Manifest`] bytes on stdout.
//! - `layer --root DIR --prefix NAME [--max-bytes N] [--full]`: reads a manifest on stdin
//!   (nothing with `--full`), writes the layer tar on stdout, then one JSON line of
//!   [`super::LayerStats`] on stderr. Exit code 3 ([`exit::LAYER_TOO_LARGE`]) when the layer
//!   is over `--max-bytes` (nothing written), 1 for other failures.
//! - `apply-layer --root DIR --prefix NAME`: applies the layer tar on stdin, then one JSON line
//!   of [`super::ApplyStats`] on stderr.
//!
//! All three refuse (exit code 2) unless `HARNESSGYM_IN_CONTAINER=1`: they walk and rewrite a
//! workspace as whoever runs them, which is never meant to be the host's user. Standard streams
//! are used through their file descriptors (stdout is a `docker exec` attach stream: large writes,
//! no line buffering).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::{LayerError, LayerOptions, Manifest, diff};
use crate::activation::{IN_CONTAINER_ENV, ensure_in_container};
use crate::exit;

/// `harnessgym internal manifest` (run by the host inside a container; not for direct use).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ManifestArgs {
    /// The directory to record (in containers, `/workspace`).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
}

/// `harnessgym internal layer` (run by the host inside a container; not for direct use).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LayerArgs {
    /// The directory to walk (in containers, `/workspace`).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,

    /// The directory the layer's entries lie under, e.g. `workspace`.
    #[arg(long, value_name = "NAME")]
    pub prefix: OsString,

    /// Fail with exit code 3, writing nothing, when file contents would exceed N bytes.
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<u64>,

    /// Write the whole tree under an opaque marker; no manifest is read.
    #[arg(long)]
    pub full: bool,
}

/// `harnessgym internal apply-layer` (run by the host inside a container; not for direct use).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ApplyLayerArgs {
    /// The directory the layer's prefix directory stands for (in containers, `/workspace`).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,

    /// The directory the layer's entries lie under, e.g. `workspace`.
    #[arg(long, value_name = "NAME")]
    pub prefix: OsString,

    /// Give files that replace same-second files a distinct mtime (for a commit afterwards
    /// on an engine that diffs by size and mtime).
    #[arg(long)]
    pub distinct_mtimes: bool,
}

/// Runs `harnessgym internal manifest`. Returns the exit code.
///
/// # Errors
///
/// [`LayerError::NotInContainer`] outside a container, walk and output errors.
pub fn run_manifest(args: &ManifestArgs) -> Result<u8, LayerError> {
    in_container()?;
    manifest(args, stdout()?)
}

/// Runs `harnessgym internal layer`. Returns the exit code.
///
/// # Errors
///
/// [`LayerError::NotInContainer`] outside a container, [`LayerError::TooLarge`] (exit code 3),
/// and every error of [`super::write_layer`] or of reading the manifest.
pub fn run_layer(args: &LayerArgs) -> Result<u8, LayerError> {
    in_container()?;
    layer(args, stdin()?, stdout()?, io::stderr().lock())
}

/// Runs `harnessgym internal apply-layer`. Returns the exit code.
///
/// # Errors
///
/// [`LayerError::NotInContainer`] outside a container, and every error of [`super::apply_layer`].
pub fn run_apply_layer(args: &ApplyLayerArgs) -> Result<u8, LayerError> {
    in_container()?;
    apply(args, stdin()?, io::stderr().lock())
}

fn in_container() -> Result<(), LayerError> {
    ensure_in_container(std::env::var_os(IN_CONTAINER_ENV).as_deref())
        .map_err(|_| LayerError::NotInContainer)
}

/// Standard output as a plain file: no line buffering in between.
fn stdout() -> Result<File, LayerError> {
    let fd = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| LayerError::Output { source })?;
    Ok(File::from(fd))
}

fn stdin() -> Result<File, LayerError> {
    let fd = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| LayerError::Stdin { source })?;
    Ok(File::from(fd))
}

fn manifest(args: &ManifestArgs, mut out: impl Write) -> Result<u8, LayerError> {
    let manifest = Manifest::walk(&args.root)?;
    out.write_all(&manifest.to_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| LayerError::Output { source })?;
    Ok(exit::SUCCESS)
}

fn layer(
    args: &LayerArgs,
    mut input: impl Read,
    out: impl Write,
    mut err: impl Write,
) -> Result<u8, LayerError> {
    let opts = LayerOptions {
        prefix: args.prefix.clone().into_vec(),
        max_bytes: args.max_bytes,
        full: args.full,
    };
    let before = if args.full {
        None
    } else {
        let mut bytes = Vec::new();
        input
            .read_to_end(&mut bytes)
            .map_err(|source| LayerError::Stdin { source })?;
        Some(Manifest::from_bytes(&bytes)?)
    };
    let stats = diff::write(&args.root, before.as_ref(), &opts, out)?;
    print_json(&mut err, &stats)?;
    Ok(exit::SUCCESS)
}

fn apply(args: &ApplyLayerArgs, input: impl Read, mut err: impl Write) -> Result<u8, LayerError> {
    let prefix = args.prefix.clone().into_vec();
    let options = crate::layer::apply::ApplyOptions {
        distinct_mtimes: args.distinct_mtimes,
    };
    let stats = crate::layer::apply::apply_layer_with(input, &args.root, &prefix, options)?;
    print_json(&mut err, &stats)?;
    Ok(exit::SUCCESS)
}

fn print_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), LayerError> {
    let mut line = serde_json::to_vec(value).map_err(|e| LayerError::Output {
        source: io::Error::other(e),
    })?;
    line.push(b'\n');
    out.write_all(&line)
        .and_then(|()| out.flush())
        .map_err(|source| LayerError::Output { source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: Internal,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Internal {
        Manifest(ManifestArgs),
        Layer(LayerArgs),
        ApplyLayer(ApplyLayerArgs),
    }

    #[test]
    fn parses_the_flags() -> Result<(), clap::Error> {
        let parsed = Wrapper::try_parse_from([
            "internal",
            "layer",
            "--root",
            "/workspace",
            "--prefix",
            "workspace",
            "--max-bytes",
            "1024",
            "--full",
        ])?;
        let Internal::Layer(args) = parsed.command else {
            panic!("not the layer command: {parsed:?}");
        };
        assert_eq!(args.root, PathBuf::from("/workspace"));
        assert_eq!(args.prefix, OsString::from("workspace"));
        assert_eq!(args.max_bytes, Some(1024));
        assert!(args.full);
        let parsed =
            Wrapper::try_parse_from(["internal", "apply-layer", "--root", "/w", "--prefix", "w"])?;
        assert!(matches!(parsed.command, Internal::ApplyLayer(_)));
        let parsed = Wrapper::try_parse_from(["internal", "manifest", "--root", "/w"])?;
        assert!(matches!(parsed.command, Internal::Manifest(_)));
        Ok(())
    }

    #[test]
    fn refuses_outside_a_container() {
        if std::env::var_os(IN_CONTAINER_ENV).is_some() {
            return; // a test run inside a container cannot check the refusal this way
        }
        let args = ManifestArgs {
            root: PathBuf::from("/nonexistent"),
        };
        assert!(matches!(
            run_manifest(&args),
            Err(LayerError::NotInContainer)
        ));
    }

    #[test]
    fn manifest_then_layer_then_apply_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let src = tempfile::tempdir()?;
        let dst = tempfile::tempdir()?;
        std::fs::write(src.path().join("a"), b"one")?;
        // Past the racy window, so `a` counts as unchanged.
        std::thread::sleep(crate::layer::manifest::RACY_WINDOW * 2);
        let mut manifest_bytes = Vec::new();
        manifest(
            &ManifestArgs {
                root: src.path().to_path_buf(),
            },
            &mut manifest_bytes,
        )?;
        std::fs::write(src.path().join("b"), b"two")?;
        let args = LayerArgs {
            root: src.path().to_path_buf(),
            prefix: "workspace".into(),
            max_bytes: None,
            full: false,
        };
        let (mut tar, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            layer(&args, &manifest_bytes[..], &mut tar, &mut err)?,
            exit::SUCCESS
        );
        let stats: serde_json::Value = serde_json::from_slice(&err)?;
        assert_eq!(stats["files"], 1);
        assert_eq!(stats["content_bytes"], 3);
        let mut err = Vec::new();
        let apply_args = ApplyLayerArgs {
            root: dst.path().to_path_buf(),
            prefix: "workspace".into(),
            distinct_mtimes: false,
        };
        apply(&apply_args, &tar[..], &mut err)?;
        assert_eq!(std::fs::read(dst.path().join("b"))?, b"two");
        assert!(!dst.path().join("a").exists());

        let limited = LayerArgs {
            max_bytes: Some(2),
            ..args
        };
        let mut tar = Vec::new();
        let error =
            layer(&limited, &manifest_bytes[..], &mut tar, Vec::new()).expect_err("over the limit");
        assert!(matches!(
            error,
            LayerError::TooLarge {
                limit: 2,
                needed: 3
            }
        ));
        assert!(tar.is_empty());
        use crate::diagnostics::Diagnose;
        assert_eq!(error.exit_code(), 3);
        Ok(())
    }
}
