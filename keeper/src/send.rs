//! Sending refunds: each dry-run from the keeper's account, the accepted ones — as many as
//! fit the round's weight budget — in one `Utility.force_batch` (a refund the chain refuses
//! by then does not undo the others).

use std::collections::BTreeSet;

use dreamster_calls::release;
use dreamster_client::{explain, ClientError, Node};
use dreamster_types::errors::ReleaseError;
use dreamster_types::events::{DreamsterEvent, EntitlementAction};
use subxt_signer::sr25519::Keypair;

use crate::Due;

/// The most computation one round's transaction may need: a quarter of a 2 s block, so
/// the batch always fits beside other transactions (a batch too heavy for a block would
/// be refused every round).
pub const ROUND_REF_TIME: u64 = 500_000_000_000;
/// The most proof one round's transaction may need: 1 MiB of a parachain block's 5 MiB.
pub const ROUND_PROOF_SIZE: u64 = 1 << 20;

/// What the chain did with a round's refunds.
#[derive(Debug, Default)]
pub struct Sent {
    /// Refunds paid (matched by their `Refunded` events).
    pub refunded: Vec<Due>,
    /// Refunds the chain refused, in the dry run or in the block, with why in words.
    pub refused: Vec<(Due, String)>,
    /// Refunds left for the next round: the budget was spent.
    pub deferred: usize,
}

/// Whether an error is the node's or the connection's (the round stops) rather than this
/// one call's (it is refused and the others go on).
fn is_transport(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Connect { .. } | ClientError::Subxt(_) | ClientError::Core(_)
    )
}

/// Dry-runs the refund of each of `due` as `keeper`, then sends the accepted ones.
pub async fn refund(node: &Node, keeper: &Keypair, due: &[Due]) -> Result<Sent, ClientError> {
    let origin = keeper.public_key().to_account_id();
    let mut sent = Sent::default();
    let mut calls = Vec::new();
    let mut batch = Vec::new();
    let (mut ref_time, mut proof_size) = (0u64, 0u64);
    for d in due {
        let contract = d.release_address();
        let input = release::claim_refund(d.edition, d.perk);
        let mut dry = match node.dry_run(&origin, &contract, 0, &input).await {
            Ok(dry) => dry,
            Err(e) if is_transport(&e) => return Err(e),
            Err(e) => {
                sent.refused.push((*d, e.to_string()));
                continue;
            }
        };
        match dry.answer::<Result<u128, ReleaseError>>() {
            Ok(Ok(_)) => {}
            Ok(Err(refusal)) => {
                sent.refused.push((*d, explain::release_error(&refusal)));
                continue;
            }
            Err(e) => {
                sent.refused.push((*d, e.to_string()));
                continue;
            }
        }
        let next = (
            ref_time.saturating_add(dry.gas_required.ref_time),
            proof_size.saturating_add(dry.gas_required.proof_size),
        );
        if next.0 > ROUND_REF_TIME || next.1 > ROUND_PROOF_SIZE {
            sent.deferred += 1;
            continue;
        }
        (ref_time, proof_size) = next;
        // A refund frees storage, never takes more: the keeper's account pays no deposit.
        dry.exact_deposit = true;
        calls.push(Node::batched_call(&contract, 0, input, &dry));
        batch.push(*d);
    }
    if calls.is_empty() {
        return Ok(sent);
    }
    let submitted = node.submit_each(keeper, calls).await?;
    let paid: BTreeSet<Due> = submitted
        .events
        .iter()
        .filter_map(|event| {
            let topics: Vec<[u8; 32]> = event.topics.iter().map(|t| t.0).collect();
            match DreamsterEvent::decode(&topics, &event.data).ok()? {
                DreamsterEvent::EntitlementChanged(c)
                    if matches!(c.action, EntitlementAction::Refunded { .. }) =>
                {
                    Some(Due {
                        release: event.contract.0,
                        edition: c.edition,
                        perk: c.perk,
                    })
                }
                _ => None,
            }
        })
        .collect();
    for d in batch {
        if paid.contains(&d) {
            sent.refunded.push(d);
        } else {
            sent.refused
                .push((d, "accepted in the dry run but refused in the block".into()));
        }
    }
    Ok(sent)
}
