//! One rule for "anyone may trigger this refund": the keeper's query (`due::DUE_SQL`, run by
//! the real PostgreSQL over the read model's tables) selects exactly the entitlements that
//! `Entitlement::refund_open_to_anyone` in the types crate (what the contract enforces)
//! opens — for every stored state, delivered on time or late, disputed or not, the perk
//! physical or automatic, cancelled or not, at every position of the clock around the
//! deadline, the grace and the ruling deadline. And it leaves out what it should: the
//! artist's own editions, dust, and refunds the chain refused lately.

use std::collections::BTreeSet;

use dreamster_keeper::due::{self, Due, Query, DUE_SQL};
use dreamster_test_support::TestDatabase;
use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState};
use dreamster_types::release::{MIN_DISPUTE_WINDOW, REFUND_GRACE, RULING_TIMEOUT};

const RELEASE: [u8; 32] = [0x5E; 32];
const ARTIST: [u8; 32] = [0x01; 32];
const FAN: [u8; 32] = [0x0F; 32];
/// Every seeded entitlement's escrow; the minimum the keeper is given.
const ESCROW: i64 = 10;
const DEADLINE: u64 = 1_800_000_000_000;

/// (automatic, cancelled) of perks 0–3.
const PERKS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

struct Case {
    edition: u32,
    state: EntitlementState,
    delivered_at: Option<u64>,
    disputed_at: Option<u64>,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for state in EntitlementState::ALL {
        // On time, and late by a little and by more than the grace.
        for delivered_at in [DEADLINE - 5_000, DEADLINE + 1, DEADLINE + REFUND_GRACE + 7] {
            let delivered = state != EntitlementState::Pending;
            cases.push(Case {
                edition: cases.len() as u32,
                state,
                delivered_at: delivered.then_some(delivered_at),
                disputed_at: (state == EntitlementState::Disputed).then_some(DEADLINE - 2_000),
            });
            if !delivered {
                break;
            }
        }
    }
    cases
}

fn clocks() -> Vec<u64> {
    let late = DEADLINE + REFUND_GRACE + 7;
    let ruling_end = DEADLINE - 2_000 + RULING_TIMEOUT;
    vec![
        DEADLINE - 10_000,
        DEADLINE,
        DEADLINE + 1,
        DEADLINE + REFUND_GRACE - 1,
        DEADLINE + REFUND_GRACE,
        DEADLINE + REFUND_GRACE + 1,
        DEADLINE + 1 + REFUND_GRACE - 1,
        DEADLINE + 1 + REFUND_GRACE,
        late + REFUND_GRACE - 1,
        late + REFUND_GRACE,
        ruling_end,
        ruling_end + 1,
        DEADLINE + 400 * REFUND_GRACE,
    ]
}

async fn sold(db: &sqlx::PgPool, edition: u32, owner: [u8; 32]) {
    sqlx::query(
        "INSERT INTO editions (release, edition, buyer, owner, price, artist_share, sold_at, block_number)
         VALUES ($1, $2, $3, $3, 1000, 0, 0, 1)",
    )
    .bind(RELEASE.to_vec())
    .bind(edition as i32)
    .bind(owner.to_vec())
    .execute(db)
    .await
    .expect("edition");
}

async fn entitlement(db: &sqlx::PgPool, edition: u32, perk: u32, escrow: i64, case: &Case) {
    sqlx::query(
        "INSERT INTO entitlements (release, edition, perk, escrow, state, deadline,
            delivered_at, disputed_at, created_block, block_number)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 1)",
    )
    .bind(RELEASE.to_vec())
    .bind(edition as i32)
    .bind(perk as i32)
    .bind(escrow)
    .bind(case.state.slug())
    .bind(DEADLINE as i64)
    .bind(case.delivered_at.map(|t| t as i64))
    .bind(case.disputed_at.map(|t| t as i64))
    .execute(db)
    .await
    .expect("entitlement");
}

