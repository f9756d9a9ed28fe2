//! placeholder
use crate::args::DemoArgs;
use crate::chain::Session;
use crate::report::Report;
pub async fn run(_s: &Session, _a: &DemoArgs) -> anyhow::Result<Report> {
    anyhow::bail!("todo")
}
