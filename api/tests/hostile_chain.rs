//! What a hostile account can put on chain for a few cents, through the real contracts on
//! the real node: NUL and control characters in an artist's name, a title and a
//! description, text at its maximum length, and numbers at the ends of their types
//! (`sale_start` = u64::MAX, `max_editions`, `quantity_limit` = u32::MAX; a perk never due
//! is refused, the farthest deadline allowed is used instead). The
//! real indexer keeps up — an ordinary sale after all of it is indexed — and the API shows
//! the truth: not on sale, not overdue, not sold out. And when the read model does refuse
//! a value (a constraint this test adds, standing in for any value a column cannot hold),
//! only that event is set aside, with its reason; the rest of its batch is written.

mod common;

use dreamster_api::{router, AppState};
use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::deploy;
use dreamster_e2e::scenario::{
    create_release, now_ms, open_sale, perk, registry_call, release_call, PRICE,
};
use dreamster_test_support::{within, DevNode, TestDatabase};
use dreamster_types::perk::{DeliveryMethod, PerkKind, MAX_DESCRIPTION_LEN, MAX_TITLE_LEN};
use dreamster_types::release::{MAX_DEADLINE_HORIZON, MAX_RELEASE_TITLE_LEN};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::{dev, Keypair};

use common::{get, id};

/// `n` bytes of text made of `unit` (ASCII), then `tail`.
fn long(unit: &str, n: usize, tail: &str) -> String {
    let mut s = unit.repeat(n / unit.len() + 1);
    s.truncate(n - tail.len());
    s + tail
}

