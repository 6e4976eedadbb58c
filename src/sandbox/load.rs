//! Registering image layers we made ourselves, without the engine's diff or commit.
//!
//! `POST /images/load` takes a docker-archive: `manifest.json`, an image config whose
//! `rootfs.diff_ids` list every layer from the bottom, and one `layer.tar` per layer. The engine
//! looks each layer up by chain id before it opens its file, so an archive may carry **only the
//! layers the engine does not have yet** — typically one new layer on top of a parent image it
//! already holds. That costs what the new layer costs, on every storage driver (the engine's own
//! diff and commit walk the whole image on drivers without a native diff, such as
//! fuse-overlayfs). Engines that refuse such partial archives (the containerd image store) are
//! detected by [`Engine::probe_partial_load`]; callers fall back to commit there.
//!
//! The config of a child image is its parent's (user, working directory, command, environment)
//! with one more diff id, one more history entry and its own labels. Its canonical bytes
//! (sorted keys) give the image id on the classic store.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bollard::body_try_stream;
use bollard::models::{ImageConfig as InspectConfig, ImageInspect};
use bollard::query_parameters::ImportImageOptionsBuilder;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::archive::{channel_body, join_producer};
use super::deadline::{self, within};
use super::engine::Engine;
use super::error::{CallError, SandboxError};

/// An image config in the form the archive format wants (not the API's inspect form).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    raw: Map<String, Value>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The hex part of a `sha256:` digest (used for file names in the archive).
fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

impl ImageConfig {
    /// The config of an image the engine describes with `inspect`.
    ///
    /// The API reports `ExposedPorts` and `Volumes` as lists; the archive format wants maps.
    pub fn from_inspect(image: &str, inspect: &ImageInspect) -> Result<Self, SandboxError> {
        let bad = |what: &str| SandboxError::ImageConfig {
            image: image.to_string(),
            reason: what.to_string(),
        };
        let layers = inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .ok_or_else(|| bad("it reports no layers"))?;
        let config = inspect
            .config
            .as_ref()
            .map(container_config)
            .unwrap_or_default();
        let created = inspect.created.clone().unwrap_or_default();
        let history: Vec<Value> = (0..layers.len())
            .map(|i| json!({"created": created, "created_by": format!("{image} layer {}", i + 1)}))
            .collect();
        let mut raw = Map::new();
        raw.insert(
            "architecture".into(),
            json!(
                inspect
                    .architecture
                    .clone()
                    .unwrap_or_else(|| "amd64".into())
            ),
        );
        raw.insert(
            "os".into(),
            json!(inspect.os.clone().unwrap_or_else(|| "linux".into())),
        );
        if let Some(variant) = inspect.variant.as_ref().filter(|v| !v.is_empty()) {
            raw.insert("variant".into(), json!(variant));
        }
        raw.insert("created".into(), json!(created));
        raw.insert("config".into(), Value::Object(config));
        raw.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": layers}),
        );
        raw.insert("history".into(), Value::Array(history));
        Ok(ImageConfig { raw })
    }

    /// The layers, bottom first.
    pub fn diff_ids(&self) -> Vec<String> {
        self.raw
            .get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The labels of the image.
    pub fn labels(&self) -> HashMap<String, String> {
        self.raw
            .get("config")
            .and_then(|c| c.get("Labels"))
            .and_then(Value::as_object)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A child image: this config plus the layer `diff_id`, a history line, and `labels`
    /// replacing harnessgym's own labels (other labels of the parent are kept).
    pub fn child(&self, diff_id: &str, created_by: &str, labels: &HashMap<String, String>) -> Self {
        let mut raw = self.raw.clone();
        let created = crate::harness::time::utc_now();
        raw.insert("created".into(), json!(created));
        if let Some(Value::Object(rootfs)) = raw.get_mut("rootfs")
            && let Some(Value::Array(ids)) = rootfs.get_mut("diff_ids")
        {
            ids.push(json!(diff_id));
        }
        if let Some(Value::Array(history)) = raw.get_mut("history") {
            history.push(json!({"created": created, "created_by": created_by}));
        }
        let mut child = ImageConfig { raw };
        child.set_labels(labels);
        child
    }

    /// Replace harnessgym's labels (`dev.harnessgym.*`) with `labels`; other labels stay.
    pub fn set_labels(&mut self, labels: &HashMap<String, String>) {
        let config = self
            .raw
            .entry("config")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(config) = config else {
            return;
        };
        let mut merged: Map<String, Value> = config
            .get("Labels")
            .and_then(Value::as_object)
            .map(|l| {
                l.iter()
                    .filter(|(k, _)| !k.starts_with("dev.harnessgym."))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (key, value) in labels {
            merged.insert(key.clone(), json!(value));
        }
        config.insert("Labels".into(), Value::Object(merged));
    }

    /// The canonical bytes (sorted keys, compact).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.raw).unwrap_or_default()
    }

    /// Read a config back from its canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match serde_json::from_slice(bytes).ok()? {
            Value::Object(raw) => Some(ImageConfig { raw }),
            _ => None,
        }
    }

    /// The image id on the classic store: the digest of the canonical bytes.
    pub fn id(&self) -> String {
        sha256_digest(&self.to_bytes())
    }
}

