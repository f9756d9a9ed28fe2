use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};
use std::str::FromStr;

/// The role `scripts/setup.sh` creates; `DATABASE_URL` overrides it.
const DEFAULT_ADMIN_URL: &str = "postgres://dreamster:dreamster@127.0.0.1:5432/dreamster";

/// Every database a test creates starts with this, so leftovers of killed runs are easy
/// to find and drop (`scripts/test.sh` does).
pub const TEST_DATABASE_PREFIX: &str = "dreamster_test_";

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("PostgreSQL is not reachable at {url}: {source} (run scripts/setup.sh, or set DATABASE_URL)")]
    Unreachable { url: String, source: sqlx::Error },
    #[error("bad DATABASE_URL {0:?}: {1}")]
    BadUrl(String, sqlx::Error),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The URL of a database whose role may create databases.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// A fresh, uniquely named database, dropped when this value is.
pub struct TestDatabase {
    name: String,
    url: String,
    admin: PgConnectOptions,
    pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Result<Self, DatabaseError> {
        let admin_url = admin_database_url();
        let admin = PgConnectOptions::from_str(&admin_url)
            .map_err(|e| DatabaseError::BadUrl(admin_url.clone(), e))?;
        let name = format!("{TEST_DATABASE_PREFIX}{:016x}", rand::random::<u64>());
        let mut conn = admin
            .connect()
            .await
            .map_err(|source| DatabaseError::Unreachable {
                url: admin_url.clone(),
                source,
            })?;
        conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await?;
        conn.close().await?;
        let options = admin.clone().database(&name);
        let url = options.to_url_lossy().to_string();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(TestDatabase {
            name,
            url,
            admin,
            pool,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Gives this database's parts to the services' roles, as `scripts/run.sh` does: the
    /// very file it runs, `scripts/db-roles.sql`. Connections opened afterwards find their
    /// own schema first.
    pub async fn separate_roles(&self) -> Result<(), DatabaseError> {
        sqlx::raw_sql(ROLES_SQL).execute(&self.pool).await?;
        Ok(())
    }

    /// This database's URL as one of the services' roles (`dreamster_indexer`,
    /// `dreamster_api`, `dreamster_reader`), which `scripts/setup.sh` creates with the
    /// project role's password.
    pub fn url_as(&self, role: &str) -> String {
        self.admin
            .clone()
            .database(&self.name)
            .username(role)
            .to_url_lossy()
            .to_string()
    }
}

/// Who may touch what in a Dreamster database.
pub const ROLES_SQL: &str = include_str!("../../../scripts/db-roles.sql");

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop is synchronous and may run inside a runtime, so the clean-up gets a thread and
        // a runtime of its own. It must not wait on this pool (whose connections belong to
        // the test's runtime, blocked right here): FORCE ends those connections instead.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = admin.connect().await.ok()?;
                conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                    .await
                    .ok()
            })
        });
        let _ = cleanup.join();
    }
}
