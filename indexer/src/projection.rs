//! How each event changes the read model: records it in the batch's [`Changes`], which
//! the store writes at the end of the batch, inside the batch's transaction.

use dreamster_types::entitlement::{EntitlementState, RefundReason};
use dreamster_types::events::*;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::stored::{clean, millis};
use dreamster_types::AccountId;
use sqlx::PgConnection;

pub use crate::changes::Origin;
use crate::changes::{
    ArbiterRow, ArtistRow, Changes, EditionRow, EntitlementChangeRow, EntitlementPatch,
    EntitlementRow, PerkRow, RatingRow, ReleaseArbiterRow, ReleaseRow, ReputationRow, SanitizedRow,
    TransferRow, WithdrawalRow,
};
use crate::copy::Numeric;

fn id(account: &AccountId) -> Vec<u8> {
    key(account).to_vec()
}

fn key(account: &AccountId) -> [u8; 32] {
    *<AccountId as AsRef<[u8; 32]>>::as_ref(account)
}

fn state(s: EntitlementState) -> &'static str {
    s.slug()
}

/// `text` as the read model stores it; its original bytes are kept when it was cleaned.
fn text(changes: &mut Changes, o: &Origin, field: &'static str, text: &str) -> String {
    let (cleaned, changed) = clean(text);
    if changed {
        changes.sanitized.push(SanitizedRow {
            block_number: o.block,
            event_index: o.event_index,
            field,
            original: text.as_bytes().to_vec(),
        });
    }
    cleaned
}

/// Applies one decoded event. `db` is only read (the escrow of an entitlement from an
/// earlier batch); every write waits in `changes`.
pub async fn apply(
    db: &mut PgConnection,
    changes: &mut Changes,
    o: &Origin,
    event: &DreamsterEvent,
) -> Result<(), sqlx::Error> {
    match event {
        DreamsterEvent::ArbiterAdded(e) => set_arbiter(changes, o, &e.arbiter, true),
        DreamsterEvent::ArbiterRemoved(e) => set_arbiter(changes, o, &e.arbiter, false),
        // Kept in raw_events; the pages read code changes and ownership from there.
        DreamsterEvent::ReleaseCodeSet(_)
        | DreamsterEvent::ReleaseCodeAnnounced(_)
        | DreamsterEvent::OwnershipOffered(_)
        | DreamsterEvent::OwnershipTransferred(_)
        | DreamsterEvent::Approval(_) => {}
        DreamsterEvent::ArtistRegistered(e) => {
            let name = text(changes, o, "artist.name", &e.name);
            let uri = text(changes, o, "artist.metadata_uri", &e.metadata_uri);
            changes.artists.push(ArtistRow {
                address: id(&e.artist),
                name,
                metadata_uri: uri,
                registered_at: millis(e.at),
                block_number: o.block,
                extrinsic_index: o.extrinsic,
            });
        }
        DreamsterEvent::ReleaseCreated(e) => {
            let t = &e.terms;
            let title = text(changes, o, "release.title", &t.title);
            let uri = text(changes, o, "release.metadata_uri", &t.metadata_uri);
            changes.releases.push(ReleaseRow {
                address: id(&e.release),
                registry: o.contract.to_vec(),
                artist: id(&e.artist),
                title,
                metadata_uri: uri,
                price: t.price.into(),
                max_editions: t.max_editions.map(i64::from),
                sale_start: millis(t.sale_start),
                sale_end: t.sale_end.map(millis),
                dispute_window: millis(t.dispute_window),
                code_hash: e.code_hash.to_vec(),
                created_at: millis(e.at),
                block_number: o.block,
                extrinsic_index: o.extrinsic,
            });
            // A hostile registry could name one arbiter twice: the table keeps each once.
            let mut named: Vec<&AccountId> = Vec::new();
            for arbiter in &e.arbiters {
                if !named.contains(&arbiter) {
                    named.push(arbiter);
                    changes.release_arbiters.push(ReleaseArbiterRow {
                        release: id(&e.release),
                        arbiter: id(arbiter),
                    });
                }
            }
        }
        DreamsterEvent::ReputationChanged(e) => {
            // Counters beyond INT (two billion deliveries) are stored at its maximum.
            let c = e
                .reputation
                .counters()
                .map(|c| i32::try_from(c).unwrap_or(i32::MAX));
            changes.reputation.insert(
                key(&e.artist),
                ReputationRow {
                    artist: id(&e.artist),
                    delivered_on_time: c[0],
                    delivered_late: c[1],
                    refunded_overdue: c[2],
                    disputes_won: c[3],
                    disputes_lost: c[4],
                    rating_sum: e.reputation.counters()[5],
                    rating_count: c[6],
                    cancelled: c[7],
                    unclaimed: c[8],
                    rulings_expired: c[9],
                    self_dealt: c[10],
                    self_rating_sum: e.reputation.counters()[11],
                    self_rating_count: c[12],
                    block_number: o.block,
                    extrinsic_index: o.extrinsic,
                },
            );
        }
        DreamsterEvent::PerkAdded(e) => perk_added(changes, o, e),
        DreamsterEvent::PerkCancelled(e) => {
            changes.cancelled.insert((o.contract, e.perk), millis(e.at));
        }
        DreamsterEvent::EditionSold(e) => edition_sold(db, changes, o, e).await?,
        DreamsterEvent::Transfer(e) => {
            changes.transfers.push(TransferRow {
                release: o.contract.to_vec(),
                edition: e.edition as i32,
                from_account: e.from.as_ref().map(id),
                to_account: e.to.as_ref().map(id),
                block_number: o.block,
                extrinsic_index: o.extrinsic,
                event_index: o.event_index,
            });
            // A mint's edition row is written by the EditionSold that follows it.
            if let (Some(_), Some(to)) = (&e.from, &e.to) {
                changes.owners.insert((o.contract, e.edition), id(to));
            }
        }
        DreamsterEvent::EntitlementChanged(e) => entitlement_changed(db, changes, o, e).await?,
        DreamsterEvent::PerkRated(e) => {
            changes.ratings.push(RatingRow {
                release: o.contract.to_vec(),
                edition: e.edition as i32,
                perk: e.perk as i32,
                holder: id(&e.holder),
                rating: i16::from(e.rating),
                block_number: o.block,
                extrinsic_index: o.extrinsic,
            });
            changes.patch(
                (o.contract, e.edition, e.perk),
                EntitlementPatch {
                    rating: Some(i16::from(e.rating)),
                    ..EntitlementPatch::default()
                },
            );
        }
        DreamsterEvent::EscrowReleased(e) => {
            let delta = changes.release_delta(o.contract);
            delta.escrow_held -= e.amount as i128;
            delta.artist_withdrawable += e.amount as i128;
        }
        DreamsterEvent::ArtistWithdrew(e) => {
            changes.withdrawals.push(WithdrawalRow {
                release: o.contract.to_vec(),
                artist: id(&e.artist),
                amount: e.amount.into(),
                block_number: o.block,
                extrinsic_index: o.extrinsic,
                event_index: o.event_index,
            });
            let delta = changes.release_delta(o.contract);
            delta.artist_withdrawable -= e.amount as i128;
            delta.withdrawn += e.amount as i128;
        }
    }
    Ok(())
}

