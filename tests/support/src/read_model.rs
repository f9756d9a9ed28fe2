//! A read model generated with SQL in the shape the indexer writes, at any size: for the
//! API's load bench (1 000 000 entitlements; indexing that many buys from a chain would
//! take hours — the indexer's own speed is its backfill bench) and for tests of the API
//! over more rows than a story plays.
//!
//! Artists are accounts `1..=artists`, releases `1_000_001..`, fans `5_000_000..` (the
//! number in the last 8 bytes of the account). Each release has 4 perks (event, automatic,
//! physical, automatic) and `editions_per_release` editions, each with an entitlement per
//! perk cycling through pending, delivered, confirmed and refunded; a tenth of the releases
//! have their first perk past its deadline (their pending entitlements are overdue); every
//! 25th delivered edition is disputed now; every refund has its event; every artist has a
//! reputation.

use subxt::utils::AccountId32;

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub artists: i64,
    pub releases: i64,
    pub editions_per_release: i64,
    pub fans: i64,
}

impl Shape {
    /// 200 artists, 1 000 releases × 250 editions × 4 perks: 1 000 000 entitlements.
    pub const MILLION: Shape = Shape {
        artists: 200,
        releases: 1_000,
        editions_per_release: 250,
        fans: 50_000,
    };

    pub fn entitlements(&self) -> i64 {
        self.releases
            .saturating_mul(self.editions_per_release)
            .saturating_mul(4)
    }

    /// The `i`-th artist, release and fan, spread over all of them.
    pub fn artist(&self, i: u64) -> AccountId32 {
        account(1 + spread(i, self.artists))
    }

    pub fn release(&self, i: u64) -> AccountId32 {
        account(1_000_001 + spread(i, self.releases))
    }

    pub fn fan(&self, i: u64) -> AccountId32 {
        account(5_000_000 + spread(i, self.fans))
    }
}

fn spread(i: u64, n: i64) -> i64 {
    (i64::try_from(i % 1_000_003).unwrap_or(0) * 7919) % n.max(1)
}

/// The account numbered `n` (in its last 8 bytes).
pub fn account(n: i64) -> AccountId32 {
    let mut bytes = [0u8; 32];
    bytes[24..].copy_from_slice(&n.to_be_bytes());
    AccountId32(bytes)
}

/// Fills an empty, migrated read model; returns the entitlements written. `now` (ms) is
/// when the disputes are raised.
pub async fn generate(db: &sqlx::PgPool, shape: Shape, now: i64) -> Result<i64, sqlx::Error> {
    let Shape {
        artists,
        releases,
        editions_per_release: per_release,
        fans,
    } = shape;
    let acct = |expr: &str| format!("decode(lpad(to_hex({expr}), 64, '0'), 'hex')");
    let statements = [
        format!("INSERT INTO artists SELECT {}, 'Artist ' || a, '', 0, a, 1 FROM generate_series(1, {artists}) a", acct("a")),
        format!(
            "INSERT INTO releases (address, registry, artist, title, metadata_uri, price, max_editions, sale_start, sale_end,
                dispute_window, created_at, editions_sold, escrow_held, block_number, extrinsic_index)
             SELECT {}, '\\x00', {}, 'Release ' || r, '', 10000000000000, NULL, 0, NULL, 604800000, 0, {per_release},
                0, 1000 + r, 1 FROM generate_series(1, {releases}) r",
            acct("1000000 + r"),
            acct(&format!("1 + r % {artists}"))
        ),
        "INSERT INTO perks SELECT r.address, p, (ARRAY['event_access','exclusive_content','physical_merchandise','community'])[p + 1],
            (ARRAY['meet_and_greet','unreleased_music','limited_vinyl','private_chat'])[p + 1], 'Perk ' || p, 'A perk', '',
            2000000000000, 1000, (ARRAY['event','automatic','physical','automatic'])[p + 1], NULL, NULL,
            1900000000000 + p * 86400000, 0, 0, 0, r.block_number, 1 FROM releases r, generate_series(0, 3) p"
            .to_string(),
        format!(
            "INSERT INTO editions SELECT r.address, e, {f}, {f}, 10000000000000, 6000000000000, 1790000000000 + e * 60000,
                r.block_number + 1 + e, 1
             FROM releases r, generate_series(0, {}) e",
            per_release - 1,
            f = acct(&format!("5000000 + (r.block_number * {per_release} + e) % {fans}"))
        ),
        "INSERT INTO entitlements (release, edition, perk, escrow, state, deadline, unlocked, created_block, block_number, extrinsic_index)
            SELECT ed.release, ed.edition, p.perk, 1000000000000,
                (ARRAY['pending','delivered','confirmed','refunded'])[1 + (ed.edition + p.perk) % 4], p.deadline,
                p.delivery = 'automatic' AND (ed.edition + p.perk) % 4 IN (1, 2), ed.block_number, ed.block_number, 1
            FROM editions ed JOIN perks p ON p.release = ed.release"
            .to_string(),
        "UPDATE perks SET deadline = 1700000000000 WHERE perk = 0 AND block_number % 10 = 0".to_string(),
        "UPDATE entitlements e SET deadline = p.deadline FROM perks p
            WHERE p.release = e.release AND p.perk = e.perk AND p.perk = 0 AND p.block_number % 10 = 0"
            .to_string(),
        format!(
            "UPDATE entitlements SET state = 'disputed', disputed_at = {now}
             WHERE state = 'delivered' AND edition % 25 = 0"
        ),
        "INSERT INTO entitlement_changes (release, edition, perk, actor, from_state, to_state, action, amount,
                refund, at, block_number, event_index)
            SELECT e.release, e.edition, e.perk, '\\x00', 'pending', 'refunded', 'refunded', e.escrow, true,
                1790000000000, 2000000 + e.block_number, row_number() OVER ()
            FROM entitlements e WHERE e.state = 'refunded'"
            .to_string(),
        format!(
            "INSERT INTO reputation (artist, delivered_on_time, delivered_late, refunded_overdue, disputes_won,
                disputes_lost, rating_sum, rating_count, block_number)
             SELECT {}, 20 + a % 50, a % 7, a % 5, a % 2, a % 3, (a % 20) * 4, a % 20, 1
             FROM generate_series(1, {artists}) a",
            acct("a")
        ),
    ];
    for s in statements {
        sqlx::query(&s).execute(db).await?;
    }
    // As a database in service would be: vacuumed (hint bits set, the visibility map
    // written) and analysed, so no autovacuum of the fresh million rows runs during a
    // measurement. VACUUM cannot be prepared: the simple protocol.
    sqlx::raw_sql(
        "VACUUM ANALYZE artists, releases, perks, editions, entitlements, entitlement_changes, reputation",
    )
    .execute(db)
    .await?;
    sqlx::query_scalar("SELECT count(*) FROM entitlements")
        .fetch_one(db)
        .await
}