async fn create(
    node: &Node,
    artist: &Keypair,
    registry_addr: &AccountId32,
    terms: dreamster_types::release::SaleTerms,
) -> AccountId32 {
    create_release(node, artist, registry_addr, terms)
        .await
        .expect("create release")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_values_neither_stop_the_indexer_nor_mislead_the_pages() {
    let dev_node = DevNode::start().await.expect("node");
    let node = Node::connect(&dev_node.rpc_url()).await.expect("client");
    let (owner, artist, fan) = (dev::alice(), dev::eve(), dev::charlie());
    let registry_addr = deploy(&node, &owner).await.expect("deploy");

    // A name with NUL, an escape and a right-to-left override.
    let name = "Nova\0Lights\u{1b}[2J\u{202E}";
    registry_call::<()>(
        &node,
        &artist,
        &registry_addr,
        registry::register_artist(name, "ipfs://\0"),
    )
    .await
    .expect("register");

    // Never on sale (starts at u64::MAX), unlimited editions at u32::MAX.
    let mut never = open_sale("Never\0Sale");
    never.sale_start = u64::MAX;
    never.max_editions = Some(u32::MAX);
    let never = create(&node, &artist, &registry_addr, never).await;

    // On sale: a title at its maximum length ending in NUL, a perk due as late as allowed
    // (two years ahead) for the first u32::MAX editions, its text at the maxima.
    let mut open = open_sale("");
    open.title = long("Open ", MAX_RELEASE_TITLE_LEN, "\0");
    open.max_editions = Some(u32::MAX);
    let open = create(&node, &artist, &registry_addr, open).await;
    let mut forever = perk(
        PerkKind::SignedMerch,
        "",
        1_000,
        DeliveryMethod::Physical,
        u64::MAX,
    );
    forever.title = long("Poster ", MAX_TITLE_LEN, "\0");
    forever.description = long("a\0b\u{7}", MAX_DESCRIPTION_LEN, "");
    forever.quantity_limit = Some(u32::MAX);
    let never_due =
        release_call::<u32>(&node, &artist, &open, 0, release::add_perk(forever.clone())).await;
    assert!(
        matches!(&never_due, Err(e) if e.to_string().contains("DeadlineTooFar")),
        "a perk never due must be refused: {never_due:?}"
    );
    forever.deadline = now_ms() + MAX_DEADLINE_HORIZON - 60_000;
    release_call::<u32>(&node, &artist, &open, 0, release::add_perk(forever.clone()))
        .await
        .expect("add perk");
    release_call::<u32>(&node, &fan, &open, PRICE, release::buy(vec![]))
        .await
        .expect("buy");

    // The read model refuses one value (standing in for any a column cannot hold).
    let refused = create(
        &node,
        &artist,
        &registry_addr,
        open_sale("REFUSED BY THE READ MODEL"),
    )
    .await;

    // And an ordinary release and sale after all of it.
    let plain = create(&node, &artist, &registry_addr, open_sale("Plain")).await;
    release_call::<u32>(
        &node,
        &artist,
        &plain,
        0,
        release::add_perk(perk(
            PerkKind::PrivateChat,
            "Chat",
            500,
            DeliveryMethod::Event,
            now_ms() + 86_400_000,
        )),
    )
    .await
    .expect("add perk");
    release_call::<u32>(&node, &fan, &plain, PRICE, release::buy(vec![]))
        .await
        .expect("buy");

    // Everything in one batch (one catch-up), with the refusing constraint in place.
    let db = TestDatabase::create().await.expect("db");
    dreamster_indexer::store::migrator()
        .run(db.pool())
        .await
        .expect("migrations");
    sqlx::query("ALTER TABLE releases ADD CONSTRAINT test_refuses CHECK (title <> 'REFUSED BY THE READ MODEL')")
        .execute(db.pool())
        .await
        .expect("constraint");
    within(
        120,
        "indexing the hostile chain",
        dreamster_indexer::index_once(&dev_node.rpc_url(), db.url(), registry_addr.0),
    )
    .await
    .expect("the indexer keeps up");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router(AppState::for_node(db.pool().clone(), &dev_node.rpc_url()));
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The ordinary sale after the hostile values is there: nothing stalled.
    let (status, plain_json) = get(&base, &format!("/api/releases/{plain}")).await;
    assert_eq!(status, 200, "{plain_json}");
    assert_eq!(plain_json["editions_sold"], 1);

    // The artist's name, cleaned, and its original bytes kept.
    let (_, a) = get(&base, &format!("/api/artists/{}", id(&artist))).await;
    assert_eq!(a["name"], "Nova\u{FFFD}Lights\u{FFFD}[2J\u{FFFD}");
    let original: Vec<u8> =
        sqlx::query_scalar("SELECT original FROM sanitized_text WHERE field = 'artist.name'")
            .fetch_one(db.pool())
            .await
            .expect("original kept");
    assert_eq!(original, name.as_bytes());

    // Starting at u64::MAX: not on sale, and it says so; u32::MAX editions: not sold out.
    let (_, r) = get(&base, &format!("/api/releases/{never}")).await;
    assert_eq!(r["on_sale"], false, "{r}");
    assert_eq!(r["sale_start"], i64::MAX);
    assert_eq!(r["max_editions"], u64::from(u32::MAX));
    assert_eq!(r["title"], "Never\u{FFFD}Sale");

    let (_, rp) = get(&base, &format!("/api/releases/{open}/perks")).await;
    assert_eq!(rp["release"]["on_sale"], true, "{rp}");
    let title = rp["release"]["title"].as_str().expect("title");
    assert_eq!(title.chars().count(), MAX_RELEASE_TITLE_LEN);
    assert!(title.ends_with('\u{FFFD}'));
    let p = &rp["perks"][0];
    assert_eq!(p["deadline"], forever.deadline, "{p}");
    assert_eq!(p["quantity_limit"], u64::from(u32::MAX));
    assert_eq!(p["remaining"], u64::from(u32::MAX) - 1);
    assert_eq!(
        p["description"].as_str().expect("description"),
        forever.description.replace(['\0', '\u{7}'], "\u{FFFD}")
    );

    // The fan's perk due two years from now is pending — not overdue, not refundable.
    let (_, f) = get(&base, &format!("/api/fans/{}/perks?limit=100", id(&fan))).await;
    let states: Vec<(String, String)> = f["benefits"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| {
            (
                b["release"].as_str().unwrap_or_default().to_string(),
                b["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&(open.to_string(), "pending".into())),
        "{states:?}"
    );
    let (_, overdue) = get(&base, "/api/audit/overdue").await;
    assert_eq!(overdue["total"], 0, "{overdue}");

    // The refused release is set aside with its reason; nothing else is.
    let rejected: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT name, rejected FROM raw_events WHERE rejected IS NOT NULL")
            .fetch_all(db.pool())
            .await
            .expect("rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0.as_deref(), Some("ReleaseCreated"));
    assert!(rejected[0].1.contains("test_refuses"), "{rejected:?}");
    let (status, _) = get(&base, &format!("/api/releases/{refused}")).await;
    assert_eq!(status, 404);
    let undecodable: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_events WHERE decode_error IS NOT NULL")
            .fetch_one(db.pool())
            .await
            .expect("count");
    assert_eq!(undecodable, 0);
}
