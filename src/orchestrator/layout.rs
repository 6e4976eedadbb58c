//! Where a run's files live: host paths for the user, workspace-relative paths for the agent.

use std::path::{Path, PathBuf};

use crate::session::PhaseFiles;

/// The files of one run (reference §3.1).
#[derive(Debug, Clone)]
pub struct RunLayout {
    /// Host workspace.
    pub workspace: PathBuf,
    /// Run id.
    pub run_id: String,
}

impl RunLayout {
    /// The layout of `run_id` in `workspace`.
    pub fn new(workspace: &Path, run_id: &str) -> Self {
        RunLayout {
            workspace: workspace.to_path_buf(),
            run_id: run_id.to_string(),
        }
    }

    /// `.harnessgym/runs/<id>` relative to the workspace.
    pub fn run_rel(&self) -> String {
        format!(".harnessgym/runs/{}", self.run_id)
    }

    /// Host run directory.
    pub fn run_dir(&self) -> PathBuf {
        self.workspace.join(self.run_rel())
    }

    /// `iterations/<n>` relative to the workspace.
    pub fn iteration_rel(&self, iteration: u32) -> String {
        format!("{}/iterations/{iteration}", self.run_rel())
    }

    /// Host iteration directory.
    pub fn iteration_dir(&self, iteration: u32) -> PathBuf {
        self.workspace.join(self.iteration_rel(iteration))
    }

    /// result.json relative to the workspace (the agent writes `/workspace/<this>`).
    pub fn result_rel(&self, iteration: u32) -> String {
        format!("{}/result.json", self.iteration_rel(iteration))
    }

    /// Host result.json.
    pub fn result_path(&self, iteration: u32) -> PathBuf {
        self.workspace.join(self.result_rel(iteration))
    }

    /// Phase files of `stem` in iteration `iteration` (`repair` puts them in `repair_<k>/`).
    pub fn phase_files(&self, iteration: u32, stem: &str, repair: Option<u32>) -> PhaseFiles {
        let dir = match repair {
            Some(k) => self.iteration_dir(iteration).join(format!("repair_{k}")),
            None => self.iteration_dir(iteration),
        };
        PhaseFiles::new(&dir, stem)
    }

    /// Host `run_config.json`.
    pub fn run_config_path(&self) -> PathBuf {
        self.run_dir().join("run_config.json")
    }

    /// Host `summary.json`.
    pub fn summary_path(&self) -> PathBuf {
        self.run_dir().join("summary.json")
    }
}
