//! Where the deployed contracts are: a small JSON file `deploy` writes and every other
//! command (and `scripts/run.sh`, for the indexer) reads.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Config {
    pub rpc_url: String,
    /// SS58 address of the registry.
    pub registry: String,
    /// 0x-hex code hash of the release contract.
    pub release_code_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no deployment found at {0}: run `dreamster deploy` first (or pass --config)")]
    Missing(String),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a dreamster config: {1}")]
    Parse(String, serde_json::Error),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

/// `--config`, else `DREAMSTER_CONFIG` (clap fills both), else the user's config folder.
pub fn path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("dreamster").join("config.json")
}

pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::Missing(shown))
        }
        Err(e) => return Err(ConfigError::Read(shown, e)),
    };
    serde_json::from_str(&text).map_err(|e| ConfigError::Parse(shown, e))
}

/// Writes through a temporary file and a rename, so a crash never leaves half a config.
pub fn save(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ConfigError::Write(shown.clone(), e))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text =
        serde_json::to_string_pretty(config).map_err(|e| ConfigError::Parse(shown.clone(), e))?;
    std::fs::write(&tmp, text + "\n").map_err(|e| ConfigError::Write(shown.clone(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| ConfigError::Write(shown, e))
}
