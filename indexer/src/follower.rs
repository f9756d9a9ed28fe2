//! The loop: catch up with the finalized head in batches, then follow it; survive the node
//! or the database going away by retrying with backoff.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::source::{BlockEvents, ChainSource};
use crate::store::{BatchStats, Commit, Store};
use crate::telemetry::{Health, HealthRules};
use crate::IndexerError;

#[derive(Debug, Clone)]
pub struct FollowerConfig {
    pub rpc_url: String,
    /// The first block to read when the database has no cursor yet.
    pub from_block: u64,
    /// Most blocks written per transaction.
    pub batch_blocks: u64,
    /// A batch also ends once it holds this many events, so a few dense blocks still
    /// make several batches and fetching the next overlaps writing this one.
    pub batch_events: u64,
    /// Blocks fetched from the node at once.
    pub fetch_concurrency: usize,
    /// How often to look for new finalized blocks once caught up, when no notification of
    /// one arrives (the follower subscribes to finalized heads and reacts to each).
    pub poll: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl FollowerConfig {
    /// Whether a batch of `blocks` blocks holding `events` events is full: it is written
    /// and a new one begins.
    pub fn batch_full(&self, blocks: u64, events: u64) -> bool {
        blocks >= self.batch_blocks || events >= self.batch_events
    }
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            rpc_url: "ws://127.0.0.1:9944".into(),
            from_block: 0,
            batch_blocks: 200,
            batch_events: 5_000,
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
    pub rejected: u64,
    pub unreadable: u64,
}

pub struct Follower {
    config: FollowerConfig,
    store: Store,
    pub totals: Totals,
    last_log: Option<Instant>,
    health: Arc<Health>,
}

/// A catch-up this long is a backfill: its end gets a log line of its own.
const BACKFILL_BLOCKS: u64 = 1_000;

enum Progress {
    Bar(ProgressBar),
    /// Without a terminal: a line every 5 s while backfilling, and once a minute at most
    /// while following the head (a line per block would drown a real chain's logs).
    Log {
        last: Option<Instant>,
        backfill: bool,
    },
}

impl Progress {
    fn new(last_log: Option<Instant>, blocks: u64) -> Self {
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
                last: last_log,
                backfill: blocks >= BACKFILL_BLOCKS,
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
            Progress::Log { last, backfill } => {
                let every = Duration::from_secs(if *backfill { 5 } else { 60 });
                // The first catch-up always ends with a line: the operator sees it started.
                let due = last.map_or(at == head, |l| l.elapsed() >= every);
                if due || (*backfill && at == head) {
                    tracing::info!(
                        block = at,
                        head,
                        events = totals.events,
                        events_per_s = rate as u64,
                        "indexed"
                    );
                    *last = Some(Instant::now());
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
            last_log: None,
            health: Arc::new(Health::new(HealthRules::default())),
        }
    }

    /// Judges health by `rules` instead of the defaults.
    pub fn with_health_rules(mut self, rules: HealthRules) -> Self {
        self.health = Arc::new(Health::new(rules));
        self
    }

    /// What `/health` reports on.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    async fn next_block(&self) -> Result<u64, IndexerError> {
        Ok(match self.store.cursor().await? {
            Some(done) => done + 1,
            None => self.config.from_block,
        })
    }

    /// Indexes every finalized block up to the head as of now; returns that head.
    ///
    /// A task fetches blocks in order, `fetch_concurrency` at a time and up to a few
    /// batches ahead, while this one writes them: the node's time and the database's overlap.
    pub async fn catch_up(&mut self, source: &ChainSource) -> Result<u64, IndexerError> {
        let head = source.finalized_head().await?;
        let first = self.next_block().await?;
        self.health.heights(first.checked_sub(1), head);
        if first > head {
            return Ok(head);
        }
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel(2 * self.config.batch_blocks as usize);
        let fetcher = tokio::spawn(fetch_in_order(
            source.clone(),
            first..=head,
            self.config.fetch_concurrency,
            sender,
        ));
        let started = Instant::now();
        let mut progress = Progress::new(self.last_log, head + 1 - first);
        let mut batch = Vec::new();
        let mut batch_events = 0u64;
        let mut expected = first;
        let outcome = loop {
            let next = receiver.recv().await;
            let done = next.is_none();
            match next {
                Some(Ok(block)) => {
                    expected = block.number + 1;
                    batch_events += block.events.len() as u64;
                    batch.push(block);
                }
                Some(Err(e)) => break Err(e),
                None => {}
            }
            let full = self.config.batch_full(batch.len() as u64, batch_events);
            if (full || done) && !batch.is_empty() {
                let last = batch.last().map_or(head, |b| b.number);
                let writing = Instant::now();
                // Batches with more behind them need not wait for the disk: a database
                // crash undoes them whole and they are written again from the chain.
                let commit = if last < head {
                    Commit::Replayable
                } else {
                    Commit::Durable
                };
                match self.store.write_batch_with(&batch, commit).await {
                    Ok(stats) => {
                        self.health
                            .batch(last, &stats, writing.elapsed().as_secs_f64());
                        self.count(&stats);
                    }
                    Err(e) => break Err(e),
                }
                progress.update(last, head, &self.totals, started);
                batch.clear();
                batch_events = 0;
            }
            if done {
                // The fetcher ends early only on an error it sends; anything else is a bug.
                break if expected == head + 1 {
                    Ok(head)
                } else {
                    Err(IndexerError::MissingBlock(expected))
                };
            }
        };
        fetcher.abort();
        match progress {
            Progress::Bar(bar) => bar.finish_and_clear(),
            Progress::Log { last, .. } => self.last_log = last,
        }
        outcome
    }

