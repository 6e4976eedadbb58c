//! Image operations: inspect, tag, remove, build from a streamed context, pull, import a root
//! filesystem.
//!
//! Builds and imports take their tar through the same bounded [`ChannelWriter`] pipe as uploads,
//! so a large context never sits in memory.

use std::collections::HashMap;

use bollard::body_try_stream;
use bollard::models::ImageInspect;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use futures::StreamExt;

use super::archive::{ChannelWriter, channel_body, join_producer};
use super::deadline::{self, within};
use super::engine::Engine;
use super::error::SandboxError;

/// What a build asks of the engine.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The tag to give the result (`repo:tag`).
    pub tag: String,
    /// `--build-arg`s.
    pub build_args: HashMap<String, String>,
    /// Labels on the result.
    pub labels: HashMap<String, String>,
    /// Network mode of the build containers (`none` keeps builds hermetic).
    pub network: String,
}

/// The id and size of an image.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    /// Image id (`sha256:…`).
    pub id: String,
    /// Size in bytes, all layers.
    pub size: i64,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// Repo tags.
    pub tags: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

impl Engine {
    /// Inspect an image; `None` when it does not exist.
    pub async fn inspect_image(&self, image: &str) -> Result<Option<ImageInspect>, SandboxError> {
        match within(deadline::QUICK, self.docker.inspect_image(image)).await {
            Ok(inspect) => Ok(Some(inspect)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(source) => Err(SandboxError::InspectImage {
                image: image.to_string(),
                source,
            }),
        }
    }

    /// The image's id, or [`SandboxError::ImageMissing`].
    pub async fn require_image(&self, image: &str) -> Result<String, SandboxError> {
        self.inspect_image(image)
            .await?
            .and_then(|i| i.id)
            .ok_or_else(|| SandboxError::ImageMissing {
                image: image.to_string(),
            })
    }

    /// Tag `image` as `repo:tag`.
    pub async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), SandboxError> {
        let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        within(deadline::QUICK, self.docker.tag_image(image, Some(options)))
            .await
            .map_err(|source| SandboxError::TagImage {
                image: image.to_string(),
                tag: format!("{repo}:{tag}"),
                source,
            })
    }

    /// Remove an image (forced: its tags go too); a missing image is not an error.
    pub async fn remove_image(&self, image: &str) -> Result<(), SandboxError> {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        match within(
            deadline::HEAVY,
            self.docker.remove_image(image, Some(options), None),
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.is_not_found() => Ok(()),
            Err(source) => Err(SandboxError::RemoveImage {
                image: image.to_string(),
                source,
            }),
        }
    }

    /// Remove `image` unless a container or a child image uses it. `Ok(false)`: in use, kept.
    pub async fn remove_image_if_unused(&self, image: &str) -> Result<bool, SandboxError> {
        let options = RemoveImageOptionsBuilder::new().force(false).build();
        match within(
            deadline::HEAVY,
            self.docker.remove_image(image, Some(options), None),
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.is_not_found() => Ok(true),
            Err(err) if err.is_conflict() => Ok(false),
            Err(source) => Err(SandboxError::RemoveImage {
                image: image.to_string(),
                source,
            }),
        }
    }

    /// Build an image from a tar context produced by `produce`, calling `progress` with each
    /// line of build output. Returns the image id.
    pub async fn build_image<F>(
        &self,
        request: &BuildRequest,
        produce: F,
        mut progress: impl FnMut(&str),
    ) -> Result<String, SandboxError>
    where
        F: FnOnce(&mut ChannelWriter) -> Result<(), SandboxError> + Send + 'static,
    {
        let build_err = |source| SandboxError::Build {
            tag: request.tag.clone(),
            source,
        };
        let options = BuildImageOptionsBuilder::new()
            .dockerfile("Dockerfile")
            .t(&request.tag)
            .buildargs(&request.build_args)
            .labels(&request.labels)
            .networkmode(&request.network)
            .rm(true)
            .forcerm(true)
            .build();
        let (body, producer) = channel_body(produce);
        let mut stream = self
            .docker
            .build_image(options, None, Some(body_try_stream(body)));
        let mut image_id = None;
        let run = async {
            while let Some(item) = stream.next().await {
                let info = item?;
                if let Some(line) = info.stream.as_deref().or(info.status.as_deref()) {
                    for line in line.lines().filter(|l| !l.trim().is_empty()) {
                        progress(line);
                    }
                }
                if let Some(id) = info.aux.and_then(|aux| aux.id) {
                    image_id = Some(id);
                }
            }
            Ok::<(), bollard::errors::Error>(())
        };
        let built = within(deadline::TRANSFER, run).await;
        join_producer(producer, "send the build context").await?;
        built.map_err(build_err)?;
        match image_id {
            Some(id) => Ok(id),
            None => self.require_image(&request.tag).await,
        }
    }

    /// Try to pull `image` from its registry, within `budget`.
    pub async fn pull_image(
        &self,
        image: &str,
        budget: std::time::Duration,
    ) -> Result<(), SandboxError> {
        let options = CreateImageOptionsBuilder::new().from_image(image).build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        let run = async {
            while let Some(item) = stream.next().await {
                item?;
            }
            Ok::<(), bollard::errors::Error>(())
        };
        within(budget, run)
            .await
            .map_err(|source| SandboxError::Pull {
                image: image.to_string(),
                source,
            })
    }

    /// Import a root filesystem tar produced by `produce` as image `repo:tag`, with `changes`
    /// (Dockerfile instructions such as `LABEL k=v`) applied. Returns the image id.
    pub async fn import_rootfs<F>(
        &self,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
        produce: F,
    ) -> Result<String, SandboxError>
    where
        F: FnOnce(&mut ChannelWriter) -> Result<(), SandboxError> + Send + 'static,
    {
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(changes)
            .build();
        let (body, producer) = channel_body(produce);
        let mut stream = self
            .docker
            .create_image(Some(options), Some(body_try_stream(body)), None);
        let run = async {
            while let Some(item) = stream.next().await {
                item?;
            }
            Ok::<(), bollard::errors::Error>(())
        };
        let reference = format!("{repo}:{tag}");
        let imported = within(deadline::TRANSFER, run).await;
        join_producer(producer, "send the root filesystem").await?;
        imported.map_err(|source| SandboxError::Import {
            tag: reference.clone(),
            source,
        })?;
        self.require_image(&reference).await
    }

    /// Images carrying label `key=value`.
    pub async fn list_images_labelled(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<ImageSummary>, SandboxError> {
        let label = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_string(),
        };
        let filters = HashMap::from([("label", vec![label])]);
        let options = bollard::query_parameters::ListImagesOptionsBuilder::new()
            .filters(&filters)
            .build();
        let images = within(deadline::QUICK, self.docker.list_images(Some(options)))
            .await
            .map_err(|source| SandboxError::List {
                what: "images",
                source,
            })?;
        Ok(images
            .into_iter()
            .map(|i| ImageSummary {
                id: i.id,
                size: i.size,
                labels: i.labels,
                tags: i.repo_tags,
                created: i.created,
            })
            .collect())
    }
}
