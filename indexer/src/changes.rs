//! What a batch of events does to the read model, gathered in memory as rows and written
//! with a statement per table (binary `COPY` for new rows, `UPDATE … FROM UNNEST` for
//! changed ones, see [`crate::copy`]) instead of a round trip per row: a batch's writes
//! cost about as many round trips as there are tables, whatever its size.
//!
//! Order is kept where it matters: inserts go in foreign-key order, and the updates of a
//! batch are folded per row (a later change of the same row wins field by field) and
//! applied after the inserts, so they reach rows inserted by the same batch.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::copy::{copy_in, merge, rows, Numeric};
use crate::Bytes32;

/// Where an event came from, recorded on every row it touches.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub block: i64,
    pub extrinsic: Option<i32>,
    pub event_index: i32,
    pub contract: Bytes32,
}

pub type EntitlementKey = (Bytes32, u32, u32);

rows! {
    /// A contract event as it came, decoded or not.
    insert RawEventRow => "raw_events" {
        block_number: i64,
        block_hash: Vec<u8>,
        extrinsic_index: Option<i32>,
        event_index: i32,
        contract: Vec<u8>,
        topics: Vec<Vec<u8>>,
        data: Vec<u8>,
        name: Option<String>,
        decode_error: Option<String>,
        /// Why the read model could not take a decoded event (then nothing else of it is written).
        rejected: Option<String>,
    }

    /// An event of a block that could not be read (see `source::Unreadable`).
    insert UnreadableRow => "unreadable_events" {
        block_number: i64,
        block_hash: Vec<u8>,
        spec_version: i64,
        event_index: i32,
        rest_read: bool,
        error: String,
    }

    /// The original bytes of a text stored cleaned (`dreamster_types::stored::clean`).
    insert SanitizedRow => "sanitized_text" {
        block_number: i64,
        event_index: i32,
        /// Which text: `artist.name`, `perk.description`, …
        field: &'static str,
        original: Vec<u8>,
    }

    insert ArtistRow => "artists" {
        address: Vec<u8>,
        name: String,
        metadata_uri: String,
        registered_at: i64,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    /// The latest values of an arbiter (upserted).
    merge ArbiterRow => "arbiters" {
        address: Vec<u8>,
        active: bool,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert ReleaseRow => "releases" {
        address: Vec<u8>,
        registry: Vec<u8>,
        artist: Vec<u8>,
        title: String,
        metadata_uri: String,
        price: Numeric,
        max_editions: Option<i64>,
        sale_start: i64,
        sale_end: Option<i64>,
        dispute_window: i64,
        /// The code the release runs.
        code_hash: Vec<u8>,
        created_at: i64,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    /// The latest counters of an artist (upserted).
    merge ReputationRow => "reputation" {
        artist: Vec<u8>,
        delivered_on_time: i32,
        delivered_late: i32,
        refunded_overdue: i32,
        disputes_won: i32,
        disputes_lost: i32,
        rating_sum: i64,
        rating_count: i32,
        cancelled: i32,
        unclaimed: i32,
        rulings_expired: i32,
        self_dealt: i32,
        self_rating_sum: i64,
        self_rating_count: i32,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert PerkRow => "perks" {
        release: Vec<u8>,
        perk: i32,
        category: &'static str,
        kind: &'static str,
        title: String,
        description: String,
        metadata_uri: String,
        estimated_value: Numeric,
        escrow_bps: i32,
        delivery: &'static str,
        content_hash: Option<Vec<u8>>,
        quantity_limit: Option<i64>,
        deadline: i64,
        added_at_edition: i32,
        added_at: i64,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert EditionRow => "editions" {
        release: Vec<u8>,
        edition: i32,
        buyer: Vec<u8>,
        owner: Vec<u8>,
        price: Numeric,
        artist_share: Numeric,
        sold_at: i64,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert TransferRow => "transfers" {
        release: Vec<u8>,
        edition: i32,
        from_account: Option<Vec<u8>>,
        to_account: Option<Vec<u8>>,
        block_number: i64,
        extrinsic_index: Option<i32>,
        event_index: i32,
    }

    insert EntitlementRow => "entitlements" {
        release: Vec<u8>,
        edition: i32,
        perk: i32,
        escrow: Numeric,
        state: &'static str,
        /// The perk's, copied so the refund queries need no join.
        deadline: i64,
        created_block: i64,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert EntitlementChangeRow => "entitlement_changes" {
        release: Vec<u8>,
        edition: i32,
        perk: i32,
        actor: Vec<u8>,
        from_state: &'static str,
        to_state: &'static str,
        action: &'static str,
        proof: Option<Vec<u8>>,
        amount: Option<Numeric>,
        refund: Option<bool>,
        late: Option<bool>,
        at: i64,
        /// Why a refund was paid ([`dreamster_types::entitlement::RefundReason::slug`]).
        refund_reason: Option<&'static str>,
        block_number: i64,
        extrinsic_index: Option<i32>,
        event_index: i32,
    }

    /// One of the arbiters a release was created with.
    insert ReleaseArbiterRow => "release_arbiters" {
        release: Vec<u8>,
        arbiter: Vec<u8>,
    }

    insert RatingRow => "ratings" {
        release: Vec<u8>,
        edition: i32,
        perk: i32,
        holder: Vec<u8>,
        rating: i16,
        block_number: i64,
        extrinsic_index: Option<i32>,
    }

    insert WithdrawalRow => "withdrawals" {
        release: Vec<u8>,
        artist: Vec<u8>,
        amount: Numeric,
        block_number: i64,
        extrinsic_index: Option<i32>,
        event_index: i32,
    }

    /// An edition's owner after the batch's transfers.
    merge OwnerUpdate => "editions" {
        release: Vec<u8>,
        edition: i32,
        owner: Vec<u8>,
    }

    /// An entitlement's fields the batch changed; NULL keeps the stored value.
    merge EntitlementUpdate => "entitlements" {
        release: Vec<u8>,
        edition: i32,
        perk: i32,
        state: Option<&'static str>,
        block_number: Option<i64>,
        extrinsic_index: Option<i32>,
        delivered_at: Option<i64>,
        proof: Option<Vec<u8>>,
        late: Option<bool>,
        unlocked: Option<bool>,
        evidence: Option<Vec<u8>>,
        rating: Option<i16>,
        disputed_at: Option<i64>,
    }

    /// A perk the artist cancelled.
    merge CancelledUpdate => "perks" {
        release: Vec<u8>,
        perk: i32,
        cancelled_at: i64,
    }

    /// Entitlements a perk gained in the batch.
    merge GrantedUpdate => "perks" {
        release: Vec<u8>,
        perk: i32,
        granted: i32,
    }

    /// Additive changes to a release's counters and books.
    merge ReleaseUpdate => "releases" {
        address: Vec<u8>,
        editions_sold: i32,
        escrow_held: Numeric,
        artist_withdrawable: Numeric,
        refunds_owed: Numeric,
        withdrawn: Numeric,
    }
}

/// Fields of an entitlement changed by the batch; `None` keeps the stored value.
#[derive(Default, Clone)]
pub struct EntitlementPatch {
    /// New state, with the block and extrinsic that moved it there.
    pub state: Option<(&'static str, i64, Option<i32>)>,
    pub delivered_at: Option<i64>,
    pub proof: Option<Vec<u8>>,
    pub late: Option<bool>,
    pub unlocked: Option<bool>,
    pub evidence: Option<Vec<u8>>,
    pub rating: Option<i16>,
    pub disputed_at: Option<i64>,
}

impl EntitlementPatch {
    /// Folds a later patch of the same row into this one.
    fn merge(&mut self, later: EntitlementPatch) {
        self.state = later.state.or(self.state);
        self.delivered_at = later.delivered_at.or(self.delivered_at);
        self.proof = later.proof.or(self.proof.take());
        self.late = later.late.or(self.late);
        self.unlocked = later.unlocked.or(self.unlocked);
        self.evidence = later.evidence.or(self.evidence.take());
        self.rating = later.rating.or(self.rating);
        self.disputed_at = later.disputed_at.or(self.disputed_at);
    }

    fn row(key: &EntitlementKey, p: &EntitlementPatch) -> EntitlementUpdate {
        EntitlementUpdate {
            release: key.0.to_vec(),
            edition: key.1 as i32,
            perk: key.2 as i32,
            state: p.state.map(|s| s.0),
            block_number: p.state.map(|s| s.1),
            extrinsic_index: p.state.and_then(|s| s.2),
            delivered_at: p.delivered_at,
            proof: p.proof.clone(),
            late: p.late,
            unlocked: p.unlocked,
            evidence: p.evidence.clone(),
            rating: p.rating,
            disputed_at: p.disputed_at,
        }
    }
}

/// Additive changes to a release's counters and books.
#[derive(Default, Clone, Copy)]
pub struct ReleaseDelta {
    pub editions_sold: i64,
    pub escrow_held: i128,
    pub artist_withdrawable: i128,
    pub refunds_owed: i128,
    pub withdrawn: i128,
}

/// Everything one batch writes.
#[derive(Default)]
pub struct Changes {
    pub raw_events: Vec<RawEventRow>,
    pub unreadable: Vec<UnreadableRow>,
    pub sanitized: Vec<SanitizedRow>,
    pub artists: Vec<ArtistRow>,
    pub arbiters: HashMap<Bytes32, ArbiterRow>,
    pub releases: Vec<ReleaseRow>,
    pub reputation: HashMap<Bytes32, ReputationRow>,
    pub perks: Vec<PerkRow>,
    pub editions: Vec<EditionRow>,
    pub transfers: Vec<TransferRow>,
    pub entitlements: Vec<EntitlementRow>,
    pub entitlement_changes: Vec<EntitlementChangeRow>,
    pub ratings: Vec<RatingRow>,
    pub withdrawals: Vec<WithdrawalRow>,
    pub release_arbiters: Vec<ReleaseArbiterRow>,
    /// Perks cancelled in the batch, with when.
    pub cancelled: HashMap<(Bytes32, u32), i64>,
    /// Editions' owners after the batch's transfers.
    pub owners: HashMap<(Bytes32, u32), Vec<u8>>,
    pub patches: HashMap<EntitlementKey, EntitlementPatch>,
    pub granted: HashMap<(Bytes32, u32), i32>,
    pub release_deltas: HashMap<Bytes32, ReleaseDelta>,
    /// Escrow of the entitlements this batch created, for books that need it later on.
    pub new_escrows: HashMap<EntitlementKey, u128>,
    /// Perks' deadlines by release: added by this batch, or read once per release.
    deadlines: HashMap<Bytes32, HashMap<u32, i64>>,
}

impl Changes {
    pub fn patch(&mut self, key: EntitlementKey, patch: EntitlementPatch) {
        self.patches.entry(key).or_default().merge(patch);
    }

    pub fn release_delta(&mut self, release: Bytes32) -> &mut ReleaseDelta {
        self.release_deltas.entry(release).or_default()
    }

    /// Records a perk added by this batch.
    pub fn add_perk(&mut self, release: Bytes32, perk: u32, row: PerkRow) {
        self.deadlines
            .entry(release)
            .or_default()
            .insert(perk, row.deadline);
        self.perks.push(row);
    }

    /// The deadline of a release's perk, from this batch or from the database; `None`
    /// for a perk the read model never saw added.
    pub async fn deadline_of(
        &mut self,
        db: &mut PgConnection,
        release: Bytes32,
        perk: u32,
    ) -> Result<Option<i64>, sqlx::Error> {
        if let Some(d) = self.deadlines.get(&release).and_then(|p| p.get(&perk)) {
            return Ok(Some(*d));
        }
        let stored: Vec<(i32, i64)> =
            sqlx::query_as("SELECT perk, deadline FROM perks WHERE release = $1")
                .bind(release.to_vec())
                .fetch_all(db)
                .await?;
        let known = self.deadlines.entry(release).or_default();
        for (p, d) in stored {
            known.entry(p as u32).or_insert(d);
        }
        Ok(known.get(&perk).copied())
    }

    /// The escrow of an entitlement, from this batch or from the database.
    pub async fn escrow_of(
        &self,
        db: &mut PgConnection,
        key: EntitlementKey,
    ) -> Result<u128, sqlx::Error> {
        if let Some(escrow) = self.new_escrows.get(&key) {
            return Ok(*escrow);
        }
        let text: Option<String> = sqlx::query_scalar(
            "SELECT escrow::text FROM entitlements WHERE release = $1 AND edition = $2 AND perk = $3",
        )
        .bind(key.0.to_vec())
        .bind(key.1 as i32)
        .bind(key.2 as i32)
        .fetch_optional(db)
        .await?;
        // A change of an entitlement the read model never saw created is a projection bug
        // or a foreign contract; it moves no money in the books rather than failing the batch.
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    /// Writes everything: inserts by `COPY` in foreign-key order first, then the upserts
    /// and the folded updates.
    pub async fn flush(self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        copy_in(db, &self.raw_events).await?;
        copy_in(db, &self.unreadable).await?;
        copy_in(db, &self.sanitized).await?;
        copy_in(db, &self.artists).await?;
        let arbiters: Vec<ArbiterRow> = self.arbiters.into_values().collect();
        merge(
            db,
            "INSERT INTO arbiters ({columns}) SELECT * FROM {source}
             ON CONFLICT (address) DO UPDATE SET active = EXCLUDED.active,
                block_number = EXCLUDED.block_number, extrinsic_index = EXCLUDED.extrinsic_index",
            &arbiters,
        )
        .await?;
        copy_in(db, &self.releases).await?;
        copy_in(db, &self.release_arbiters).await?;
        let reputation: Vec<ReputationRow> = self.reputation.into_values().collect();
        merge(
            db,
            "INSERT INTO reputation ({columns}) SELECT * FROM {source}
             ON CONFLICT (artist) DO UPDATE SET delivered_on_time = EXCLUDED.delivered_on_time,
                delivered_late = EXCLUDED.delivered_late, refunded_overdue = EXCLUDED.refunded_overdue,
                disputes_won = EXCLUDED.disputes_won, disputes_lost = EXCLUDED.disputes_lost,
                rating_sum = EXCLUDED.rating_sum, rating_count = EXCLUDED.rating_count,
                cancelled = EXCLUDED.cancelled, unclaimed = EXCLUDED.unclaimed,
                rulings_expired = EXCLUDED.rulings_expired, self_dealt = EXCLUDED.self_dealt,
                self_rating_sum = EXCLUDED.self_rating_sum,
                self_rating_count = EXCLUDED.self_rating_count,
                block_number = EXCLUDED.block_number, extrinsic_index = EXCLUDED.extrinsic_index",
            &reputation,
        )
        .await?;
        copy_in(db, &self.perks).await?;
        copy_in(db, &self.editions).await?;
        copy_in(db, &self.transfers).await?;
        copy_in(db, &self.entitlements).await?;
        copy_in(db, &self.entitlement_changes).await?;
        copy_in(db, &self.ratings).await?;
        copy_in(db, &self.withdrawals).await?;
        let owners: Vec<OwnerUpdate> = self
            .owners
            .into_iter()
            .map(|((release, edition), owner)| OwnerUpdate {
                release: release.to_vec(),
                edition: edition as i32,
                owner,
            })
            .collect();
        merge(
            db,
            "UPDATE editions e SET owner = u.owner FROM {source}
             WHERE e.release = u.release AND e.edition = u.edition",
            &owners,
        )
        .await?;
        let patches: Vec<EntitlementUpdate> = self
            .patches
            .iter()
            .map(|(key, p)| EntitlementPatch::row(key, p))
            .collect();
        merge(
            db,
            "UPDATE entitlements e SET
                state = COALESCE(u.state, e.state),
                block_number = COALESCE(u.block_number, e.block_number),
                extrinsic_index = CASE WHEN u.state IS NULL THEN e.extrinsic_index ELSE u.extrinsic_index END,
                delivered_at = COALESCE(u.delivered_at, e.delivered_at),
                proof = COALESCE(u.proof, e.proof),
                late = COALESCE(u.late, e.late),
                unlocked = COALESCE(u.unlocked, e.unlocked),
                evidence = COALESCE(u.evidence, e.evidence),
                rating = COALESCE(u.rating, e.rating),
                disputed_at = COALESCE(u.disputed_at, e.disputed_at)
             FROM {source}
             WHERE e.release = u.release AND e.edition = u.edition AND e.perk = u.perk",
            &patches,
        )
        .await?;
        let cancelled: Vec<CancelledUpdate> = self
            .cancelled
            .into_iter()
            .map(|((release, perk), at)| CancelledUpdate {
                release: release.to_vec(),
                perk: perk as i32,
                cancelled_at: at,
            })
            .collect();
        merge(
            db,
            "UPDATE perks p SET cancelled_at = u.cancelled_at FROM {source}
             WHERE p.release = u.release AND p.perk = u.perk",
            &cancelled,
        )
        .await?;
        let granted: Vec<GrantedUpdate> = self
            .granted
            .into_iter()
            .map(|((release, perk), granted)| GrantedUpdate {
                release: release.to_vec(),
                perk: perk as i32,
                granted,
            })
            .collect();
        merge(
            db,
            "UPDATE perks p SET granted = p.granted + u.granted FROM {source}
             WHERE p.release = u.release AND p.perk = u.perk",
            &granted,
        )
        .await?;
        let releases: Vec<ReleaseUpdate> = self
            .release_deltas
            .into_iter()
            .map(|(release, d)| ReleaseUpdate {
                address: release.to_vec(),
                editions_sold: i32::try_from(d.editions_sold).unwrap_or(i32::MAX),
                escrow_held: d.escrow_held.into(),
                artist_withdrawable: d.artist_withdrawable.into(),
                refunds_owed: d.refunds_owed.into(),
                withdrawn: d.withdrawn.into(),
            })
            .collect();
        merge(
            db,
            "UPDATE releases r SET editions_sold = r.editions_sold + u.editions_sold,
                escrow_held = r.escrow_held + u.escrow_held,
                artist_withdrawable = r.artist_withdrawable + u.artist_withdrawable,
                refunds_owed = r.refunds_owed + u.refunds_owed,
                withdrawn = r.withdrawn + u.withdrawn
             FROM {source} WHERE r.address = u.address",
            &releases,
        )
        .await
    }
}
