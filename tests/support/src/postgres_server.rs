//! A PostgreSQL server of a test's own — initdb in a temporary directory, `postgres` on a
//! free port — for tests that must crash and restart the database server itself, which
//! they may not do to the shared one other tests and a running product use.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The superuser initdb creates; the server trusts local connections, so no password.
const USER: &str = "dreamster";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "PostgreSQL server programs not found (looked for {0}): install Debian's `postgresql` \
         (scripts/setup.sh does), or point DREAMSTER_PG_BIN at the directory holding initdb"
    )]
    Missing(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("could not run {0}: {1}")]
    Spawn(String, #[source] std::io::Error),
    #[error("PostgreSQL did not accept connections within {0:?}; its log ends:\n{1}")]
    Timeout(Duration, String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A throwaway PostgreSQL server, stopped and deleted when dropped.
pub struct PostgresServer {
    bin: PathBuf,
    port: u16,
    /// Root may not run PostgreSQL: the server then runs as the `postgres` system user.
    run_as: Option<(u32, u32)>,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// The directory of `initdb` and `postgres`: `DREAMSTER_PG_BIN`, else the newest
    /// `/usr/lib/postgresql/<version>/bin`.
    pub fn bin_dir() -> Result<PathBuf, ServerError> {
        if let Ok(dir) = std::env::var("DREAMSTER_PG_BIN") {
            let dir = PathBuf::from(dir);
            return if dir.join("initdb").is_file() {
                Ok(dir)
            } else {
                Err(ServerError::Missing(
                    dir.join("initdb").display().to_string(),
                ))
            };
        }
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions
            .pop()
            .map(|(_, bin)| bin)
            .ok_or_else(|| ServerError::Missing(format!("{}/*/bin/initdb", root.display())))
    }

    /// Creates a cluster and starts it on a free port.
    pub async fn start() -> Result<Self, ServerError> {
        let bin = Self::bin_dir()?;
        let dir = tempfile::tempdir().map_err(|e| ServerError::Spawn("mkdtemp".into(), e))?;
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(postgres_ids()?)
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| ServerError::Spawn("chown".into(), e))?;
        }
        let port = crate::free_port().map_err(|e| ServerError::Spawn("bind".into(), e))?;
        let mut server = PostgresServer {
            bin,
            port,
            run_as,
            child: None,
            dir,
        };
        let mut initdb = server.command("initdb");
        initdb
            .arg("--pgdata")
            .arg(server.data_dir())
            .args(["--username", USER, "--auth", "trust", "--no-sync"])
            .args(["--encoding", "UTF8", "--locale", "C"]);
        let output = initdb
            .output()
            .map_err(|e| ServerError::Spawn("initdb".into(), e))?;
        if !output.status.success() {
            return Err(ServerError::Command {
                what: "initdb".into(),
                detail: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        server.launch().await?;
        Ok(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command.stdin(Stdio::null());
        command
    }

    async fn launch(&mut self) -> Result<(), ServerError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| ServerError::Spawn("postgres log".into(), e))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(self.log_path(), Some(uid), Some(gid))
                .map_err(|e| ServerError::Spawn("chown".into(), e))?;
        }
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(log);
        crate::die_with_parent(&mut command);
        self.child = Some(
            command
                .spawn()
                .map_err(|e| ServerError::Spawn("postgres".into(), e))?,
        );
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(conn) = self.options("postgres").connect().await {
                let _ = conn.close().await;
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(ServerError::Command {
                        what: format!("postgres ({status})"),
                        detail: self.log_tail(),
                    });
                }
            }
            if Instant::now() > deadline {
                return Err(ServerError::Timeout(START_TIMEOUT, self.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Crashes the server the way `pg_ctl stop -m immediate` does (SIGQUIT: every backend
    /// quits at once, open transactions are lost, no checkpoint) and starts it again on the
    /// same port; it recovers from its write-ahead log.
    pub async fn crash_and_restart(&mut self) -> Result<(), ServerError> {
        self.halt(libc::SIGQUIT);
        self.launch().await
    }

    fn halt(&mut self, signal: libc::c_int) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the PID of a child this value owns and has not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, signal);
            }
            let _ = child.wait();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(USER)
            .database(database)
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        self.options(database).to_url_lossy().to_string()
    }

    /// Creates `name` and returns a pool on it.
    pub async fn create_database(&self, name: &str) -> Result<PgPool, ServerError> {
        let mut conn = self.options("postgres").connect().await?;
        conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await?;
        conn.close().await?;
        Ok(PgPoolOptions::new()
            .max_connections(4)
            .connect_with(self.options(name))
            .await?)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown; the directory goes with `dir`.
        self.halt(libc::SIGINT);
    }
}

/// The uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_ids() -> Result<(u32, u32), ServerError> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| ServerError::Spawn("read /etc/passwd".into(), e))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .ok_or_else(|| ServerError::Command {
            what: "looking up the postgres user".into(),
            detail: "root may not run PostgreSQL and /etc/passwd has no `postgres` user".into(),
        })
}