/// The `config` object of an image config from the API's form.
fn container_config(config: &InspectConfig) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_string(), value);
        }
    };
    let set = |list: &Option<Vec<String>>| {
        list.as_ref()
            .map(|items| Value::Object(items.iter().map(|p| (p.clone(), json!({}))).collect()))
    };
    put("User", config.user.clone().map(Value::from));
    put("Env", config.env.clone().map(|v| json!(v)));
    put("Cmd", config.cmd.clone().map(|v| json!(v)));
    put("Entrypoint", config.entrypoint.clone().map(|v| json!(v)));
    put("WorkingDir", config.working_dir.clone().map(Value::from));
    put("StopSignal", config.stop_signal.clone().map(Value::from));
    put("Shell", config.shell.clone().map(|v| json!(v)));
    put("OnBuild", config.on_build.clone().map(|v| json!(v)));
    put("ArgsEscaped", config.args_escaped.map(Value::from));
    put("ExposedPorts", set(&config.exposed_ports));
    put("Volumes", set(&config.volumes));
    put(
        "Labels",
        config
            .labels
            .clone()
            .map(|l| Value::Object(l.into_iter().map(|(k, v)| (k, Value::from(v))).collect())),
    );
    out
}

/// A `Write` that digests and counts what passes through it.
pub struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Digesting<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        Digesting {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The wrapped writer, the `sha256:` digest and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("sha256:{:x}", self.hasher.finalize()),
            self.len,
        )
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A `Read` that digests and counts what passes through it.
pub struct DigestingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> DigestingReader<R> {
    /// Wrap `inner`.
    pub fn new(inner: R) -> Self {
        DigestingReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Read what is left (so the digest covers the whole stream), then the digest and count.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((format!("sha256:{:x}", self.hasher.finalize()), self.len))
    }
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// One layer file sent with a load.
#[derive(Debug, Clone)]
pub struct LayerFile {
    /// Its `sha256:` diff id (the digest of the uncompressed tar).
    pub diff_id: String,
    /// The tar on the host.
    pub path: PathBuf,
}

/// What to load: an image config, the tag to give it, and the layer files the engine may not
/// have (every other layer of the config must already be in the engine).
#[derive(Debug, Clone)]
pub struct LoadRequest<'a> {
    /// The image config.
    pub config: &'a ImageConfig,
    /// `repo:tag`.
    pub tag: &'a str,
    /// Layer files to include.
    pub layers: &'a [LayerFile],
}

