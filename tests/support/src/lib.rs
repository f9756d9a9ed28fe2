//! Shared harness for every integration test: a real `substrate-contracts-node --dev --tmp`
//! on free ports and a real, uniquely named PostgreSQL database, each torn down when the
//! test ends — on success, on panic and (for the node) when the test process is killed —
//! and, for tests that crash the database server itself, a PostgreSQL server of their own.

pub mod load;
mod node;
mod postgres;
mod postgres_server;

pub use node::{DevNode, NodeError};
pub use postgres::{admin_database_url, DatabaseError, TestDatabase};
pub use postgres_server::{PostgresServer, ServerError};

/// A free TCP port on the loopback interface, as the OS hands it out right now.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
