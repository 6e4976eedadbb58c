//! `image build` and `image bootstrap`: decide what to build, find or make its base, build it
//! through the engine with a content-hash tag, and skip what is unchanged.
//!
//! Order of preference for a missing `FROM` image: an already bootstrapped root filesystem
//! (when the Dockerfile takes `ARG BASE_IMAGE`), a pull, then a fresh bootstrap. The bootstrapped
//! base already holds every package, so its builds run with network `none`; so do the builds of
//! images made on one of ours (the agent images), whose only download — a pinned wheel
//! ([`super::wheel`]) — happens on the host and travels in the build context.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::bootstrap::{self, BootstrapOptions};
use super::context::{self, ExtraFile, ExtraSource, ImageDir};
use super::wheel::{self, AgentPin};
use super::{EMBEDDED, ImageError};
use crate::progress::Step;
use crate::sandbox::{BuildRequest, Engine, SandboxError};

/// The build arg a Dockerfile declares to accept a bootstrapped base.
const BASE_ARG: &str = "BASE_IMAGE";
/// How long a pull may try before we conclude no registry is reachable.
const PULL_BUDGET: Duration = Duration::from_secs(60);

/// How `build_images` should behave.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Images directory; the compiled-in definitions when `None`.
    pub images_dir: Option<PathBuf>,
    /// Names to build; all when empty.
    pub names: Vec<String>,
    /// Rebuild even when the content hash is unchanged.
    pub force: bool,
    /// Show every build line.
    pub verbose: bool,
    /// Show nothing but errors.
    pub quiet: bool,
}

/// What happened to one image.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// Image name (`base`).
    pub name: String,
    /// Content-hash tag.
    pub tag: String,
    /// Image id.
    pub id: String,
    /// Whether it was built (false: unchanged, skipped).
    pub built: bool,
}

/// Build the selected images, skipping unchanged ones.
pub async fn build_images(
    engine: &Engine,
    options: &BuildOptions,
    token: &CancellationToken,
) -> Result<Vec<BuildOutcome>, ImageError> {
    let (_embedded, dir) = images_dir(options)?;
    let all = context::discover_images(&dir).map_err(|source| ImageError::Discover {
        dir: dir.clone(),
        source,
    })?;
    let selected = select(&all, &options.names)?;
    let mut outcomes = Vec::new();
    for image in selected {
        outcomes.push(build_one(engine, image, options, token).await?);
    }
    Ok(outcomes)
}

fn images_dir(options: &BuildOptions) -> Result<(Option<tempfile::TempDir>, PathBuf), ImageError> {
    if let Some(dir) = &options.images_dir {
        return Ok((None, dir.clone()));
    }
    let temp = tempfile::tempdir().map_err(ImageError::Embedded)?;
    for (name, file, text) in EMBEDDED {
        let image_dir = temp.path().join(name);
        std::fs::create_dir_all(&image_dir).map_err(ImageError::Embedded)?;
        std::fs::write(image_dir.join(file), text).map_err(ImageError::Embedded)?;
    }
    let path = temp.path().to_path_buf();
    Ok((Some(temp), path))
}

