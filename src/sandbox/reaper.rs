//! The reaper: remove labelled objects whose owner process is gone.
//!
//! Every command runs it at start for containers and volumes (a killed process leaves them in any
//! state: created, running, exited); `harnessgym gc` also removes the snapshot images of finished
//! runs. Objects owned by a live process, or by another host, are never touched. A removal that
//! fails is reported, never swallowed, and never stops the others.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListVolumesOptionsBuilder};

use super::deadline::{self, within};
use super::engine::{Engine, short_id};
use super::error::SandboxError;
use super::labels::{self, Owner};

/// What a sweep removed and what failed.
#[derive(Debug, Default)]
pub struct ReapReport {
    /// Container ids removed (short form).
    pub containers: Vec<String>,
    /// Image ids removed (short form).
    pub images: Vec<String>,
    /// Volume names removed.
    pub volumes: Vec<String>,
    /// Removals that failed.
    pub errors: Vec<SandboxError>,
}

impl ReapReport {
    /// Whether nothing was removed and nothing failed.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.images.is_empty()
            && self.volumes.is_empty()
            && self.errors.is_empty()
    }
}

/// Which objects a sweep selects.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Objects whose owner process is gone (on this host).
    DeadOwners,
    /// Objects whose owner is gone, of runs whose id starts with the prefix (tests use
    /// `test-` so that they never sweep a developer's own finished runs).
    DeadOwnersOfRuns(String),
    /// Objects of one run (or test), whoever owns them.
    Run(String),
}

impl Selector {
    fn matches(&self, object_labels: &HashMap<String, String>, here: &str) -> bool {
        match self {
            Selector::DeadOwners => {
                Owner::from_labels(object_labels).is_some_and(|owner| owner.is_dead(here))
            }
            Selector::DeadOwnersOfRuns(prefix) => {
                object_labels
                    .get(labels::RUN)
                    .is_some_and(|run| run.starts_with(prefix.as_str()))
                    && Selector::DeadOwners.matches(object_labels, here)
            }
            Selector::Run(run) => object_labels.get(labels::RUN) == Some(run),
        }
    }
}

impl Engine {
    /// Remove the selected containers and volumes, and images too when `images` is set.
    pub async fn reap(&self, selector: &Selector, images: bool) -> ReapReport {
        let mut report = ReapReport::default();
        self.reap_containers(selector, &mut report).await;
        self.reap_volumes(selector, &mut report).await;
        if images {
            self.reap_images(selector, &mut report).await;
        }
        report
    }

    /// Remove the images that carry a harnessgym helper (role `role`) and that nothing uses: a
    /// new harnessgym binary makes its own, so each upgrade (or each build of a checkout) would
    /// otherwise leave one behind. One in use by a container or under a kept snapshot is kept;
    /// the next run makes a removed one again (one small load).
    pub async fn prune_helpers(&self, role: &str, report: &mut ReapReport) {
        let images = match self.list_images_labelled(labels::ROLE, Some(role)).await {
            Ok(images) => images,
            Err(err) => {
                report.errors.push(err);
                return;
            }
        };
        for image in images {
            match self.remove_image_if_unused(&image.id).await {
                Ok(true) => report.images.push(short_id(&image.id).to_string()),
                Ok(false) => {}
                Err(err) => report.errors.push(err),
            }
        }
    }

    async fn reap_containers(&self, selector: &Selector, report: &mut ReapReport) {
        let containers = match self.list_containers_labelled(labels::RUN, None).await {
            Ok(list) => list,
            Err(err) => {
                report.errors.push(err);
                return;
            }
        };
        let here = self.owner().host.clone();
        let doomed: Vec<String> = containers
            .into_iter()
            .filter(|(_, object_labels)| selector.matches(object_labels, &here))
            .map(|(id, _)| id)
            .collect();
        let results =
            futures::future::join_all(doomed.iter().map(|id| self.remove_container_by_id(id)))
                .await;
        for (id, result) in doomed.iter().zip(results) {
            match result {
                Ok(()) => report.containers.push(short_id(id).to_string()),
                Err(err) => report.errors.push(err),
            }
        }
    }

    async fn reap_volumes(&self, selector: &Selector, report: &mut ReapReport) {
        let filters = HashMap::from([("label", vec![labels::RUN.to_string()])]);
        let options = ListVolumesOptionsBuilder::new().filters(&filters).build();
        let volumes = match within(deadline::QUICK, self.docker.list_volumes(Some(options))).await {
            Ok(list) => list.volumes.unwrap_or_default(),
            Err(source) => {
                report.errors.push(SandboxError::List {
                    what: "volumes",
                    source,
                });
                return;
            }
        };
        let here = self.owner().host.clone();
        for volume in volumes {
            if !selector.matches(&volume.labels, &here) {
                continue;
            }
            let removal = within(
                deadline::QUICK,
                self.docker.remove_volume(
                    &volume.name,
                    Some(
                        bollard::query_parameters::RemoveVolumeOptionsBuilder::new()
                            .force(true)
                            .build(),
                    ),
                ),
            )
            .await;
            match removal {
                Ok(()) => report.volumes.push(volume.name),
                Err(err) if err.is_not_found() => {}
                Err(source) => report.errors.push(SandboxError::RemoveVolume {
                    name: volume.name,
                    source,
                }),
            }
        }
    }

    async fn reap_images(&self, selector: &Selector, report: &mut ReapReport) {
        let mut images = match self.list_images_labelled(labels::RUN, None).await {
            Ok(images) => images,
            Err(err) => {
                report.errors.push(err);
                return;
            }
        };
        let here = self.owner().host.clone();
        images.retain(|i| selector.matches(&i.labels, &here));
        // Snapshots form chains (each commit's parent is the previous snapshot); a parent with
        // children cannot be removed, so remove newest first.
        images.sort_by_key(|image| std::cmp::Reverse(image.created));
        for image in images {
            match self.remove_image(&image.id).await {
                Ok(()) => report.images.push(short_id(&image.id).to_string()),
                Err(err) => report.errors.push(err),
            }
        }
    }
}

impl Engine {
    /// Containers (any state) carrying label `key` (`=value` when given), with their labels.
    pub async fn list_containers_labelled(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<(String, HashMap<String, String>)>, SandboxError> {
        let label = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_string(),
        };
        let filters = HashMap::from([("label", vec![label])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let containers = within(deadline::QUICK, self.docker.list_containers(Some(options)))
            .await
            .map_err(|source| SandboxError::List {
                what: "containers",
                source,
            })?;
        Ok(containers
            .into_iter()
            .map(|c| (c.id.unwrap_or_default(), c.labels.unwrap_or_default()))
            .collect())
    }
}