fn set_arbiter(changes: &mut Changes, o: &Origin, arbiter: &AccountId, active: bool) {
    changes.arbiters.insert(
        key(arbiter),
        ArbiterRow {
            address: id(arbiter),
            active,
            block_number: o.block,
            extrinsic_index: o.extrinsic,
        },
    );
}

fn perk_added(changes: &mut Changes, o: &Origin, e: &PerkAdded) {
    let t = &e.terms;
    let title = text(changes, o, "perk.title", &t.title);
    let description = text(changes, o, "perk.description", &t.description);
    let uri = text(changes, o, "perk.metadata_uri", &t.metadata_uri);
    let row = PerkRow {
        release: o.contract.to_vec(),
        perk: e.perk as i32,
        category: t.category.slug(),
        kind: t.kind.slug(),
        title,
        description,
        metadata_uri: uri,
        estimated_value: t.estimated_value.into(),
        escrow_bps: i32::from(t.escrow_bps),
        delivery: t.delivery.slug(),
        content_hash: match t.delivery {
            DeliveryMethod::Automatic { content_hash } => Some(content_hash.to_vec()),
            _ => None,
        },
        quantity_limit: t.quantity_limit.map(i64::from),
        deadline: millis(t.deadline),
        added_at_edition: e.added_at_edition as i32,
        added_at: millis(e.at),
        block_number: o.block,
        extrinsic_index: o.extrinsic,
    };
    changes.add_perk(o.contract, e.perk, row);
}

