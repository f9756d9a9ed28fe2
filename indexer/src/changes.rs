//! What a batch of events does to the read model, gathered in memory and written with a
//! few set-based statements (`INSERT … SELECT FROM UNNEST`, `UPDATE … FROM UNNEST`) instead
//! of a round trip per row: the batch's writes cost about as many round trips as there are
//! tables, whatever its size.
//!
//! Order is kept where it matters: inserts go in foreign-key order, and the updates of a
//! batch are folded per row (a later change of the same row wins field by field) and
//! applied after the inserts, so they reach rows inserted by the same batch.

use std::collections::HashMap;

use sqlx::PgConnection;

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

#[derive(Default)]
pub struct RawEvents {
    pub block: Vec<i64>,
    pub hash: Vec<Vec<u8>>,
    pub extrinsic: Vec<Option<i32>>,
    pub event_index: Vec<i32>,
    pub contract: Vec<Vec<u8>>,
    /// The topics of each event concatenated (32 bytes each), split again in SQL.
    pub topics: Vec<Vec<u8>>,
    pub data: Vec<Vec<u8>>,
    pub name: Vec<Option<String>>,
    pub decode_error: Vec<Option<String>>,
    /// Why the read model could not take a decoded event (then nothing else of it is written).
    pub rejected: Vec<Option<String>>,
}

/// The original bytes of a text stored cleaned (`dreamster_types::stored::clean`).
pub struct SanitizedRow {
    pub block: i64,
    pub event_index: i32,
    /// Which text: `artist.name`, `perk.description`, …
    pub field: &'static str,
    pub original: Vec<u8>,
}