    fn count(&mut self, stats: &BatchStats) {
        self.totals.blocks += stats.blocks;
        self.totals.events += stats.events;
        self.totals.undecodable += stats.undecodable;
        self.totals.rejected += stats.rejected;
        self.totals.unreadable += stats.unreadable;
    }

    /// Refuses a node whose chain is not the one the database was indexed from: the block
    /// at the cursor must have the stored hash (a reset dev chain or a wrong `--rpc-url`
    /// would otherwise mix two chains in one read model).
    pub async fn check_chain(&self, source: &ChainSource) -> Result<(), IndexerError> {
        let Some((block, stored)) = self.store.cursor_at().await? else {
            return Ok(());
        };
        // A node without that block may be the right chain still syncing: retried. A
        // different block there is another chain: refused for good.
        let found = source
            .block_hash(block)
            .await?
            .ok_or(IndexerError::NodeBehind(block))?;
        if found.0.as_slice() != stored.as_slice() {
            return Err(IndexerError::WrongChain {
                block,
                stored: format!("0x{}", crate::store::hex(&stored)),
                found: format!("0x{}", crate::store::hex(&found.0)),
            });
        }
        Ok(())
    }

    /// Follows the chain until `stop` resolves, reconnecting with backoff whenever the node
    /// or the database fails.
    pub async fn run(
        &mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), IndexerError> {
        tokio::pin!(stop);
        const FIRST_BACKOFF: Duration = Duration::from_millis(250);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let written = self.totals.blocks;
            let attempt = async {
                let source = ChainSource::connect(&self.config.rpc_url).await?;
                self.check_chain(&source).await?;
                let mut heads = source.finalized_heads().await?;
                loop {
                    self.catch_up(&source).await?;
                    self.health.succeeded();
                    // The next finalized head, or the poll as a safety net; a subscription
                    // that ends is a lost connection, so reconnect.
                    tokio::select! {
                        head = heads.next() => {
                            if head.is_none() {
                                return Err(IndexerError::NodeUnreachable(
                                    self.config.rpc_url.clone(),
                                    "the finalized-heads subscription ended".into(),
                                ));
                            }
                        }
                        _ = tokio::time::sleep(self.config.poll) => {}
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), IndexerError>(())
            };
            tokio::select! {
                _ = &mut stop => return Ok(()),
                result = attempt => match result {
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        self.health.failed(&e);
                        // Work done since the last failure: the next one starts over short.
                        if self.totals.blocks > written {
                            backoff = FIRST_BACKOFF;
                        }
                        tracing::warn!(error = %e, retry_in = ?backoff, "indexing interrupted; retrying");
                    }
                    Ok(()) => {}
                }
            }
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
            // The writer lock and the known releases, as the database has them now.
            tokio::select! {
                _ = &mut stop => return Ok(()),
                recovered = self.store.recover() => {
                    if let Err(e) = recovered {
                        tracing::warn!(error = %e, "the database is not back yet");
                    }
                }
            }
        }
    }
}

/// Sends the blocks of `range` in order; stops at the first error (sent on) or when the
/// receiver is gone.
async fn fetch_in_order(
    source: ChainSource,
    range: std::ops::RangeInclusive<u64>,
    concurrency: usize,
    sender: tokio::sync::mpsc::Sender<Result<BlockEvents, IndexerError>>,
) {
    let mut blocks = futures::stream::iter(range)
        .map(|n| source.block(n))
        .buffered(concurrency);
    while let Some(block) = blocks.next().await {
        let failed = block.is_err();
        if sender.send(block).await.is_err() || failed {
            return;
        }
    }
}
