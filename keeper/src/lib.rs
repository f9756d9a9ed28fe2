//! The refund keeper: a fan who is let down is refunded even if they never open the page.
//!
//! A release's `claim_refund` may be triggered by anyone once the holder has no choice
//! left to make (`Entitlement::refund_open_to_anyone_from` in the types crate, the one
//! definition the contract enforces), and it always pays the edition's holder. The keeper
//! reads the read model for such entitlements ([`due`]), dry-runs each refund from its own
//! account and sends the accepted ones in one transaction per round ([`send`]). It pays
//! the fees and gains nothing: the chain, not the keeper, decides who is paid.

pub mod due;
pub mod send;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use dreamster_client::{ClientError, Node};
use sqlx::PgPool;
use subxt_signer::sr25519::Keypair;

pub use due::Due;

#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    #[error("reading the read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("talking to the node: {0}")]
    Node(#[from] ClientError),
}

/// How the keeper paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Time between two rounds.
    pub interval: Duration,
    /// The most refunds one round sends (one transaction): a round stays well inside a
    /// block's weight however many perks fall due at once; the rest wait for the next.
    pub per_round: u32,
    /// How long a refund the chain refused is left alone (the read model may lag behind
    /// the chain, or the transfer to the holder may fail) before it is tried again.
    pub retry_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval: Duration::from_secs(30),
            per_round: 32,
            retry_after: Duration::from_secs(600),
        }
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Refunds found due in the read model.
    pub due: usize,
    /// Refunds the chain took (each an `EntitlementChanged … Refunded` event).
    pub refunded: usize,
    /// Refunds the chain refused, with its reason in words.
    pub refused: Vec<(Due, String)>,
}

/// The keeper: one account, the read model, the node.
pub struct Keeper {
    db: PgPool,
    node: Node,
    account: Keypair,
    config: Config,
    /// Refused refunds and when they may be tried again.
    resting: HashMap<Due, Instant>,
}

impl Keeper {
    pub fn new(db: PgPool, node: Node, account: Keypair, config: Config) -> Self {
        Keeper {
            db,
            node,
            account,
            config,
            resting: HashMap::new(),
        }
    }

    /// One round: the refunds due at the chain's current time, sent.
    pub async fn round(&mut self) -> Result<Round, KeeperError> {
        let now = self.node.chain_time().await?;
        let wake = Instant::now();
        self.resting.retain(|_, until| *until > wake);
        let mut due = due::due(&self.db, now, self.config.per_round).await?;
        due.retain(|d| !self.resting.contains_key(d));
        let sent = send::refund(&self.node, &self.account, &due).await?;
        for (d, _) in &sent.refused {
            self.resting.insert(*d, wake + self.config.retry_after);
        }
        Ok(Round {
            due: due.len(),
            refunded: sent.refunded,
            refused: sent.refused,
        })
    }

    /// Rounds every `interval` until `shutdown` completes. A failing round (the node or
    /// the database away for a moment) is logged and the next one tries again.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(self.config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            match self.round().await {
                Ok(round) => {
                    for (d, why) in &round.refused {
                        tracing::info!(release = %d.release_address(), edition = d.edition, perk = d.perk, "refund refused: {why}");
                    }
                    if round.due > 0 {
                        tracing::info!(due = round.due, refunded = round.refunded, "keeper round");
                    }
                }
                Err(e) => tracing::warn!("keeper round failed: {e}"),
            }
        }
    }
}
