//! The read model equals the chain: after a scripted story on a real node, every
//! projection row matches what the contracts' own getters return.

use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::{ink_id, scenario};
use dreamster_indexer::records::{known_contract_emitted, EventPlan};
use dreamster_indexer::source::{read_events, ChainSource};
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{within, DevNode, TestDatabase};
use dreamster_types::entitlement::Entitlement;
use dreamster_types::perk::Perk;
use dreamster_types::registry_api::Reputation;
use dreamster_types::AccountId;
use sqlx::Row;
use subxt_signer::sr25519::dev;

fn bytes(a: &AccountId) -> Vec<u8> {
    <AccountId as AsRef<[u8; 32]>>::as_ref(a).to_vec()
}

async fn numeric(pool: &sqlx::PgPool, sql: &str, key: &[u8]) -> anyhow::Result<u128> {
    let text: String = sqlx::query(sql).bind(key).fetch_one(pool).await?.get(0);
    Ok(text.parse()?)
}

#[tokio::test]
async fn projection_matches_the_contracts_getters() -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let story = scenario::play(&node).await?;

    let db = TestDatabase::create().await?;
    let store = Store::open(db.url(), story.registry.0).await?;
    let mut follower = Follower::new(
        FollowerConfig {
            rpc_url: dev_node.rpc_url(),
            ..Default::default()
        },
        store,
    );
    // Wait until the last transaction's block is finalized, then index up to it.
    let last = node.api().blocks().at_latest().await?.number() as u64;
    let source = ChainSource::connect(&dev_node.rpc_url()).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while within(60, "a catch-up", follower.catch_up(&source)).await? < last {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "block {last} was not finalized within 90 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert_eq!(follower.totals.undecodable, 0);
    let pool = db.pool();
    let rel = story.release.0.to_vec();

    // Release books.
    for (column, input) in [
        ("escrow_held", release::escrow_held()),
        ("artist_withdrawable", release::artist_withdrawable()),
        ("refunds_owed", release::refunds_owed()),
    ] {
        let chain: u128 = node.query(&story.release, &input).await?;
        let model = numeric(
            pool,
            &format!("SELECT {column}::text FROM releases WHERE address = $1"),
            &rel,
        )
        .await?;
        assert_eq!(model, chain, "releases.{column}");
    }
    let supply: u32 = node.query(&story.release, &release::total_supply()).await?;
    let sold: i32 = sqlx::query("SELECT editions_sold FROM releases WHERE address = $1")
        .bind(&rel)
        .fetch_one(pool)
        .await?
        .get(0);
    assert_eq!(sold as u32, supply);

    // Perks.
    let perks: Vec<Perk> = node.perks(&story.release).await?;
    assert_eq!(perks.len(), 3);
    for (i, perk) in perks.iter().enumerate() {
        let row = sqlx::query(
            "SELECT title, kind, category, escrow_bps, deadline, granted, added_at_edition, estimated_value::text
             FROM perks WHERE release = $1 AND perk = $2",
        )
        .bind(&rel)
        .bind(i as i32)
        .fetch_one(pool)
        .await?;
        assert_eq!(row.get::<String, _>(0), perk.terms.title);
        assert_eq!(row.get::<String, _>(1), perk.terms.kind.slug());
        assert_eq!(row.get::<String, _>(2), perk.terms.category.slug());
        assert_eq!(row.get::<i32, _>(3), i32::from(perk.terms.escrow_bps));
        assert_eq!(row.get::<i64, _>(4) as u64, perk.terms.deadline);
        assert_eq!(row.get::<i32, _>(5) as u32, perk.granted);
        assert_eq!(row.get::<i32, _>(6) as u32, perk.added_at_edition);
        assert_eq!(
            row.get::<String, _>(7).parse::<u128>()?,
            perk.terms.estimated_value
        );
    }

    // Editions, owners and every entitlement.
    let mut compared = 0;
    for edition in 0..supply {
        let owner: Option<AccountId> = node
            .query(&story.release, &release::owner_of(edition))
            .await?;
        let row_owner: Vec<u8> =
            sqlx::query("SELECT owner FROM editions WHERE release = $1 AND edition = $2")
                .bind(&rel)
                .bind(edition as i32)
                .fetch_one(pool)
                .await?
                .get(0);
        assert_eq!(Some(row_owner), owner.as_ref().map(bytes));
        for perk in 0..perks.len() as u32 {
            let chain: Option<Entitlement> = node
                .query(&story.release, &release::entitlement(edition, perk))
                .await?;
            let row = sqlx::query(
                "SELECT state, escrow::text, delivered_at, proof, evidence, rating FROM entitlements
                 WHERE release = $1 AND edition = $2 AND perk = $3",
            )
            .bind(&rel)
            .bind(edition as i32)
            .bind(perk as i32)
            .fetch_optional(pool)
            .await?;
            let (Some(e), Some(row)) = (chain, row) else {
                panic!("entitlement ({edition}, {perk}) on chain and in the read model differ in existence");
            };
            assert_eq!(
                row.get::<String, _>(0),
                e.state.slug(),
                "state of ({edition}, {perk})"
            );
            assert_eq!(row.get::<String, _>(1).parse::<u128>()?, e.escrow);
            assert_eq!(
                row.get::<Option<i64>, _>(2).map(|t| t as u64),
                e.delivered_at
            );
            assert_eq!(
                row.get::<Option<Vec<u8>>, _>(3),
                e.proof.map(|p| p.to_vec())
            );
            assert_eq!(
                row.get::<Option<Vec<u8>>, _>(4),
                e.evidence.map(|p| p.to_vec())
            );
            assert_eq!(row.get::<Option<i16>, _>(5).map(|r| r as u8), e.rating);
            compared += 1;
        }
    }
    assert_eq!(compared, 6);

    // The artist's reputation, as the registry keeps it.
    let artist = ink_id(&dev::bob().public_key().to_account_id());
    let reputation: Reputation = node
        .query(&story.registry, &registry::reputation(artist))
        .await?;
    let columns = Reputation::COUNTER_COLUMNS.map(|c| format!("{c}::bigint"));
    let row = sqlx::query(&format!(
        "SELECT {} FROM reputation WHERE artist = $1",
        columns.join(", ")
    ))
    .bind(bytes(&artist))
    .fetch_one(pool)
    .await?;
    let model: Vec<i64> = (0..columns.len()).map(|i| row.get::<i64, _>(i)).collect();
    assert_eq!(model, reputation.counters().to_vec());
    assert!(
        reputation.disputes_won == 1
            && reputation.disputes_lost == 1
            && reputation.refunded_overdue == 1
    );

    // Every row can be traced to the chain.
    let untraced: i64 = sqlx::query("SELECT count(*) FROM entitlements WHERE block_number <= 0")
        .fetch_one(pool)
        .await?
        .get(0);
    assert_eq!(untraced, 0);

    // The compiled reading of event records agrees with subxt's on every block of the
    // story (every kind of event the contracts and the runtime emit in it).
    let api = dev_node.client().await?;
    assert!(known_contract_emitted(&api.metadata()).is_some());
    let plan = EventPlan::new(&api.metadata());
    let mut compared = 0;
    for number in 0..=last {
        let hash = source.block_hash(number).await?.expect("a block");
        let events = api.events().at(hash).await?;
        let (by_subxt, unreadable) = read_events(&events, true);
        assert!(unreadable.is_empty(), "block {number}: {unreadable:?}");
        assert_eq!(
            plan.read(events.bytes()),
            Some(by_subxt.clone()),
            "block {number}"
        );
        compared += by_subxt.len();
    }
    assert!(compared >= 30, "only {compared} contract events compared");
    Ok(())
}
