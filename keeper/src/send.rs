//! Sending refunds: each dry-run from the keeper's account, the accepted ones in one
//! `Utility.force_batch` (one refund the chain refuses by then does not undo the others).

use dreamster_calls::release;
use dreamster_client::{explain, ClientError, Node};
use dreamster_types::errors::ReleaseError;
use dreamster_types::events::{DreamsterEvent, EntitlementAction};
use subxt_signer::sr25519::Keypair;

use crate::Due;

/// What the chain did with a round's refunds.
#[derive(Debug, Default)]
pub struct Sent {
    /// Refunds paid (the `Refunded` events of the transaction).
    pub refunded: usize,
    /// Refunds the dry run refused, with the refusal in words.
    pub refused: Vec<(Due, String)>,
}

/// Dry-runs the refund of each of `due` as `keeper`, then sends the accepted ones.
pub async fn refund(node: &Node, keeper: &Keypair, due: &[Due]) -> Result<Sent, ClientError> {
    let origin = keeper.public_key().to_account_id();
    let mut sent = Sent::default();
    let mut calls = Vec::new();
    for d in due {
        let contract = d.release_address();
        let input = release::claim_refund(d.edition, d.perk);
        let dry = node.dry_run(&origin, &contract, 0, &input).await?;
        match dry.answer::<Result<u128, ReleaseError>>() {
            Ok(Ok(_)) => calls.push(Node::batched_call(&contract, 0, input, &dry)),
            Ok(Err(refusal)) => sent.refused.push((*d, explain::release_error(&refusal))),
            Err(e) => sent.refused.push((*d, e.to_string())),
        }
    }
    if calls.is_empty() {
        return Ok(sent);
    }
    let submitted = node.submit_each(keeper, calls).await?;
    sent.refunded = submitted
        .events
        .iter()
        .filter_map(|event| {
            let topics: Vec<[u8; 32]> = event.topics.iter().map(|t| t.0).collect();
            DreamsterEvent::decode(&topics, &event.data).ok()
        })
        .filter(|event| {
            matches!(event, DreamsterEvent::EntitlementChanged(c)
                if matches!(c.action, EntitlementAction::Refunded { .. }))
        })
        .count();
    Ok(sent)
}