impl Engine {
    /// The archive-form config of `image` (an id or reference), from its inspect data.
    pub async fn image_config(&self, image: &str) -> Result<ImageConfig, SandboxError> {
        let inspect =
            self.inspect_image(image)
                .await?
                .ok_or_else(|| SandboxError::ImageMissing {
                    image: image.to_string(),
                })?;
        ImageConfig::from_inspect(image, &inspect)
    }

    /// Load `request` with `POST /images/load` and return the id of the tagged image.
    pub async fn load_image(&self, request: &LoadRequest<'_>) -> Result<String, SandboxError> {
        let config = request.config.to_bytes();
        let config_name = format!("{}.json", hex_of(&request.config.id()));
        let layers: Vec<String> = request
            .config
            .diff_ids()
            .iter()
            .map(|id| format!("{}/layer.tar", hex_of(id)))
            .collect();
        let manifest = serde_json::to_vec(&json!([{
            "Config": config_name,
            "RepoTags": [request.tag],
            "Layers": layers,
        }]))
        .unwrap_or_default();
        let files = request.layers.to_vec();
        let (body, producer) = channel_body(move |writer| {
            write_archive(writer, &config_name, &config, &manifest, &files)
        });
        let options = ImportImageOptionsBuilder::new().quiet(true).build();
        let mut stream = self
            .docker
            .import_image(options, body_try_stream(body), None);
        let run = async {
            while let Some(item) = stream.next().await {
                item?;
            }
            Ok::<(), bollard::errors::Error>(())
        };
        let loaded = within(deadline::TRANSFER, run).await;
        join_producer(producer, "write the image archive").await?;
        loaded.map_err(|source| SandboxError::Load {
            tag: request.tag.to_string(),
            source,
        })?;
        self.require_image(request.tag).await
    }

    /// Whether the engine accepts an archive without its parent layers (the classic image
    /// store does; the containerd image store may not). Loads a one-directory child of `image`
    /// and removes it again.
    pub async fn probe_partial_load(
        &self,
        image: &str,
        labels: &HashMap<String, String>,
    ) -> Result<bool, SandboxError> {
        let parent = self.image_config(image).await?;
        let dir = tempfile::tempdir().map_err(|source| SandboxError::HostIo {
            action: "create a temporary directory for",
            path: "the load probe".into(),
            source,
        })?;
        let path = dir.path().join("probe.tar");
        let diff_id = write_probe_layer(&path).map_err(|source| SandboxError::HostIo {
            action: "write",
            path: path.clone(),
            source,
        })?;
        let config = parent.child(&diff_id, "harnessgym load probe", labels);
        let tag = format!("harnessgym/probe:{}", &hex_of(&config.id())[..12]);
        let layers = [LayerFile { diff_id, path }];
        let request = LoadRequest {
            config: &config,
            tag: &tag,
            layers: &layers,
        };
        match self.load_image(&request).await {
            Ok(id) => {
                self.remove_image(&id).await?;
                Ok(true)
            }
            Err(SandboxError::Load { source, .. }) if refuses_content(&source) => Ok(false),
            Err(err) => Err(err),
        }
    }
}

/// Whether a load failed because of what the archive holds (not because the engine is down).
fn refuses_content(err: &CallError) -> bool {
    matches!(
        err,
        CallError::Docker(
            bollard::errors::Error::DockerStreamError { .. }
                | bollard::errors::Error::DockerResponseServerError { .. }
        )
    )
}

/// A tiny, always identical layer: one directory.
fn write_probe_layer(path: &Path) -> io::Result<String> {
    let file = std::fs::File::create(path)?;
    let mut digesting = Digesting::new(io::BufWriter::new(file));
    {
        let mut builder = tar::Builder::new(&mut digesting);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        builder.append_data(&mut header, ".harnessgym-load-probe/", io::empty())?;
        builder.finish()?;
    }
    let (mut writer, digest, _) = digesting.finish();
    writer.flush()?;
    Ok(digest)
}

