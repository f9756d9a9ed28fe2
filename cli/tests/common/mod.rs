//! Runs the real `dreamster` binary against a real dev node, with its own config file.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use dreamster_test_support::DevNode;
use serde_json::Value;

pub struct Cli {
    pub node: DevNode,
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", self.stdout, self.stderr))
    }

    /// A refusal: exit status 1 and exactly one line on stderr containing `needle`.
    pub fn refused(&self, needle: &str) {
        assert_eq!(
            self.code, 1,
            "expected a refusal, got {}: {} / {}",
            self.code, self.stdout, self.stderr
        );
        let err = self.stderr.trim();
        assert_eq!(err.lines().count(), 1, "not one line: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{err:?} lacks {needle:?}"
        );
    }

    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "failed: {} / {}", self.stdout, self.stderr);
        self
    }
}

impl Cli {
    pub async fn start() -> Cli {
        Self::on(DevNode::start().await.expect("dev node"))
    }

    pub fn on(node: DevNode) -> Cli {
        Cli {
            node,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    pub fn command(&self, suri: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dreamster"));
        c.env("DREAMSTER_RPC_URL", self.node.rpc_url())
            .env("DREAMSTER_CONFIG", self.config_path())
            .env_remove("DREAMSTER_SURI")
            .env("RUST_BACKTRACE", "1");
        if let Some(s) = suri {
            c.env("DREAMSTER_SURI", s);
        }
        c
    }

    pub fn run(&self, suri: Option<&str>, args: &[&str]) -> Run {
        let out: Output = self
            .command(suri)
            .args(args)
            .output()
            .expect("dreamster runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs with `--json` and expects success.
    pub fn json(&self, suri: Option<&str>, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(suri, &all).ok().json()
    }
}
