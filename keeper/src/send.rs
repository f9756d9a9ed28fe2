//! Sending refunds: each dry-run from the keeper's account, the accepted ones — as many as
//! fit the round's weight budget — in one `Utility.force_batch` (a refund the chain refuses
//! by then does not undo the others).

use std::collections::BTreeSet;

use dreamster_calls::release;
use dreamster_client::{explain, ClientError, Node, Weight};
use dreamster_types::errors::ReleaseError;
use dreamster_types::events::{DreamsterEvent, EntitlementAction};
use subxt::dynamic::Value;
use subxt_signer::sr25519::Keypair;

use crate::Due;

/// The round's budget when the chain does not state its limit: a quarter of a 2 s block's
/// computation, and 1 MiB of a parachain block's 5 MiB of proof.
pub const FALLBACK_BUDGET: Weight = Weight {
    ref_time: 500_000_000_000,
    proof_size: 1 << 20,
};

/// What a round will send, before it is sent.
#[derive(Debug, Default)]
pub struct Prepared {
    calls: Vec<Value>,
    /// The refunds in `calls`, in order.
    pub batch: Vec<Due>,
    /// Refunds the dry run refused, with why in words.
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

/// Half of what one transaction may weigh on this chain, so the batch also fits beside
/// others in a block.
pub fn budget(node: &Node) -> Weight {
    node.max_extrinsic_weight()
        .map_or(FALLBACK_BUDGET, |max| Weight {
            ref_time: max.ref_time / 2,
            proof_size: max.proof_size / 2,
        })
}

/// Dry-runs the refund of each of `due` as `keeper` and keeps those the chain accepts, as
/// many as fit `budget`.
pub async fn prepare(
    node: &Node,
    keeper: &Keypair,
    due: &[Due],
    budget: Weight,
) -> Result<Prepared, ClientError> {
    let origin = keeper.public_key().to_account_id();
    let mut prepared = Prepared::default();
    let mut used = Weight {
        ref_time: 0,
        proof_size: 0,
    };
    for d in due {
        let contract = d.release_address();
        let input = release::claim_refund(d.edition, d.perk);
        let mut dry = match node.dry_run(&origin, &contract, 0, &input).await {
            Ok(dry) => dry,
            Err(e) if is_transport(&e) => return Err(e),
            Err(e) => {
                prepared.refused.push((*d, e.to_string()));
                continue;
            }
        };
        let refusal = match dry.answer::<Result<u128, ReleaseError>>() {
            // A refund creates no storage (a pending entitlement's is a bit in its
            // edition's record, a stored one is overwritten): one that would charge a
            // deposit is no refund the keeper pays for.
            Ok(Ok(_)) if dry.storage_charge > 0 => Some(format!(
                "it would charge the keeper a storage deposit of {} planks",
                dry.storage_charge
            )),
            Ok(Ok(_)) => None,
            Ok(Err(refusal)) => Some(explain::release_error(&refusal)),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = refusal {
            prepared.refused.push((*d, why));
            continue;
        }
        // What the call is submitted with: the dry run's need plus the client's margin.
        let limit = dry.gas_limit();
        if limit.ref_time > budget.ref_time || limit.proof_size > budget.proof_size {
            prepared
                .refused
                .push((*d, "heavier than a round may send".into()));
            continue;
        }
        let next = Weight {
            ref_time: used.ref_time.saturating_add(limit.ref_time),
            proof_size: used.proof_size.saturating_add(limit.proof_size),
        };
        if next.ref_time > budget.ref_time || next.proof_size > budget.proof_size {
            prepared.deferred += 1;
            continue;
        }
        used = next;
        // Its deposit limit is what the dry run charged: exactly 0.
        dry.exact_deposit = true;
        prepared
            .calls
            .push(Node::batched_call(&contract, 0, input, &dry));
        prepared.batch.push(*d);
    }
    Ok(prepared)
}

/// Sends the prepared refunds in one transaction; returns those paid (matched by their
/// `Refunded` events) and those refused in the block.
pub async fn submit(
    node: &Node,
    keeper: &Keypair,
    prepared: Prepared,
) -> Result<(Vec<Due>, Vec<(Due, String)>), ClientError> {
    if prepared.calls.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let submitted = node.submit_each(keeper, prepared.calls).await?;
    let paid: BTreeSet<Due> = submitted
        .events
        .iter()
        .filter_map(|event| match event.dreamster().ok()? {
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
        })
        .collect();
    let (refunded, failed): (Vec<Due>, Vec<Due>) =
        prepared.batch.into_iter().partition(|d| paid.contains(d));
    let failed = failed
        .into_iter()
        .map(|d| (d, "accepted in the dry run but refused in the block".into()))
        .collect();
    Ok((refunded, failed))
}
