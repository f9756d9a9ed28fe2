//! How each event changes the read model. Runs inside the batch's transaction.

use dreamster_types::entitlement::EntitlementState;
use dreamster_types::events::*;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::AccountId;
use sqlx::PgConnection;

/// Where an event came from, recorded on every row it touches.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub block: i64,
    pub extrinsic: Option<i32>,
    pub event_index: i32,
    pub contract: [u8; 32],
}

fn id(account: &AccountId) -> Vec<u8> {
    <AccountId as AsRef<[u8; 32]>>::as_ref(account).to_vec()
}

fn num(value: u128) -> String {
    value.to_string()
}

fn state(s: EntitlementState) -> &'static str {
    s.slug()
}

/// Applies one decoded event.
pub async fn apply(
    db: &mut PgConnection,
    o: &Origin,
    event: &DreamsterEvent,
) -> Result<(), sqlx::Error> {
    let contract = o.contract.to_vec();
    match event {
        DreamsterEvent::ArbiterAdded(e) => set_arbiter(db, o, &e.arbiter, true).await,
        DreamsterEvent::ArbiterRemoved(e) => set_arbiter(db, o, &e.arbiter, false).await,
        DreamsterEvent::ReleaseCodeSet(_) | DreamsterEvent::Approval(_) => Ok(()),
        DreamsterEvent::ArtistRegistered(e) => {
            sqlx::query(
                "INSERT INTO artists (address, name, metadata_uri, registered_at, block_number, extrinsic_index)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id(&e.artist))
            .bind(&e.name)
            .bind(&e.metadata_uri)
            .bind(e.at as i64)
            .bind(o.block)
            .bind(o.extrinsic)
            .execute(db)
            .await
            .map(drop)
        }
        DreamsterEvent::ReleaseCreated(e) => {
            let t = &e.terms;
            sqlx::query(
                "INSERT INTO releases (address, registry, artist, title, metadata_uri, price, max_editions,
                    sale_start, sale_end, dispute_window, created_at, block_number, extrinsic_index)
                 VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(id(&e.release))
            .bind(&contract)
            .bind(id(&e.artist))
            .bind(&t.title)
            .bind(&t.metadata_uri)
            .bind(num(t.price))
            .bind(t.max_editions.map(|m| m as i32))
            .bind(t.sale_start as i64)
            .bind(t.sale_end.map(|s| s as i64))
            .bind(t.dispute_window as i64)
            .bind(e.at as i64)
            .bind(o.block)
            .bind(o.extrinsic)
            .execute(db)
            .await
            .map(drop)
        }
        DreamsterEvent::ReputationChanged(e) => {
            let r = &e.reputation;
            sqlx::query(
                "INSERT INTO reputation (artist, delivered_on_time, delivered_late, refunded_overdue, disputes_won,
                    disputes_lost, rating_sum, rating_count, block_number, extrinsic_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (artist) DO UPDATE SET delivered_on_time = EXCLUDED.delivered_on_time,
                    delivered_late = EXCLUDED.delivered_late, refunded_overdue = EXCLUDED.refunded_overdue,
                    disputes_won = EXCLUDED.disputes_won, disputes_lost = EXCLUDED.disputes_lost,
                    rating_sum = EXCLUDED.rating_sum, rating_count = EXCLUDED.rating_count,
                    block_number = EXCLUDED.block_number, extrinsic_index = EXCLUDED.extrinsic_index",
            )
            .bind(id(&e.artist))
            .bind(r.delivered_on_time as i32)
            .bind(r.delivered_late as i32)
            .bind(r.refunded_overdue as i32)
            .bind(r.disputes_won as i32)
            .bind(r.disputes_lost as i32)
            .bind(r.rating_sum as i64)
            .bind(r.rating_count as i32)
            .bind(o.block)
            .bind(o.extrinsic)
            .execute(db)
            .await
            .map(drop)
        }
        DreamsterEvent::PerkAdded(e) => {
            let t = &e.terms;
            let content_hash = match t.delivery {
                DeliveryMethod::Automatic { content_hash } => Some(content_hash.to_vec()),
                _ => None,
            };
            sqlx::query(
                "INSERT INTO perks (release, perk, category, kind, title, description, metadata_uri, estimated_value,
                    escrow_bps, delivery, content_hash, quantity_limit, deadline, added_at_edition, added_at,
                    block_number, extrinsic_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(&contract)
            .bind(e.perk as i32)
            .bind(t.category.slug())
            .bind(t.kind.slug())
            .bind(&t.title)
            .bind(&t.description)
            .bind(&t.metadata_uri)
            .bind(num(t.estimated_value))
            .bind(i32::from(t.escrow_bps))
            .bind(t.delivery.slug())
            .bind(content_hash)
            .bind(t.quantity_limit.map(|q| q as i32))
            .bind(t.deadline as i64)
            .bind(e.added_at_edition as i32)
            .bind(e.at as i64)
            .bind(o.block)
            .bind(o.extrinsic)
            .execute(db)
            .await
            .map(drop)
        }
        DreamsterEvent::EditionSold(e) => edition_sold(db, o, e).await,
        DreamsterEvent::Transfer(e) => {
            sqlx::query(
                "INSERT INTO transfers (release, edition, from_account, to_account, block_number, extrinsic_index, event_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&contract)
            .bind(e.edition as i32)
            .bind(e.from.as_ref().map(id))
            .bind(e.to.as_ref().map(id))
            .bind(o.block)
            .bind(o.extrinsic)
            .bind(o.event_index)
            .execute(&mut *db)
            .await?;
            // A mint's edition row is written by the EditionSold that follows it.
            if let (Some(_), Some(to)) = (&e.from, &e.to) {
                sqlx::query("UPDATE editions SET owner = $3 WHERE release = $1 AND edition = $2")
                    .bind(&contract)
                    .bind(e.edition as i32)
                    .bind(id(to))
                    .execute(db)
                    .await?;
            }
            Ok(())
        }
        DreamsterEvent::EntitlementChanged(e) => entitlement_changed(db, o, e).await,
        DreamsterEvent::PerkRated(e) => {
            sqlx::query(
                "INSERT INTO ratings (release, edition, perk, holder, rating, block_number, extrinsic_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&contract)
            .bind(e.edition as i32)
            .bind(e.perk as i32)
            .bind(id(&e.holder))
            .bind(i16::from(e.rating))
            .bind(o.block)
            .bind(o.extrinsic)
            .execute(&mut *db)
            .await?;
            sqlx::query("UPDATE entitlements SET rating = $4 WHERE release = $1 AND edition = $2 AND perk = $3")
                .bind(&contract)
                .bind(e.edition as i32)
                .bind(e.perk as i32)
                .bind(i16::from(e.rating))
                .execute(db)
                .await
                .map(drop)
        }
        DreamsterEvent::EscrowReleased(e) => {
            sqlx::query(
                "UPDATE releases SET escrow_held = escrow_held - $2::numeric,
                    artist_withdrawable = artist_withdrawable + $2::numeric WHERE address = $1",
            )
            .bind(&contract)
            .bind(num(e.amount))
            .execute(db)
            .await
            .map(drop)
        }
        DreamsterEvent::ArtistWithdrew(e) => {
            sqlx::query(
                "INSERT INTO withdrawals (release, artist, amount, block_number, extrinsic_index, event_index)
                 VALUES ($1, $2, $3::numeric, $4, $5, $6)",
            )
            .bind(&contract)
            .bind(id(&e.artist))
            .bind(num(e.amount))
            .bind(o.block)
            .bind(o.extrinsic)
            .bind(o.event_index)
            .execute(&mut *db)
            .await?;
            sqlx::query(
                "UPDATE releases SET artist_withdrawable = artist_withdrawable - $2::numeric,
                    withdrawn = withdrawn + $2::numeric WHERE address = $1",
            )
            .bind(&contract)
            .bind(num(e.amount))
            .execute(db)
            .await
            .map(drop)
        }
    }
}

async fn set_arbiter(
    db: &mut PgConnection,
    o: &Origin,
    arbiter: &AccountId,
    active: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO arbiters (address, active, block_number, extrinsic_index) VALUES ($1, $2, $3, $4)
         ON CONFLICT (address) DO UPDATE SET active = EXCLUDED.active, block_number = EXCLUDED.block_number,
            extrinsic_index = EXCLUDED.extrinsic_index",
    )
    .bind(id(arbiter))
    .bind(active)
    .bind(o.block)
    .bind(o.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn edition_sold(
    db: &mut PgConnection,
    o: &Origin,
    e: &EditionSold,
) -> Result<(), sqlx::Error> {
    let contract = o.contract.to_vec();
    sqlx::query(
        "INSERT INTO editions (release, edition, buyer, owner, price, artist_share, sold_at, block_number, extrinsic_index)
         VALUES ($1, $2, $3, $3, $4::numeric, $5::numeric, $6, $7, $8)",
    )
    .bind(&contract)
    .bind(e.edition as i32)
    .bind(id(&e.buyer))
    .bind(num(e.price))
    .bind(num(e.artist_share))
    .bind(e.at as i64)
    .bind(o.block)
    .bind(o.extrinsic)
    .execute(&mut *db)
    .await?;
    let mut escrowed: u128 = 0;
    for (perk, escrow) in &e.entitlements {
        escrowed = escrowed.saturating_add(*escrow);
        sqlx::query(
            "INSERT INTO entitlements (release, edition, perk, escrow, state, deadline, created_block, block_number,
                extrinsic_index)
             SELECT $1, $2, $3, $4::numeric, 'pending', p.deadline, $5, $5, $6 FROM perks p
             WHERE p.release = $1 AND p.perk = $3",
        )
        .bind(&contract)
        .bind(e.edition as i32)
        .bind(*perk as i32)
        .bind(num(*escrow))
        .bind(o.block)
        .bind(o.extrinsic)
        .execute(&mut *db)
        .await?;
        sqlx::query("UPDATE perks SET granted = granted + 1 WHERE release = $1 AND perk = $2")
            .bind(&contract)
            .bind(*perk as i32)
            .execute(&mut *db)
            .await?;
    }
    sqlx::query(
        "UPDATE releases SET editions_sold = editions_sold + 1, escrow_held = escrow_held + $2::numeric,
            artist_withdrawable = artist_withdrawable + $3::numeric WHERE address = $1",
    )
    .bind(&contract)
    .bind(num(escrowed))
    .bind(num(e.artist_share))
    .execute(db)
    .await
    .map(drop)
}

async fn entitlement_changed(
    db: &mut PgConnection,
    o: &Origin,
    e: &EntitlementChanged,
) -> Result<(), sqlx::Error> {
    let contract = o.contract.to_vec();
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
    sqlx::query(
        "INSERT INTO entitlement_changes (release, edition, perk, actor, from_state, to_state, action, proof, amount,
            refund, late, at, block_number, extrinsic_index, event_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&contract)
    .bind(e.edition as i32)
    .bind(e.perk as i32)
    .bind(id(&e.actor))
    .bind(state(e.from))
    .bind(state(e.to))
    .bind(action)
    .bind(proof.map(|p| p.to_vec()))
    .bind(amount.map(num))
    .bind(refund)
    .bind(late)
    .bind(e.at as i64)
    .bind(o.block)
    .bind(o.extrinsic)
    .bind(o.event_index)
    .execute(&mut *db)
    .await?;

    let changed = match e.action {
        EntitlementAction::Unlocked { .. } | EntitlementAction::MarkedDelivered { .. } => sqlx::query(
            "UPDATE entitlements SET state = $4, block_number = $5, extrinsic_index = $6, delivered_at = $7,
                proof = $8, late = $9, unlocked = $10 WHERE release = $1 AND edition = $2 AND perk = $3",
        ),
        EntitlementAction::Disputed { .. } => sqlx::query(
            "UPDATE entitlements SET state = $4, block_number = $5, extrinsic_index = $6, evidence = $7
             WHERE release = $1 AND edition = $2 AND perk = $3",
        ),
        _ => sqlx::query(
            "UPDATE entitlements SET state = $4, block_number = $5, extrinsic_index = $6
             WHERE release = $1 AND edition = $2 AND perk = $3",
        ),
    }
    .bind(&contract)
    .bind(e.edition as i32)
    .bind(e.perk as i32)
    .bind(state(e.to))
    .bind(o.block)
    .bind(o.extrinsic);
    let changed = match e.action {
        EntitlementAction::Unlocked { .. } | EntitlementAction::MarkedDelivered { .. } => changed
            .bind(e.at as i64)
            .bind(proof.map(|p| p.to_vec()))
            .bind(late)
            .bind(matches!(e.action, EntitlementAction::Unlocked { .. })),
        EntitlementAction::Disputed { evidence } => changed.bind(evidence.to_vec()),
        _ => changed,
    };
    changed.execute(&mut *db).await?;

    // Money that moves without an EscrowReleased event of its own.
    let books = match e.action {
        EntitlementAction::Resolved { refund: true } => Some(
            "UPDATE releases r SET escrow_held = r.escrow_held - e.escrow, refunds_owed = r.refunds_owed + e.escrow
             FROM entitlements e WHERE r.address = $1 AND e.release = $1 AND e.edition = $2 AND e.perk = $3",
        ),
        EntitlementAction::Refunded { overdue: true, .. } => Some(
            "UPDATE releases r SET escrow_held = r.escrow_held - e.escrow
             FROM entitlements e WHERE r.address = $1 AND e.release = $1 AND e.edition = $2 AND e.perk = $3",
        ),
        EntitlementAction::Refunded { overdue: false, .. } => Some(
            "UPDATE releases r SET refunds_owed = r.refunds_owed - e.escrow
             FROM entitlements e WHERE r.address = $1 AND e.release = $1 AND e.edition = $2 AND e.perk = $3",
        ),
        _ => None,
    };
    if let Some(sql) = books {
        sqlx::query(sql)
            .bind(&contract)
            .bind(e.edition as i32)
            .bind(e.perk as i32)
            .execute(db)
            .await?;
    }
    Ok(())
}