#[derive(Default)]
pub struct Artists {
    pub address: Vec<Vec<u8>>,
    pub name: Vec<String>,
    pub metadata_uri: Vec<String>,
    pub registered_at: Vec<i64>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct Releases {
    pub address: Vec<Vec<u8>>,
    pub registry: Vec<Vec<u8>>,
    pub artist: Vec<Vec<u8>>,
    pub title: Vec<String>,
    pub metadata_uri: Vec<String>,
    pub price: Vec<String>,
    pub max_editions: Vec<Option<i64>>,
    pub sale_start: Vec<i64>,
    pub sale_end: Vec<Option<i64>>,
    pub dispute_window: Vec<i64>,
    pub created_at: Vec<i64>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct Perks {
    pub release: Vec<Vec<u8>>,
    pub perk: Vec<i32>,
    pub category: Vec<String>,
    pub kind: Vec<String>,
    pub title: Vec<String>,
    pub description: Vec<String>,
    pub metadata_uri: Vec<String>,
    pub estimated_value: Vec<String>,
    pub escrow_bps: Vec<i32>,
    pub delivery: Vec<String>,
    pub content_hash: Vec<Option<Vec<u8>>>,
    pub quantity_limit: Vec<Option<i64>>,
    pub deadline: Vec<i64>,
    pub added_at_edition: Vec<i32>,
    pub added_at: Vec<i64>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct Editions {
    pub release: Vec<Vec<u8>>,
    pub edition: Vec<i32>,
    pub buyer: Vec<Vec<u8>>,
    pub price: Vec<String>,
    pub artist_share: Vec<String>,
    pub sold_at: Vec<i64>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct Transfers {
    pub release: Vec<Vec<u8>>,
    pub edition: Vec<i32>,
    pub from: Vec<Option<Vec<u8>>>,
    pub to: Vec<Option<Vec<u8>>>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
    pub event_index: Vec<i32>,
}

#[derive(Default)]
pub struct Entitlements {
    pub release: Vec<Vec<u8>>,
    pub edition: Vec<i32>,
    pub perk: Vec<i32>,
    pub escrow: Vec<String>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct EntitlementChanges {
    pub release: Vec<Vec<u8>>,
    pub edition: Vec<i32>,
    pub perk: Vec<i32>,
    pub actor: Vec<Vec<u8>>,
    pub from_state: Vec<&'static str>,
    pub to_state: Vec<&'static str>,
    pub action: Vec<&'static str>,
    pub proof: Vec<Option<Vec<u8>>>,
    pub amount: Vec<Option<String>>,
    pub refund: Vec<Option<bool>>,
    pub late: Vec<Option<bool>>,
    pub at: Vec<i64>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
    pub event_index: Vec<i32>,
}

#[derive(Default)]
pub struct Ratings {
    pub release: Vec<Vec<u8>>,
    pub edition: Vec<i32>,
    pub perk: Vec<i32>,
    pub holder: Vec<Vec<u8>>,
    pub rating: Vec<i16>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
}

#[derive(Default)]
pub struct Withdrawals {
    pub release: Vec<Vec<u8>>,
    pub artist: Vec<Vec<u8>>,
    pub amount: Vec<String>,
    pub block: Vec<i64>,
    pub extrinsic: Vec<Option<i32>>,
    pub event_index: Vec<i32>,
}

/// The latest values of an upserted arbiter row.
#[derive(Clone, Copy)]
pub struct ArbiterRow {
    pub active: bool,
    pub block: i64,
    pub extrinsic: Option<i32>,
}

/// The latest values of an upserted reputation row.
#[derive(Clone, Copy)]
pub struct ReputationRow {
    pub counters: [i64; 7],
    pub block: i64,
    pub extrinsic: Option<i32>,
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
    pub raw_events: RawEvents,
    pub sanitized: Vec<SanitizedRow>,
    pub artists: Artists,
    pub arbiters: HashMap<Bytes32, ArbiterRow>,
    pub releases: Releases,
    pub reputation: HashMap<Bytes32, ReputationRow>,
    pub perks: Perks,
    pub editions: Editions,
    pub transfers: Transfers,
    pub entitlements: Entitlements,
    pub entitlement_changes: EntitlementChanges,
    pub ratings: Ratings,
    pub withdrawals: Withdrawals,
    /// Editions' owners after the batch's transfers.
    pub owners: HashMap<(Bytes32, u32), Vec<u8>>,
    pub patches: HashMap<EntitlementKey, EntitlementPatch>,
    pub granted: HashMap<(Bytes32, u32), i32>,
    pub release_deltas: HashMap<Bytes32, ReleaseDelta>,
    /// Escrow of the entitlements this batch created, for books that need it later on.
    pub new_escrows: HashMap<EntitlementKey, u128>,
}

impl Changes {
    pub fn patch(&mut self, key: EntitlementKey, patch: EntitlementPatch) {
        self.patches.entry(key).or_default().merge(patch);
    }

    pub fn release_delta(&mut self, release: Bytes32) -> &mut ReleaseDelta {
        self.release_deltas.entry(release).or_default()
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

    /// Writes everything, inserts in foreign-key order first, then the folded updates.
    pub async fn flush(self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        insert_raw_events(db, &self.raw_events).await?;
        insert_sanitized(db, &self.sanitized).await?;
        insert_artists(db, &self.artists).await?;
        upsert_arbiters(db, &self.arbiters).await?;
        insert_releases(db, &self.releases).await?;
        upsert_reputation(db, &self.reputation).await?;
        insert_perks(db, &self.perks).await?;
        insert_editions(db, &self.editions).await?;
        insert_transfers(db, &self.transfers).await?;
        insert_entitlements(db, &self.entitlements).await?;
        insert_entitlement_changes(db, &self.entitlement_changes).await?;
        insert_ratings(db, &self.ratings).await?;
        insert_withdrawals(db, &self.withdrawals).await?;
        update_owners(db, &self.owners).await?;
        update_entitlements(db, &self.patches).await?;
        update_granted(db, &self.granted).await?;
        update_releases(db, &self.release_deltas).await
    }
}

async fn insert_raw_events(db: &mut PgConnection, r: &RawEvents) -> Result<(), sqlx::Error> {
    if r.block.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO raw_events (block_number, block_hash, extrinsic_index, event_index, contract, topics, data,
            name, decode_error, rejected)
         SELECT u.b, u.h, u.x, u.i, u.c,
            ARRAY(SELECT substring(u.t FROM k * 32 + 1 FOR 32) FROM generate_series(0, length(u.t) / 32 - 1) k
                  ORDER BY k),
            u.d, u.n, u.e, u.r
         FROM UNNEST($1::int8[], $2::bytea[], $3::int4[], $4::int4[], $5::bytea[], $6::bytea[], $7::bytea[],
            $8::text[], $9::text[], $10::text[]) AS u(b, h, x, i, c, t, d, n, e, r)",
    )
    .bind(&r.block)
    .bind(&r.hash)
    .bind(&r.extrinsic)
    .bind(&r.event_index)
    .bind(&r.contract)
    .bind(&r.topics)
    .bind(&r.data)
    .bind(&r.name)
    .bind(&r.decode_error)
    .bind(&r.rejected)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_sanitized(db: &mut PgConnection, rows: &[SanitizedRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sanitized_text (block_number, event_index, field, original)
         SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::text[], $4::bytea[])",
    )
    .bind(rows.iter().map(|r| r.block).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event_index).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.field).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.original.clone()).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(drop)
}

async fn insert_artists(db: &mut PgConnection, a: &Artists) -> Result<(), sqlx::Error> {
    if a.address.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO artists (address, name, metadata_uri, registered_at, block_number, extrinsic_index)
         SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int4[])",
    )
    .bind(&a.address)
    .bind(&a.name)
    .bind(&a.metadata_uri)
    .bind(&a.registered_at)
    .bind(&a.block)
    .bind(&a.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn upsert_arbiters(
    db: &mut PgConnection,
    rows: &HashMap<Bytes32, ArbiterRow>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let address: Vec<Vec<u8>> = rows.keys().map(|k| k.to_vec()).collect();
    let values: Vec<&ArbiterRow> = rows.values().collect();
    sqlx::query(
        "INSERT INTO arbiters (address, active, block_number, extrinsic_index)
         SELECT * FROM UNNEST($1::bytea[], $2::bool[], $3::int8[], $4::int4[])
         ON CONFLICT (address) DO UPDATE SET active = EXCLUDED.active, block_number = EXCLUDED.block_number,
            extrinsic_index = EXCLUDED.extrinsic_index",
    )
    .bind(address)
    .bind(values.iter().map(|v| v.active).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.block).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.extrinsic).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(drop)
}

async fn insert_releases(db: &mut PgConnection, r: &Releases) -> Result<(), sqlx::Error> {
    if r.address.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO releases (address, registry, artist, title, metadata_uri, price, max_editions, sale_start,
            sale_end, dispute_window, created_at, block_number, extrinsic_index)
         SELECT a, r, ar, t, m, p::numeric, me, ss, se, dw, ca, b, x
         FROM UNNEST($1::bytea[], $2::bytea[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::int8[],
            $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int4[])
            AS u(a, r, ar, t, m, p, me, ss, se, dw, ca, b, x)",
    )
    .bind(&r.address)
    .bind(&r.registry)
    .bind(&r.artist)
    .bind(&r.title)
    .bind(&r.metadata_uri)
    .bind(&r.price)
    .bind(&r.max_editions)
    .bind(&r.sale_start)
    .bind(&r.sale_end)
    .bind(&r.dispute_window)
    .bind(&r.created_at)
    .bind(&r.block)
    .bind(&r.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn upsert_reputation(
    db: &mut PgConnection,
    rows: &HashMap<Bytes32, ReputationRow>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let artist: Vec<Vec<u8>> = rows.keys().map(|k| k.to_vec()).collect();
    let values: Vec<&ReputationRow> = rows.values().collect();
    let counter = |i: usize| values.iter().map(|v| v.counters[i]).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO reputation (artist, delivered_on_time, delivered_late, refunded_overdue, disputes_won,
            disputes_lost, rating_sum, rating_count, block_number, extrinsic_index)
         SELECT * FROM UNNEST($1::bytea[], $2::int4[], $3::int4[], $4::int4[], $5::int4[], $6::int4[], $7::int8[],
            $8::int4[], $9::int8[], $10::int4[])
         ON CONFLICT (artist) DO UPDATE SET delivered_on_time = EXCLUDED.delivered_on_time,
            delivered_late = EXCLUDED.delivered_late, refunded_overdue = EXCLUDED.refunded_overdue,
            disputes_won = EXCLUDED.disputes_won, disputes_lost = EXCLUDED.disputes_lost,
            rating_sum = EXCLUDED.rating_sum, rating_count = EXCLUDED.rating_count,
            block_number = EXCLUDED.block_number, extrinsic_index = EXCLUDED.extrinsic_index",
    )
    .bind(artist)
    .bind(counter(0).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(counter(1).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(counter(2).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(counter(3).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(counter(4).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(counter(5))
    .bind(counter(6).iter().map(|&c| c as i32).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.block).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.extrinsic).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(drop)
}

async fn insert_perks(db: &mut PgConnection, p: &Perks) -> Result<(), sqlx::Error> {
    if p.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO perks (release, perk, category, kind, title, description, metadata_uri, estimated_value,
            escrow_bps, delivery, content_hash, quantity_limit, deadline, added_at_edition, added_at,
            block_number, extrinsic_index)
         SELECT r, p, c, k, t, d, m, v::numeric, e, dl, h, q, dd, ae, aa, b, x
         FROM UNNEST($1::bytea[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::int4[], $10::text[], $11::bytea[], $12::int8[], $13::int8[], $14::int4[], $15::int8[],
            $16::int8[], $17::int4[]) AS u(r, p, c, k, t, d, m, v, e, dl, h, q, dd, ae, aa, b, x)",
    )
    .bind(&p.release)
    .bind(&p.perk)
    .bind(&p.category)
    .bind(&p.kind)
    .bind(&p.title)
    .bind(&p.description)
    .bind(&p.metadata_uri)
    .bind(&p.estimated_value)
    .bind(&p.escrow_bps)
    .bind(&p.delivery)
    .bind(&p.content_hash)
    .bind(&p.quantity_limit)
    .bind(&p.deadline)
    .bind(&p.added_at_edition)
    .bind(&p.added_at)
    .bind(&p.block)
    .bind(&p.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_editions(db: &mut PgConnection, e: &Editions) -> Result<(), sqlx::Error> {
    if e.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO editions (release, edition, buyer, owner, price, artist_share, sold_at, block_number,
            extrinsic_index)
         SELECT r, e, b, b, p::numeric, s::numeric, t, bn, x
         FROM UNNEST($1::bytea[], $2::int4[], $3::bytea[], $4::text[], $5::text[], $6::int8[], $7::int8[],
            $8::int4[]) AS u(r, e, b, p, s, t, bn, x)",
    )
    .bind(&e.release)
    .bind(&e.edition)
    .bind(&e.buyer)
    .bind(&e.price)
    .bind(&e.artist_share)
    .bind(&e.sold_at)
    .bind(&e.block)
    .bind(&e.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_transfers(db: &mut PgConnection, t: &Transfers) -> Result<(), sqlx::Error> {
    if t.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO transfers (release, edition, from_account, to_account, block_number, extrinsic_index,
            event_index)
         SELECT * FROM UNNEST($1::bytea[], $2::int4[], $3::bytea[], $4::bytea[], $5::int8[], $6::int4[], $7::int4[])",
    )
    .bind(&t.release)
    .bind(&t.edition)
    .bind(&t.from)
    .bind(&t.to)
    .bind(&t.block)
    .bind(&t.extrinsic)
    .bind(&t.event_index)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_entitlements(db: &mut PgConnection, e: &Entitlements) -> Result<(), sqlx::Error> {
    if e.release.is_empty() {
        return Ok(());
    }
    // The deadline is the perk's; the perk row exists (inserted earlier, or by this flush).
    sqlx::query(
        "INSERT INTO entitlements (release, edition, perk, escrow, state, deadline, created_block, block_number,
            extrinsic_index)
         SELECT u.r, u.e, u.p, u.s::numeric, 'pending', p.deadline, u.b, u.b, u.x
         FROM UNNEST($1::bytea[], $2::int4[], $3::int4[], $4::text[], $5::int8[], $6::int4[]) AS u(r, e, p, s, b, x)
         JOIN perks p ON p.release = u.r AND p.perk = u.p",
    )
    .bind(&e.release)
    .bind(&e.edition)
    .bind(&e.perk)
    .bind(&e.escrow)
    .bind(&e.block)
    .bind(&e.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_entitlement_changes(
    db: &mut PgConnection,
    c: &EntitlementChanges,
) -> Result<(), sqlx::Error> {
    if c.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO entitlement_changes (release, edition, perk, actor, from_state, to_state, action, proof,
            amount, refund, late, at, block_number, extrinsic_index, event_index)
         SELECT r, e, p, a, f, t, ac, pr, am::numeric, rf, l, at, b, x, i
         FROM UNNEST($1::bytea[], $2::int4[], $3::int4[], $4::bytea[], $5::text[], $6::text[], $7::text[],
            $8::bytea[], $9::text[], $10::bool[], $11::bool[], $12::int8[], $13::int8[], $14::int4[], $15::int4[])
            AS u(r, e, p, a, f, t, ac, pr, am, rf, l, at, b, x, i)",
    )
    .bind(&c.release)
    .bind(&c.edition)
    .bind(&c.perk)
    .bind(&c.actor)
    .bind(&c.from_state)
    .bind(&c.to_state)
    .bind(&c.action)
    .bind(&c.proof)
    .bind(&c.amount)
    .bind(&c.refund)
    .bind(&c.late)
    .bind(&c.at)
    .bind(&c.block)
    .bind(&c.extrinsic)
    .bind(&c.event_index)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_ratings(db: &mut PgConnection, r: &Ratings) -> Result<(), sqlx::Error> {
    if r.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO ratings (release, edition, perk, holder, rating, block_number, extrinsic_index)
         SELECT * FROM UNNEST($1::bytea[], $2::int4[], $3::int4[], $4::bytea[], $5::int2[], $6::int8[], $7::int4[])",
    )
    .bind(&r.release)
    .bind(&r.edition)
    .bind(&r.perk)
    .bind(&r.holder)
    .bind(&r.rating)
    .bind(&r.block)
    .bind(&r.extrinsic)
    .execute(db)
    .await
    .map(drop)
}

async fn insert_withdrawals(db: &mut PgConnection, w: &Withdrawals) -> Result<(), sqlx::Error> {
    if w.release.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO withdrawals (release, artist, amount, block_number, extrinsic_index, event_index)
         SELECT r, a, m::numeric, b, x, i
         FROM UNNEST($1::bytea[], $2::bytea[], $3::text[], $4::int8[], $5::int4[], $6::int4[]) AS u(r, a, m, b, x, i)",
    )
    .bind(&w.release)
    .bind(&w.artist)
    .bind(&w.amount)
    .bind(&w.block)
    .bind(&w.extrinsic)
    .bind(&w.event_index)
    .execute(db)
    .await
    .map(drop)
}

async fn update_owners(
    db: &mut PgConnection,
    owners: &HashMap<(Bytes32, u32), Vec<u8>>,
) -> Result<(), sqlx::Error> {
    if owners.is_empty() {
        return Ok(());
    }
    let (keys, values): (Vec<&(Bytes32, u32)>, Vec<&Vec<u8>>) = owners.iter().unzip();
    sqlx::query(
        "UPDATE editions e SET owner = u.o
         FROM UNNEST($1::bytea[], $2::int4[], $3::bytea[]) AS u(r, n, o)
         WHERE e.release = u.r AND e.edition = u.n",
    )
    .bind(keys.iter().map(|k| k.0.to_vec()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1 as i32).collect::<Vec<_>>())
    .bind(values)
    .execute(db)
    .await
    .map(drop)
}

async fn update_entitlements(
    db: &mut PgConnection,
    patches: &HashMap<EntitlementKey, EntitlementPatch>,
) -> Result<(), sqlx::Error> {
    if patches.is_empty() {
        return Ok(());
    }
    let (keys, p): (Vec<&EntitlementKey>, Vec<&EntitlementPatch>) = patches.iter().unzip();
    let state = p.iter().map(|p| p.state.map(|s| s.0)).collect::<Vec<_>>();
    let block = p.iter().map(|p| p.state.map(|s| s.1)).collect::<Vec<_>>();
    let extrinsic = p
        .iter()
        .map(|p| p.state.and_then(|s| s.2))
        .collect::<Vec<_>>();
    sqlx::query(
        "UPDATE entitlements e SET
            state = COALESCE(u.s, e.state),
            block_number = COALESCE(u.b, e.block_number),
            extrinsic_index = CASE WHEN u.s IS NULL THEN e.extrinsic_index ELSE u.x END,
            delivered_at = COALESCE(u.da, e.delivered_at),
            proof = COALESCE(u.pr, e.proof),
            late = COALESCE(u.l, e.late),
            unlocked = COALESCE(u.un, e.unlocked),
            evidence = COALESCE(u.ev, e.evidence),
            rating = COALESCE(u.rt, e.rating)
         FROM UNNEST($1::bytea[], $2::int4[], $3::int4[], $4::text[], $5::int8[], $6::int4[], $7::int8[],
            $8::bytea[], $9::bool[], $10::bool[], $11::bytea[], $12::int2[])
            AS u(r, n, p, s, b, x, da, pr, l, un, ev, rt)
         WHERE e.release = u.r AND e.edition = u.n AND e.perk = u.p",
    )
    .bind(keys.iter().map(|k| k.0.to_vec()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1 as i32).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.2 as i32).collect::<Vec<_>>())
    .bind(state)
    .bind(block)
    .bind(extrinsic)
    .bind(p.iter().map(|p| p.delivered_at).collect::<Vec<_>>())
    .bind(p.iter().map(|p| p.proof.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|p| p.late).collect::<Vec<_>>())
    .bind(p.iter().map(|p| p.unlocked).collect::<Vec<_>>())
    .bind(p.iter().map(|p| p.evidence.clone()).collect::<Vec<_>>())
    .bind(p.iter().map(|p| p.rating).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(drop)
}

async fn update_granted(
    db: &mut PgConnection,
    granted: &HashMap<(Bytes32, u32), i32>,
) -> Result<(), sqlx::Error> {
    if granted.is_empty() {
        return Ok(());
    }
    let (keys, counts): (Vec<&(Bytes32, u32)>, Vec<i32>) =
        granted.iter().map(|(k, v)| (k, *v)).unzip();
    sqlx::query(
        "UPDATE perks p SET granted = p.granted + u.c
         FROM UNNEST($1::bytea[], $2::int4[], $3::int4[]) AS u(r, n, c)
         WHERE p.release = u.r AND p.perk = u.n",
    )
    .bind(keys.iter().map(|k| k.0.to_vec()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1 as i32).collect::<Vec<_>>())
    .bind(counts)
    .execute(db)
    .await
    .map(drop)
}

async fn update_releases(
    db: &mut PgConnection,
    deltas: &HashMap<Bytes32, ReleaseDelta>,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let (keys, d): (Vec<&Bytes32>, Vec<&ReleaseDelta>) = deltas.iter().unzip();
    let text =
        |f: fn(&ReleaseDelta) -> i128| d.iter().map(|x| f(x).to_string()).collect::<Vec<_>>();
    sqlx::query(
        "UPDATE releases r SET editions_sold = r.editions_sold + u.n,
            escrow_held = r.escrow_held + u.e::numeric,
            artist_withdrawable = r.artist_withdrawable + u.a::numeric,
            refunds_owed = r.refunds_owed + u.o::numeric,
            withdrawn = r.withdrawn + u.w::numeric
         FROM UNNEST($1::bytea[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(r, n, e, a, o, w)
         WHERE r.address = u.r",
    )
    .bind(keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.editions_sold as i32).collect::<Vec<_>>())
    .bind(text(|x| x.escrow_held))
    .bind(text(|x| x.artist_withdrawable))
    .bind(text(|x| x.refunds_owed))
    .bind(text(|x| x.withdrawn))
    .execute(db)
    .await
    .map(drop)
}
