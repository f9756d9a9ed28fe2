//! Shared harness for every integration test: a real `substrate-contracts-node --dev --tmp`
//! on free ports and a real, uniquely named PostgreSQL database, each torn down when the
//! test ends — on success, on panic and (for the node) when the test process is killed —
//! and, for tests that crash the database server itself, a PostgreSQL server of their own.

pub mod load;
mod node;
mod postgres;
mod postgres_server;
pub mod read_model;

pub use node::{DevNode, NodeError};
pub use postgres::{admin_database_url, DatabaseError, TestDatabase};
pub use postgres_server::{PostgresServer, ServerError};

/// A size or rate a long test or bench takes from the environment: `name`'s value when it
/// parses, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `future`'s output, or a panic naming `what` once `secs` seconds have passed: no test
/// waits forever on the node or the database.
pub async fn within<F: std::future::Future>(secs: u64, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(std::time::Duration::from_secs(secs), future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: not done within {secs} s"),
    }
}

/// A free TCP port on the loopback interface, as the OS hands it out right now.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Has the kernel SIGKILL the child `command` starts when the thread that spawned it dies,
/// so a test that fails or is killed leaves no process of its own behind.
pub fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe. std runs pre_exec hooks after it switches user
    // (`Command::uid`), and a later credential change would clear the setting.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