async fn seed(db: &sqlx::PgPool, cases: &[Case]) {
    dreamster_indexer::store::migrator()
        .run(db)
        .await
        .expect("read model migrations");
    sqlx::query(
        "INSERT INTO releases (address, registry, artist, title, metadata_uri, price, sale_start,
            dispute_window, created_at, block_number)
         VALUES ($1, '\\x00', $2, 'R', '', 1000, 0, $3, 0, 1)",
    )
    .bind(RELEASE.to_vec())
    .bind(ARTIST.to_vec())
    .bind(MIN_DISPUTE_WINDOW as i64)
    .execute(db)
    .await
    .expect("release");
    for (perk, (automatic, cancelled)) in PERKS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO perks (release, perk, category, kind, title, description, metadata_uri,
                estimated_value, escrow_bps, delivery, deadline, added_at_edition, added_at,
                block_number, cancelled_at)
             VALUES ($1, $2, 'community', 'private_chat', 'P', '', '', 1, 100, $3, $4, 0, 0, 1, $5)",
        )
        .bind(RELEASE.to_vec())
        .bind(perk as i32)
        .bind(if *automatic { "automatic" } else { "physical" })
        .bind(DEADLINE as i64)
        .bind(cancelled.then_some(DEADLINE as i64 - 100))
        .execute(db)
        .await
        .expect("perk");
    }
    for case in cases {
        sold(db, case.edition, FAN).await;
        for perk in 0..PERKS.len() as u32 {
            entitlement(db, case.edition, perk, ESCROW, case).await;
        }
    }
}

#[tokio::test]
async fn the_keepers_query_opens_what_the_contracts_rule_opens() {
    let db = TestDatabase::create().await.expect("db");
    let cases = cases();
    seed(db.pool(), &cases).await;
    let mut compared = 0;
    let mut opened = 0;
    for now in clocks() {
        let mut expected = BTreeSet::new();
        for case in &cases {
            for (perk, (automatic, cancelled)) in PERKS.iter().enumerate() {
                let mut e = Entitlement::new(perk as u32, 10, DEADLINE);
                e.state = case.state;
                e.delivered_at = case.delivered_at;
                e.disputed_at = case.disputed_at;
                let clock = Clock {
                    now,
                    dispute_window: MIN_DISPUTE_WINDOW,
                    cancelled: *cancelled,
                    automatic: *automatic,
                };
                if e.refund_open_to_anyone(clock) {
                    expected.insert((case.edition, perk as u32));
                }
                compared += 1;
            }
        }
        let selected: BTreeSet<(u32, u32)> =
            sqlx::query_as::<_, (i32, i32)>(&format!("SELECT edition, perk FROM ({DUE_SQL}) due"))
                .bind(now as i64)
                .bind(REFUND_GRACE as i64)
                .bind(RULING_TIMEOUT as i64)
                .bind(10_000_i64)
                .bind(ESCROW.to_string())
                .bind(Vec::<Vec<u8>>::new())
                .bind(Vec::<i32>::new())
                .bind(Vec::<i32>::new())
                .fetch_all(db.pool())
                .await
                .expect("the keeper's query")
                .into_iter()
                .map(|(edition, perk)| (edition as u32, perk as u32))
                .collect();
        assert_eq!(
            selected, expected,
            "at {now}: the query selects {selected:?}, the rule opens {expected:?}"
        );
        let query = Query {
            now,
            limit: 10_000,
            min_escrow: ESCROW as u128,
            resting: &[],
        };
        let judged: BTreeSet<(u32, u32)> = due::due(db.pool(), query)
            .await
            .expect("due")
            .into_iter()
            .map(|Due { edition, perk, .. }| (edition, perk))
            .collect();
        assert_eq!(judged, expected, "at {now}: due() differs from the rule");
        opened += expected.len();
    }
    // The grid reaches both answers many times, or it proves nothing.
    assert!(
        opened > 50 && opened < compared / 2,
        "opened {opened} of {compared}"
    );
    println!("compared {compared} (entitlement, clock) pairs; {opened} open to anyone");
}

/// An owed refund of the artist's own edition, one of dust, and one the chain refused a
/// moment ago are left out; an owed refund beside them is not.
#[tokio::test]
async fn the_artists_editions_dust_and_resting_refunds_are_left_out() {
    let db = TestDatabase::create().await.expect("db");
    seed(db.pool(), &[]).await;
    let owed = Case {
        edition: 0,
        state: EntitlementState::RefundOwed,
        delivered_at: Some(DEADLINE - 5_000),
        disputed_at: Some(DEADLINE - 2_000),
    };
    for (edition, owner, escrow) in [
        (0, ARTIST, ESCROW),
        (1, FAN, ESCROW - 1),
        (2, FAN, ESCROW),
        (3, FAN, ESCROW),
    ] {
        sold(db.pool(), edition, owner).await;
        entitlement(db.pool(), edition, 0, escrow, &owed).await;
    }
    let resting = [Due {
        release: RELEASE,
        edition: 2,
        perk: 0,
    }];
    let found = due::due(
        db.pool(),
        Query {
            now: DEADLINE,
            limit: 100,
            min_escrow: ESCROW as u128,
            resting: &resting,
        },
    )
    .await
    .expect("due");
    assert_eq!(
        found,
        vec![Due {
            release: RELEASE,
            edition: 3,
            perk: 0
        }]
    );
}
