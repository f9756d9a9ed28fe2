//! placeholder
use crate::args::AuditCommand;
use crate::chain::Session;
use crate::report::Report;
pub async fn run(_s: &Session, _a: &AuditCommand) -> anyhow::Result<Report> {
    anyhow::bail!("todo")
}
