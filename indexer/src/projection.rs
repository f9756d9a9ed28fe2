//! How each event changes the read model: records it in the batch's [`Changes`], which
//! the store writes at the end of the batch, inside the batch's transaction.

use dreamster_types::entitlement::EntitlementState;
use dreamster_types::events::*;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::stored::{clean, millis};
use dreamster_types::AccountId;
use sqlx::PgConnection;

pub use crate::changes::Origin;
use crate::changes::{ArbiterRow, Changes, EntitlementPatch, ReputationRow, SanitizedRow};

fn id(account: &AccountId) -> Vec<u8> {
    key(account).to_vec()
}

fn key(account: &AccountId) -> [u8; 32] {
    *<AccountId as AsRef<[u8; 32]>>::as_ref(account)
}

fn num(value: u128) -> String {
    value.to_string()
}

fn state(s: EntitlementState) -> &'static str {
    s.slug()
}

/// `text` as the read model stores it; its original bytes are kept when it was cleaned.
fn text(changes: &mut Changes, o: &Origin, field: &'static str, text: &str) -> String {
    let (cleaned, changed) = clean(text);
    if changed {
        changes.sanitized.push(SanitizedRow {
            block: o.block,
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
        DreamsterEvent::ReleaseCodeSet(_) | DreamsterEvent::Approval(_) => {}
        DreamsterEvent::ArtistRegistered(e) => {
            let name = text(changes, o, "artist.name", &e.name);
            let uri = text(changes, o, "artist.metadata_uri", &e.metadata_uri);
            let a = &mut changes.artists;
            a.address.push(id(&e.artist));
            a.name.push(name);
            a.metadata_uri.push(uri);
            a.registered_at.push(millis(e.at));
            a.block.push(o.block);
            a.extrinsic.push(o.extrinsic);
        }
        DreamsterEvent::ReleaseCreated(e) => {
            let t = &e.terms;
            let title = text(changes, o, "release.title", &t.title);
            let uri = text(changes, o, "release.metadata_uri", &t.metadata_uri);
            let r = &mut changes.releases;
            r.address.push(id(&e.release));
            r.registry.push(o.contract.to_vec());
            r.artist.push(id(&e.artist));
            r.title.push(title);
            r.metadata_uri.push(uri);
            r.price.push(num(t.price));
            r.max_editions.push(t.max_editions.map(i64::from));
            r.sale_start.push(millis(t.sale_start));
            r.sale_end.push(t.sale_end.map(millis));
            r.dispute_window.push(millis(t.dispute_window));
            r.created_at.push(millis(e.at));
            r.block.push(o.block);
            r.extrinsic.push(o.extrinsic);
        }
        DreamsterEvent::ReputationChanged(e) => {
            let r = &e.reputation;
            changes.reputation.insert(
                key(&e.artist),
                ReputationRow {
                    counters: r.counters(),
                    block: o.block,
                    extrinsic: o.extrinsic,
                },
            );
        }
        DreamsterEvent::PerkAdded(e) => perk_added(changes, o, e),
        DreamsterEvent::EditionSold(e) => edition_sold(changes, o, e),
        DreamsterEvent::Transfer(e) => {
            let t = &mut changes.transfers;
            t.release.push(o.contract.to_vec());
            t.edition.push(e.edition as i32);
            t.from.push(e.from.as_ref().map(id));
            t.to.push(e.to.as_ref().map(id));
            t.block.push(o.block);
            t.extrinsic.push(o.extrinsic);
            t.event_index.push(o.event_index);
            // A mint's edition row is written by the EditionSold that follows it.
            if let (Some(_), Some(to)) = (&e.from, &e.to) {
                changes.owners.insert((o.contract, e.edition), id(to));
            }
        }
        DreamsterEvent::EntitlementChanged(e) => entitlement_changed(db, changes, o, e).await?,
        DreamsterEvent::PerkRated(e) => {
            let r = &mut changes.ratings;
            r.release.push(o.contract.to_vec());
            r.edition.push(e.edition as i32);
            r.perk.push(e.perk as i32);
            r.holder.push(id(&e.holder));
            r.rating.push(i16::from(e.rating));
            r.block.push(o.block);
            r.extrinsic.push(o.extrinsic);
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
            let w = &mut changes.withdrawals;
            w.release.push(o.contract.to_vec());
            w.artist.push(id(&e.artist));
            w.amount.push(num(e.amount));
            w.block.push(o.block);
            w.extrinsic.push(o.extrinsic);
            w.event_index.push(o.event_index);
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
            active,
            block: o.block,
            extrinsic: o.extrinsic,
        },
    );
}

fn perk_added(changes: &mut Changes, o: &Origin, e: &PerkAdded) {
    let t = &e.terms;
    let title = text(changes, o, "perk.title", &t.title);
    let description = text(changes, o, "perk.description", &t.description);
    let uri = text(changes, o, "perk.metadata_uri", &t.metadata_uri);
    let p = &mut changes.perks;
    p.release.push(o.contract.to_vec());
    p.perk.push(e.perk as i32);
    p.category.push(t.category.slug().to_string());
    p.kind.push(t.kind.slug().to_string());
    p.title.push(title);
    p.description.push(description);
    p.metadata_uri.push(uri);
    p.estimated_value.push(num(t.estimated_value));
    p.escrow_bps.push(i32::from(t.escrow_bps));
    p.delivery.push(t.delivery.slug().to_string());
    p.content_hash.push(match t.delivery {
        DeliveryMethod::Automatic { content_hash } => Some(content_hash.to_vec()),
        _ => None,
    });
    p.quantity_limit.push(t.quantity_limit.map(i64::from));
    p.deadline.push(millis(t.deadline));
    p.added_at_edition.push(e.added_at_edition as i32);
    p.added_at.push(millis(e.at));
    p.block.push(o.block);
    p.extrinsic.push(o.extrinsic);
}

fn edition_sold(changes: &mut Changes, o: &Origin, e: &EditionSold) {
    let ed = &mut changes.editions;
    ed.release.push(o.contract.to_vec());
    ed.edition.push(e.edition as i32);
    ed.buyer.push(id(&e.buyer));
    ed.price.push(num(e.price));
    ed.artist_share.push(num(e.artist_share));
    ed.sold_at.push(millis(e.at));
    ed.block.push(o.block);
    ed.extrinsic.push(o.extrinsic);
    let mut escrowed: i128 = 0;
    for (perk, escrow) in &e.entitlements {
        escrowed = escrowed.saturating_add(*escrow as i128);
        let en = &mut changes.entitlements;
        en.release.push(o.contract.to_vec());
        en.edition.push(e.edition as i32);
        en.perk.push(*perk as i32);
        en.escrow.push(num(*escrow));
        en.block.push(o.block);
        en.extrinsic.push(o.extrinsic);
        changes
            .new_escrows
            .insert((o.contract, e.edition, *perk), *escrow);
        *changes.granted.entry((o.contract, *perk)).or_default() += 1;
    }
    let delta = changes.release_delta(o.contract);
    delta.editions_sold += 1;
    delta.escrow_held += escrowed;
    delta.artist_withdrawable += e.artist_share as i128;
}

async fn entitlement_changed(
    db: &mut PgConnection,
    changes: &mut Changes,
    o: &Origin,
    e: &EntitlementChanged,
) -> Result<(), sqlx::Error> {
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
        EntitlementAction::Refunded { amount, overdue } => (
            "refunded",
            None,
            Some(amount),
            Some(!overdue),
            Some(overdue),
        ),
    };
    let c = &mut changes.entitlement_changes;
    c.release.push(o.contract.to_vec());
    c.edition.push(e.edition as i32);
    c.perk.push(e.perk as i32);
    c.actor.push(id(&e.actor));
    c.from_state.push(state(e.from));
    c.to_state.push(state(e.to));
    c.action.push(action);
    c.proof.push(proof.map(|p| p.to_vec()));
    c.amount.push(amount.map(num));
    c.refund.push(refund);
    c.late.push(late);
    c.at.push(millis(e.at));
    c.block.push(o.block);
    c.extrinsic.push(o.extrinsic);
    c.event_index.push(o.event_index);

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
        EntitlementAction::Disputed { evidence } => patch.evidence = Some(evidence.to_vec()),
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
        EntitlementAction::Refunded { amount, overdue } => {
            let delta = changes.release_delta(o.contract);
            if overdue {
                delta.escrow_held -= amount as i128;
            } else {
                delta.refunds_owed -= amount as i128;
            }
        }
        _ => {}
    }
    Ok(())
}