/// The archive: config, manifest, then each layer file streamed from disk.
fn write_archive(
    writer: &mut dyn Write,
    config_name: &str,
    config: &[u8],
    manifest: &[u8],
    layers: &[LayerFile],
) -> Result<(), SandboxError> {
    let io_err = |path: &Path, source| SandboxError::HostIo {
        action: "archive",
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tar::Builder::new(writer);
    let mut add = |name: &str, size: u64, data: &mut dyn Read| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(size);
        header.set_mtime(0);
        builder.append_data(&mut header, name, data)
    };
    add(config_name, config.len() as u64, &mut &config[..])
        .map_err(|e| io_err(Path::new(config_name), e))?;
    add("manifest.json", manifest.len() as u64, &mut &manifest[..])
        .map_err(|e| io_err(Path::new("manifest.json"), e))?;
    for layer in layers {
        let mut file = std::fs::File::open(&layer.path).map_err(|e| io_err(&layer.path, e))?;
        let size = file.metadata().map_err(|e| io_err(&layer.path, e))?.len();
        let name = format!("{}/layer.tar", hex_of(&layer.diff_id));
        add(&name, size, &mut file).map_err(|e| io_err(&layer.path, e))?;
    }
    builder
        .into_inner()
        .and_then(|w| w.flush())
        .map_err(|e| io_err(Path::new("archive"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ImageConfig {
        let inspect = ImageInspect {
            architecture: Some("amd64".into()),
            os: Some("linux".into()),
            created: Some("2026-01-01T00:00:00Z".into()),
            config: Some(InspectConfig {
                user: Some("agent".into()),
                working_dir: Some("/workspace".into()),
                cmd: Some(vec!["sleep".into(), "infinity".into()]),
                exposed_ports: Some(vec!["80/tcp".into()]),
                labels: Some(HashMap::from([("org.example".into(), "x".into())])),
                ..Default::default()
            }),
            root_fs: Some(bollard::models::ImageInspectRootFs {
                typ: "layers".into(),
                layers: Some(vec!["sha256:aa".into(), "sha256:bb".into()]),
            }),
            ..Default::default()
        };
        ImageConfig::from_inspect("base", &inspect).expect("config")
    }

    #[test]
    fn the_archive_config_keeps_the_parents_settings_in_archive_form() {
        let config = base();
        let raw = &config.raw;
        assert_eq!(raw["config"]["User"], "agent");
        assert_eq!(raw["config"]["WorkingDir"], "/workspace");
        assert_eq!(raw["config"]["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(config.diff_ids(), vec!["sha256:aa", "sha256:bb"]);
        assert_eq!(raw["history"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_child_adds_one_layer_one_history_line_and_its_own_labels() {
        let labels = HashMap::from([("dev.harnessgym.run".to_string(), "r1".to_string())]);
        let child = base().child("sha256:cc", "harnessgym snapshot", &labels);
        assert_eq!(
            child.diff_ids(),
            vec!["sha256:aa", "sha256:bb", "sha256:cc"]
        );
        assert_eq!(child.raw["history"].as_array().map(Vec::len), Some(3));
        let got = child.labels();
        assert_eq!(got["dev.harnessgym.run"], "r1");
        assert_eq!(got["org.example"], "x");
        let grandchild = child.child("sha256:dd", "again", &HashMap::new());
        assert!(!grandchild.labels().contains_key("dev.harnessgym.run"));
        assert_eq!(
            ImageConfig::from_bytes(&child.to_bytes()),
            Some(child.clone())
        );
        assert!(child.id().starts_with("sha256:"));
    }

    #[test]
    fn digesting_reader_and_writer_agree() {
        let data = vec![7u8; 100_000];
        let mut w = Digesting::new(Vec::new());
        w.write_all(&data).expect("write");
        let (out, digest, len) = w.finish();
        assert_eq!(out, data);
        assert_eq!(len, 100_000);
        let r = DigestingReader::new(&data[..]);
        assert_eq!(r.finish().expect("read"), (digest.clone(), 100_000));
        assert_eq!(digest, sha256_digest(&data));
    }
}
