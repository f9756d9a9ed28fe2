//! The loop: catch up with the finalized head in batches, then follow it; survive the node
//! or the database going away by retrying with backoff.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};

use crate::source::ChainSource;
use crate::store::{BatchStats, Store};
use crate::IndexerError;

#[derive(Debug, Clone)]
pub struct FollowerConfig {
    pub rpc_url: String,
    /// The first block to read when the database has no cursor yet.
    pub from_block: u64,
    /// Blocks written per transaction.
    pub batch_blocks: u64,
    /// Blocks fetched from the node at once.
    pub fetch_concurrency: usize,
    /// How often to look for new finalized blocks once caught up.
    pub poll: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            rpc_url: "ws://127.0.0.1:9944".into(),
            from_block: 0,
            batch_blocks: 200,
            fetch_concurrency: 16,
            poll: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Running totals, for progress and the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub blocks: u64,
    pub events: u64,
    pub undecodable: u64,
}

pub struct Follower {
    config: FollowerConfig,
    store: Store,
    pub totals: Totals,
}

enum Progress {
    Bar(ProgressBar),
    Log { last: Instant },
}

impl Progress {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} block {pos}/{len} {wide_bar} {msg} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Log {
                last: Instant::now(),
            }
        }
    }

    fn update(&mut self, at: u64, head: u64, totals: &Totals, started: Instant) {
        let rate = totals.events as f64 / started.elapsed().as_secs_f64().max(1e-3);
        match self {
            Progress::Bar(bar) => {
                bar.set_length(head);
                bar.set_position(at);
                bar.set_message(format!("{} events, {rate:.0} events/s", totals.events));
            }
            Progress::Log { last } => {
                if last.elapsed() >= Duration::from_secs(5) || at == head {
                    tracing::info!(
                        block = at,
                        head,
                        events = totals.events,
                        events_per_s = rate as u64,
                        "indexed"
                    );
                    *last = Instant::now();
                }
            }
        }
    }
}

impl Follower {
    pub fn new(config: FollowerConfig, store: Store) -> Self {
        Follower {
            config,
            store,
            totals: Totals::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn next_block(&self) -> Result<u64, IndexerError> {
        Ok(match self.store.cursor().await? {
            Some(done) => done + 1,
            None => self.config.from_block,
        })
    }

    /// Indexes every finalized block up to the head as of now; returns that head.
    pub async fn catch_up(&mut self, source: &ChainSource) -> Result<u64, IndexerError> {
        let head = source.finalized_head().await?;
        let mut next = self.next_block().await?;
        let started = Instant::now();
        let mut progress = Progress::new();
        while next <= head {
            let last = head.min(next + self.config.batch_blocks - 1);
            let blocks: Vec<_> = futures::stream::iter(next..=last)
                .map(|n| source.block(n))
                .buffered(self.config.fetch_concurrency)
                .try_collect()
                .await?;
            let stats: BatchStats = self.store.write_batch(&blocks).await?;
            self.totals.blocks += stats.blocks;
            self.totals.events += stats.events;
            self.totals.undecodable += stats.undecodable;
            progress.update(last, head, &self.totals, started);
            next = last + 1;
        }
        if let Progress::Bar(bar) = progress {
            bar.finish_and_clear();
        }
        Ok(head)
    }

    /// Follows the chain until `stop` resolves, reconnecting with backoff whenever the node
    /// or the database fails.
    pub async fn run(
        &mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), IndexerError> {
        tokio::pin!(stop);
        let mut backoff = Duration::from_millis(250);
        loop {
            let attempt = async {
                let source = ChainSource::connect(&self.config.rpc_url).await?;
                loop {
                    self.catch_up(&source).await?;
                    tokio::time::sleep(self.config.poll).await;
                }
                #[allow(unreachable_code)]
                Ok::<(), IndexerError>(())
            };
            tokio::select! {
                _ = &mut stop => return Ok(()),
                result = attempt => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, retry_in = ?backoff, "indexing interrupted; retrying");
                    }
                }
            }
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }
}