async fn edition_sold(
    db: &mut PgConnection,
    changes: &mut Changes,
    o: &Origin,
    e: &EditionSold,
) -> Result<(), sqlx::Error> {
    changes.editions.push(EditionRow {
        release: o.contract.to_vec(),
        edition: e.edition as i32,
        buyer: id(&e.buyer),
        owner: id(&e.buyer),
        price: e.price.into(),
        artist_share: e.artist_share.into(),
        sold_at: millis(e.at),
        block_number: o.block,
        extrinsic_index: o.extrinsic,
    });
    let mut escrowed: i128 = 0;
    for (perk, escrow) in &e.entitlements {
        // The money is held whatever the read model can record of it: the books count it.
        escrowed = escrowed.saturating_add(*escrow as i128);
        let Some(deadline) = changes.deadline_of(db, o.contract, *perk).await? else {
            // The release's contract speaks of a perk it never announced: no entitlement
            // row can hold it (the event stays in raw_events), and nothing of it is
            // remembered for later events, so the books come out the same however the
            // blocks are batched.
            tracing::warn!(
                block = o.block,
                perk,
                "an entitlement to a perk never added; no row for it"
            );
            continue;
        };
        changes.entitlements.push(EntitlementRow {
            release: o.contract.to_vec(),
            edition: e.edition as i32,
            perk: *perk as i32,
            escrow: Numeric::from(*escrow),
            state: state(EntitlementState::Pending),
            deadline,
            created_block: o.block,
            block_number: o.block,
            extrinsic_index: o.extrinsic,
        });
        changes
            .new_escrows
            .insert((o.contract, e.edition, *perk), *escrow);
        *changes.granted.entry((o.contract, *perk)).or_default() += 1;
    }
    let delta = changes.release_delta(o.contract);
    delta.editions_sold += 1;
    delta.escrow_held += escrowed;
    delta.artist_withdrawable += e.artist_share as i128;
    Ok(())
}

async fn entitlement_changed(
    db: &mut PgConnection,
    changes: &mut Changes,
    o: &Origin,
    e: &EntitlementChanged,
) -> Result<(), sqlx::Error> {
    let refund_reason = match e.action {
        EntitlementAction::Refunded { reason, .. } => Some(reason.slug()),
        _ => None,
    };
    let (action, proof, amount, refund, late) = match e.action {
        EntitlementAction::Unlocked { content_hash } => {
            ("unlocked", Some(content_hash), None, None, Some(false))
        }
        EntitlementAction::MarkedDelivered { proof, late } => {
            ("marked_delivered", Some(proof), None, None, Some(late))
        }
        EntitlementAction::Confirmed => ("confirmed", None, None, None, None),
        EntitlementAction::ConfirmedByTimeout => ("confirmed_by_timeout", None, None, None, None),
        EntitlementAction::Disputed { evidence } => ("disputed", Some(evidence), None, None, None),
        EntitlementAction::Resolved { refund } => ("resolved", None, None, Some(refund), None),
        EntitlementAction::Refunded { amount, reason } => (
            "refunded",
            None,
            Some(amount),
            Some(reason == RefundReason::Ruled),
            Some(reason == RefundReason::Overdue),
        ),
    };
    changes.entitlement_changes.push(EntitlementChangeRow {
        release: o.contract.to_vec(),
        edition: e.edition as i32,
        perk: e.perk as i32,
        actor: id(&e.actor),
        from_state: state(e.from),
        to_state: state(e.to),
        action,
        proof: proof.map(|p| p.to_vec()),
        amount: amount.map(Numeric::from),
        refund,
        late,
        at: millis(e.at),
        refund_reason,
        block_number: o.block,
        extrinsic_index: o.extrinsic,
        event_index: o.event_index,
    });

    let key = (o.contract, e.edition, e.perk);
    let mut patch = EntitlementPatch {
        state: Some((state(e.to), o.block, o.extrinsic)),
        ..EntitlementPatch::default()
    };
    match e.action {
        EntitlementAction::Unlocked { .. } | EntitlementAction::MarkedDelivered { .. } => {
            patch.delivered_at = Some(millis(e.at));
            patch.proof = proof.map(|p| p.to_vec());
            patch.late = late;
            patch.unlocked = Some(matches!(e.action, EntitlementAction::Unlocked { .. }));
        }
        EntitlementAction::Disputed { evidence } => {
            patch.evidence = Some(evidence.to_vec());
            patch.disputed_at = Some(millis(e.at));
        }
        _ => {}
    }
    changes.patch(key, patch);

    // Money that moves without an EscrowReleased event of its own.
    match e.action {
        EntitlementAction::Resolved { refund: true } => {
            let escrow = changes.escrow_of(db, key).await? as i128;
            let delta = changes.release_delta(o.contract);
            delta.escrow_held -= escrow;
            delta.refunds_owed += escrow;
        }
        EntitlementAction::Refunded { amount, reason } => {
            let delta = changes.release_delta(o.contract);
            // A ruled refund was moved to refunds owed by the ruling; every other refund
            // leaves escrow directly.
            if reason == RefundReason::Ruled {
                delta.refunds_owed -= amount as i128;
            } else {
                delta.escrow_held -= amount as i128;
            }
        }
        _ => {}
    }
    Ok(())
}
