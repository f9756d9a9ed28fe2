//! The axum API and server-rendered dashboards over the read model (issue: API). Not built yet.
