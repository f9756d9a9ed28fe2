use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use subxt::{OnlineClient, PolkadotConfig};

/// How long a fresh dev node may take before its RPC answers.
const START_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "substrate-contracts-node not found (looked for {0}): run scripts/setup.sh, \
         or point DREAMSTER_NODE_BIN at the binary"
    )]
    Missing(String),
    #[error("could not start substrate-contracts-node: {0}")]
    Spawn(#[source] std::io::Error),
    #[error(
        "substrate-contracts-node exited before it was ready ({status}); its log ends:\n{log}"
    )]
    Exited { status: String, log: String },
    #[error("substrate-contracts-node did not answer RPC within {0:?}; its log ends:\n{1}")]
    Timeout(Duration, String),
}

/// A `substrate-contracts-node --dev --tmp` owned by one test.
///
/// The dev node seals a block for every transaction (and none without), finalizing it
/// about a second later.
pub struct DevNode {
    finality_delay: Option<u32>,
    child: Child,
    rpc_port: u16,
    p2p_port: u16,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl DevNode {
    /// The node binary: `DREAMSTER_NODE_BIN`, else `substrate-contracts-node` on `PATH`
    /// or in `~/.cargo/bin`.
    pub fn binary() -> Result<PathBuf, NodeError> {
        if let Ok(path) = std::env::var("DREAMSTER_NODE_BIN") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(NodeError::Missing(path.display().to_string()))
            };
        }
        let name = "substrate-contracts-node";
        let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
            .unwrap_or_default();
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join(".cargo/bin").join(name));
        }
        candidates
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| NodeError::Missing(format!("{name} on PATH and in ~/.cargo/bin")))
    }

    /// Starts a node on free ports and waits until its RPC answers.
    ///
    /// The chain lives in a temporary directory removed with this value (what `--tmp`
    /// does, but kept across [`DevNode::restart`]).
    pub async fn start() -> Result<Self, NodeError> {
        Self::start_with_finality_delay(None).await
    }

    /// Like [`DevNode::start`], with blocks finalized `secs` seconds after they are sealed
    /// (the node's default is 1 s): a chain whose finality trails its best block, as on a
    /// live network.
    pub async fn start_with_finality_delay(secs: Option<u32>) -> Result<Self, NodeError> {
        let dir = tempfile::tempdir().map_err(NodeError::Spawn)?;
        let log_path = dir.path().join("node.log");
        let rpc_port = crate::free_port().map_err(NodeError::Spawn)?;
        let p2p_port = crate::free_port().map_err(NodeError::Spawn)?;
        let child = spawn(&dir, &log_path, rpc_port, p2p_port, secs)?;
        let mut node = DevNode {
            finality_delay: secs,
            child,
            rpc_port,
            p2p_port,
            log_path,
            _dir: dir,
        };
        node.wait_ready().await?;
        Ok(node)
    }

    /// Stops the node (SIGKILL) and starts it again on the same chain and ports.
    pub async fn restart(&mut self) -> Result<(), NodeError> {
        self.stop();
        self.child = spawn(
            &self._dir,
            &self.log_path,
            self.rpc_port,
            self.p2p_port,
            self.finality_delay,
        )?;
        self.wait_ready().await
    }

    /// Stops the node the way an operator does (SIGTERM, its database closed cleanly;
    /// SIGKILL after 30 s) and starts it again on the same chain and ports.
    pub async fn restart_gracefully(&mut self) -> Result<(), NodeError> {
        // SAFETY: kill(2) on the PID of a child this value owns and has not reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.restart().await
    }

    /// Stops the node; [`DevNode::restart`] brings it back.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_ready(&mut self) -> Result<(), NodeError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(NodeError::Exited {
                    status: status.to_string(),
                    log: self.log_tail(),
                });
            }
            if OnlineClient::<PolkadotConfig>::from_insecure_url(self.rpc_url())
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(NodeError::Timeout(START_TIMEOUT, self.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The node's websocket RPC endpoint.
    pub fn rpc_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    pub fn rpc_port(&self) -> u16 {
        self.rpc_port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A subxt client connected to this node.
    pub async fn client(&self) -> Result<OnlineClient<PolkadotConfig>, subxt::Error> {
        OnlineClient::<PolkadotConfig>::from_insecure_url(self.rpc_url()).await
    }

    /// The last lines the node logged, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(
    dir: &tempfile::TempDir,
    log_path: &std::path::Path,
    rpc_port: u16,
    p2p_port: u16,
    finality_delay: Option<u32>,
) -> Result<Child, NodeError> {
    let binary = DevNode::binary()?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(NodeError::Spawn)?;
    let mut command = Command::new(binary);
    command
        // Archive: an indexer backfilling from genesis reads the events of every block.
        .args([
            "--dev",
            "--no-telemetry",
            "--no-prometheus",
            "--no-mdns",
            "--state-pruning",
            "archive",
        ])
        .args([
            "--rpc-port",
            &rpc_port.to_string(),
            "--port",
            &p2p_port.to_string(),
        ])
        .args(
            finality_delay
                .map(|s| vec!["--finalize-delay-sec".to_string(), s.to_string()])
                .unwrap_or_default(),
        )
        .arg("--base-path")
        .arg(dir.path().join("chain"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    crate::die_with_parent(&mut command);
    command.spawn().map_err(NodeError::Spawn)
}
