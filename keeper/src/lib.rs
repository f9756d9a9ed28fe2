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
use dreamster_types::Balance;
use sqlx::PgPool;
use subxt_signer::sr25519::Keypair;

pub use due::Due;

#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    #[error("reading the read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("talking to the node: {0}")]
    Node(#[from] ClientError),
    #[error("the round took longer than {0:?}; the node connection is opened anew")]
    Timeout(Duration),
}

/// How the keeper paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Time between two rounds.
    pub interval: Duration,
    /// The most refunds one round looks at; those that fit the weight budget (half of
    /// what one transaction may weigh on the chain, `send::budget`) go in its one
    /// transaction, the rest wait for the next round.
    pub per_round: u32,
    /// How long a refund the chain refused is left alone (the read model may lag behind
    /// the chain, or the transfer to the holder may fail) before it is tried again.
    pub retry_after: Duration,
    /// The smallest escrow worth a refund's fee (planks): dust is left to its holder.
    pub min_escrow: Balance,
    /// The longest a round may take (a node that stops answering mid-round).
    pub round_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval: Duration::from_secs(30),
            per_round: 32,
            retry_after: Duration::from_secs(600),
            min_escrow: 1_000_000_000,
            round_timeout: Duration::from_secs(120),
        }
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Refunds found due in the read model.
    pub due: usize,
    /// Refunds the chain paid (each matched by its `Refunded` event).
    pub refunded: Vec<Due>,
    /// Refunds the chain refused, with its reason in words; left alone for `retry_after`.
    pub refused: Vec<(Due, String)>,
    /// Refunds left for the next round (over the weight budget).
    pub deferred: usize,
}

/// The keeper: one account, the read model, the node.
pub struct Keeper {
    db: PgPool,
    rpc_url: String,
    /// `None` until connected, and again after a failure: the next round reconnects.
    node: Option<Node>,
    account: Keypair,
    config: Config,
    /// Refused refunds and when they may be tried again.
    resting: HashMap<Due, Instant>,
}

impl Keeper {
    pub fn new(db: PgPool, rpc_url: impl Into<String>, account: Keypair, config: Config) -> Self {
        Keeper {
            db,
            rpc_url: rpc_url.into(),
            node: None,
            account,
            config,
            resting: HashMap::new(),
        }
    }

    /// One round: the refunds due at the chain's current time, sent. Bounded by
    /// `round_timeout`; after a failure of the node the connection is opened anew.
    pub async fn round(&mut self) -> Result<Round, KeeperError> {
        let limit = self.config.round_timeout;
        let result = match tokio::time::timeout(limit, self.round_unbounded()).await {
            Ok(result) => result,
            Err(_) => Err(KeeperError::Timeout(limit)),
        };
        if matches!(result, Err(KeeperError::Node(_) | KeeperError::Timeout(_))) {
            self.node = None;
        }
        result
    }

    async fn round_unbounded(&mut self) -> Result<Round, KeeperError> {
        if self.node.is_none() {
            self.node = Some(Node::connect(&self.rpc_url).await?);
        }
        let Some(node) = self.node.as_ref() else {
            return Ok(Round::default());
        };
        let now = node.chain_time().await?;
        let wake = Instant::now();
        self.resting.retain(|_, until| *until > wake);
        let resting: Vec<Due> = self.resting.keys().copied().collect();
        let query = due::Query {
            now,
            limit: self.config.per_round,
            min_escrow: self.config.min_escrow,
            resting: &resting,
        };
        let due = due::due(&self.db, query).await?;
        let mut prepared = send::prepare(node, &self.account, &due, send::budget(node)).await?;
        let rest_until = wake + self.config.retry_after;
        // What is about to be sent rests too, before it is sent: if the transaction is
        // still waiting when a later round looks (the round timed out, the connection
        // dropped), its refunds are not sent a second time, with a second fee.
        for d in prepared
            .batch
            .iter()
            .chain(prepared.refused.iter().map(|(d, _)| d))
        {
            self.resting.insert(*d, rest_until);
        }
        let mut refused = std::mem::take(&mut prepared.refused);
        let deferred = prepared.deferred;
        let (refunded, failed) = send::submit(node, &self.account, prepared).await?;
        refused.extend(failed);
        Ok(Round {
            due: due.len(),
            refunded,
            refused,
            deferred,
        })
    }

    /// Rounds every `interval` until `shutdown` completes; a shutdown stops a round under
    /// way at once (a refund already sent is the chain's to include, and a later round
    /// finds it paid). A failing round is logged and the next one tries again.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(self.config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            let round = tokio::select! {
                () = &mut shutdown => return,
                round = self.round() => round,
            };
            match round {
                Ok(round) => {
                    for (d, why) in &round.refused {
                        tracing::info!(release = %d.release_address(), edition = d.edition, perk = d.perk, "refund refused: {why}");
                    }
                    if round.due > 0 {
                        tracing::info!(
                            due = round.due,
                            refunded = round.refunded.len(),
                            deferred = round.deferred,
                            "keeper round"
                        );
                    }
                }
                Err(e) => tracing::warn!("keeper round failed: {e}"),
            }
        }
    }
}