fn select<'a>(all: &'a [ImageDir], names: &[String]) -> Result<Vec<&'a ImageDir>, ImageError> {
    if names.is_empty() {
        return Ok(all.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|i| &i.name == name)
                .ok_or_else(|| ImageError::Unknown {
                    name: name.clone(),
                    known: all
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

async fn build_one(
    engine: &Engine,
    image: &ImageDir,
    options: &BuildOptions,
    token: &CancellationToken,
) -> Result<BuildOutcome, ImageError> {
    let context_err = |source| ImageError::Context {
        name: image.name.clone(),
        source,
    };
    let mut args = BTreeMap::new();
    let base = context::resolve_base_image_of(image, &args).map_err(context_err)?;
    let takes_base_arg = base.args.iter().any(|a| a.name == BASE_ARG);
    let (base_id, bootstrapped) = ensure_base(
        engine,
        &image.name,
        &base.image,
        takes_base_arg,
        options,
        token,
    )
    .await?;
    if let Some(rootfs) = &bootstrapped {
        args.insert(BASE_ARG.to_string(), rootfs.clone());
    }
    let hash = context::context_hash(&image.dir, &args, Some(&base_id)).map_err(context_err)?;
    let tags = context::image_tags(&image.name, &hash);
    if !options.force
        && let Some(id) = engine
            .inspect_image(&tags.content)
            .await?
            .and_then(|i| i.id)
    {
        alias(engine, &id, &tags.latest).await?;
        if !options.quiet {
            crate::errln!(
                "{}: unchanged ({}), nothing to build",
                image.name,
                tags.content
            );
        }
        return Ok(BuildOutcome {
            name: image.name.clone(),
            tag: tags.content,
            id,
            built: false,
        });
    }
    let extras = match wheel::load_pin(&image.dir).map_err(|source| ImageError::Wheel {
        name: image.name.clone(),
        source: Box::new(source),
    })? {
        Some(pin) => wheel_context(engine, &image.name, &base.image, &pin).await?,
        None => Vec::new(),
    };
    // Our own images carry every package already: building on them needs no network.
    let offline = bootstrapped.is_some() || is_ours(&base.image);
    let request = BuildRequest {
        tag: tags.content.clone(),
        build_args: args.into_iter().collect(),
        labels: HashMap::from([
            ("dev.harnessgym.image".to_string(), image.name.clone()),
            (
                "dev.harnessgym.context-hash".to_string(),
                hash.full().to_string(),
            ),
        ]),
        network: if offline { "none" } else { "default" }.to_string(),
    };
    let step = Step::start(format!("building {}", tags.content), options.quiet);
    let dir = image.dir.clone();
    let produce = move |writer: &mut crate::sandbox::ChannelWriter| {
        context::write_context_tar_with(&dir, &extras, writer)
            .map(|_| ())
            .map_err(|source| SandboxError::HostIo {
                action: "pack the build context",
                path: dir.clone(),
                source: std::io::Error::other(source.to_string()),
            })
    };
    let verbose = options.verbose;
    let built = engine
        .build_image(&request, produce, |line| step.detail(line, verbose))
        .await;
    step.finish(if built.is_ok() { "done" } else { "failed" });
    let id = built?;
    alias(engine, &id, &tags.latest).await?;
    Ok(BuildOutcome {
        name: image.name.clone(),
        tag: tags.content,
        id,
        built: true,
    })
}

/// Whether `image` is one harnessgym builds (`harnessgym/<name>...`).
fn is_ours(image: &str) -> bool {
    image.starts_with(&format!("{}/", context::REPOSITORY_PREFIX))
}

/// The pinned wheel for the base image's architecture, fetched and checked, as context files.
async fn wheel_context(
    engine: &Engine,
    name: &str,
    base: &str,
    pin: &AgentPin,
) -> Result<Vec<ExtraFile>, ImageError> {
    let wheel_err = |source| ImageError::Wheel {
        name: name.to_string(),
        source: Box::new(source),
    };
    let arch = engine
        .inspect_image(base)
        .await?
        .and_then(|i| i.architecture)
        .unwrap_or_else(|| "amd64".to_string());
    let pinned = pin.wheel_for(&arch).map_err(wheel_err)?.clone();
    let cache = wheel::cache_dir();
    let fetch_pin = pin.clone();
    let fetch_wheel = pinned.clone();
    let path = tokio::task::spawn_blocking(move || wheel::fetch(&fetch_pin, &fetch_wheel, &cache))
        .await
        .map_err(|join| ImageError::Embedded(std::io::Error::other(join.to_string())))?
        .map_err(wheel_err)?;
    Ok(vec![
        ExtraFile {
            name: wheel::CONTEXT_WHEEL.to_string(),
            source: ExtraSource::Path(path),
        },
        ExtraFile {
            name: wheel::CONTEXT_WHEEL_INFO.to_string(),
            source: ExtraSource::Bytes(pin.context_info(&pinned).into_bytes()),
        },
    ])
}

/// The local id of `from`, making it available first; `Some(rootfs)` when a bootstrapped root
/// filesystem stands in for it.
async fn ensure_base(
    engine: &Engine,
    name: &str,
    from: &str,
    takes_base_arg: bool,
    options: &BuildOptions,
    token: &CancellationToken,
) -> Result<(String, Option<String>), ImageError> {
    if let Some(id) = engine.inspect_image(from).await?.and_then(|i| i.id) {
        return Ok((id, None));
    }
    let rootfs = bootstrap::rootfs_image(bootstrap::DEFAULT_SUITE);
    if takes_base_arg && let Some(id) = engine.inspect_image(&rootfs).await?.and_then(|i| i.id) {
        return Ok((id, Some(rootfs)));
    }
    let step = Step::start(format!("pulling {from}"), options.quiet);
    let pulled = engine.pull_image(from, PULL_BUDGET).await;
    step.finish(if pulled.is_ok() { "done" } else { "failed" });
    match pulled {
        Ok(()) => Ok((engine.require_image(from).await?, None)),
        Err(source) if !takes_base_arg => Err(ImageError::BaseUnavailable {
            name: name.to_string(),
            image: from.to_string(),
            source: Box::new(source),
        }),
        Err(err) => {
            tracing::info!("{err}; bootstrapping a Debian root filesystem instead");
            let bootstrap = BootstrapOptions::default();
            let id = bootstrap_rootfs(engine, &bootstrap, options.quiet, token).await?;
            Ok((id, Some(rootfs)))
        }
    }
}

async fn alias(engine: &Engine, id: &str, reference: &str) -> Result<(), SandboxError> {
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    engine.tag_image(id, repo, tag).await
}

/// Create the Debian root filesystem with debootstrap/mmdebstrap and import it as
/// `harnessgym/rootfs:<suite>`. Returns the image id.
pub async fn bootstrap_rootfs(
    engine: &Engine,
    options: &BootstrapOptions,
    quiet: bool,
    token: &CancellationToken,
) -> Result<String, ImageError> {
    let step = Step::start(
        format!("bootstrapping Debian {} (debootstrap)", options.suite),
        quiet,
    );
    let cancel = token.clone();
    let opts = options.clone();
    let made =
        tokio::task::spawn_blocking(move || bootstrap::bootstrap(&opts, &|| cancel.is_cancelled()))
            .await
            .map_err(|join| ImageError::Embedded(std::io::Error::other(join.to_string())))?;
    step.finish(if made.is_ok() { "done" } else { "failed" });
    let rootfs = made.map_err(ImageError::Bootstrap)?;
    let reference = bootstrap::rootfs_image(&options.suite);
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((&reference, "latest"));
    let changes = bootstrap::import_changes(&rootfs.plan);
    let root: PathBuf = rootfs.path().to_path_buf();
    let step = Step::start(format!("importing {reference}"), quiet);
    let imported = engine
        .import_rootfs(repo, tag, changes, move |writer| {
            bootstrap::write_rootfs_tar(&root, writer)
                .map(|_| ())
                .map_err(|source| SandboxError::HostIo {
                    action: "pack the root filesystem",
                    path: root.clone(),
                    source: std::io::Error::other(source.to_string()),
                })
        })
        .await;
    step.finish(if imported.is_ok() { "done" } else { "failed" });
    drop(rootfs);
    Ok(imported?)
}
