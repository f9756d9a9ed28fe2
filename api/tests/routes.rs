//! The API over a read model filled by the real indexer from the real node's scripted
//! story: lists, filters, pagination, perks before purchase, pages, and 4xx for bad input.

mod common;

use common::{get, serve_story};
use dreamster_e2e::scenario::PRICE;

#[tokio::test]
async fn routes_over_an_indexed_story() {
    let served = serve_story().await;
    let (story, base) = (&served.story, served.base.clone());
    let rel = story.release.to_string();
    let (status, list) = get(&base, "/api/releases").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["address"], rel);
    assert_eq!(list["items"][0]["artist_name"], "Nova Lights");
    assert_eq!(list["items"][0]["price"], PRICE.to_string());
    assert_eq!(list["items"][0]["editions_sold"], 2);

    let artist = list["items"][0]["artist"]
        .as_str()
        .expect("artist")
        .to_string();
    assert_eq!(
        get(&base, &format!("/api/releases?artist={artist}"))
            .await
            .1["total"],
        1
    );
    assert_eq!(
        get(
            &base,
            "/api/releases?artist=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        )
        .await
        .1["total"],
        0
    );
    assert_eq!(
        get(&base, "/api/releases?category=physical_merchandise")
            .await
            .1["total"],
        1
    );
    assert_eq!(
        get(&base, "/api/releases?category=community").await.1["total"],
        0
    );
    assert_eq!(get(&base, "/api/releases?on_sale=true").await.1["total"], 1);
    assert_eq!(
        get(&base, "/api/releases?on_sale=false").await.1["total"],
        0
    );
    let (_, paged) = get(&base, "/api/releases?limit=1&offset=1").await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(paged["total"], 1);

    let (status, perks) = get(&base, &format!("/api/releases/{rel}/perks")).await;
    assert_eq!(status, 200);
    let items = perks["perks"].as_array().expect("perks");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["icon"], "🎧");
    assert_eq!(items[1]["kind"], "limited_vinyl");
    assert_eq!(
        items[1]["escrow_amount"],
        (PRICE * 3_000 / 10_000).to_string()
    );
    let total: u128 = items
        .iter()
        .map(|p| {
            p["estimated_value"]
                .as_str()
                .and_then(|v| v.parse::<u128>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(perks["release"]["total_perk_value"], total.to_string());
    assert!(items
        .iter()
        .all(|p| p["added"]["block"].as_i64().is_some_and(|b| b > 0)));

    for (path, code, error) in [
        ("/api/releases?limit=0", 400, "bad_query"),
        ("/api/releases?limit=abc", 400, "bad_query"),
        ("/api/releases?offset=-1", 400, "bad_query"),
        ("/api/releases?on_sale=maybe", 400, "bad_query"),
        (
            "/api/releases?category=%27%3B%20DROP%20TABLE%20releases%3B--",
            400,
            "bad_query",
        ),
        ("/api/releases?artist=robert%27);--", 400, "bad_address"),
        ("/api/releases/not-an-address", 400, "bad_address"),
        (
            "/api/releases/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            404,
            "not_found",
        ),
        ("/api/nothing", 404, "not_found"),
    ] {
        let (status, body) = get(&base, path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (code, Some(error)),
            "{path}: {body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // The fan who bought edition 0 (Charlie): perk 0 unlocked and confirmed, perk 1 refunded
    // after a dispute, perk 2 refunded as overdue.
    let charlie = subxt_signer::sr25519::dev::charlie()
        .public_key()
        .to_account_id()
        .to_string();
    let (status, fan) = get(&base, &format!("/api/fans/{charlie}/perks")).await;
    assert_eq!(status, 200, "{fan}");
    assert_eq!(fan["editions"], 1);
    let states: Vec<_> = fan["benefits"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| b["state"].clone())
        .collect();
    assert_eq!(states, ["confirmed", "refunded", "refunded"]);
    assert_eq!(fan["benefits"]["items"][0]["rating"], 5);
    // Eve holds edition 1 by transfer: perk 0 pending (automatic: unlock it), perk 1 confirmed by
    // the arbiter, perk 2 past its deadline.
    let eve = subxt_signer::sr25519::dev::eve()
        .public_key()
        .to_account_id()
        .to_string();
    let (_, eve_fan) = get(&base, &format!("/api/fans/{eve}/perks")).await;
    let items = eve_fan["benefits"]["items"].as_array().expect("items");
    let states: Vec<_> = items.iter().map(|b| b["state"].clone()).collect();
    assert_eq!(states, ["pending", "confirmed", "overdue"]);
    assert!(items[0]["access"]
        .as_str()
        .is_some_and(|a| a.contains("unlock")));
    assert!(items[2]["access"]
        .as_str()
        .is_some_and(|a| a.contains("refundable")));
    assert_eq!(
        get(&base, &format!("/api/fans/{eve}/perks?state=overdue"))
            .await
            .1["benefits"]["total"],
        1
    );
    // The total and the editions come with a page's rows; a page with none counts them
    // apart, so each kind of page says the same figures.
    for (query, items) in [
        ("limit=1&offset=1", 1),
        ("offset=5", 0),
        ("state=overdue", 1),
        ("state=refunded", 0),
        ("state=overdue&offset=1", 0),
    ] {
        let (status, page) = get(&base, &format!("/api/fans/{eve}/perks?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        let total = match query {
            q if q.starts_with("state=overdue") => 1,
            q if q.starts_with("state") => 0,
            _ => 3,
        };
        assert_eq!(page["benefits"]["total"], total, "{query}: {page}");
        assert_eq!(page["editions"], 1, "{query}: {page}");
        assert_eq!(
            page["benefits"]["items"].as_array().map(Vec::len),
            Some(items),
            "{query}"
        );
    }
    assert_eq!(
        get(
            &base,
            "/api/fans/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY/perks"
        )
        .await
        .1["editions"],
        0
    );
    assert_eq!(
        get(&base, &format!("/api/fans/{eve}/perks?state=lost"))
            .await
            .0,
        400
    );

    let (status, profile) = get(&base, &format!("/api/artists/{artist}")).await;
    assert_eq!(status, 200);
    assert_eq!(profile["name"], "Nova Lights");
    assert_eq!(profile["releases"].as_array().map(Vec::len), Some(1));
    assert_eq!(profile["reputation"]["refunded_overdue"], 1);
    assert_eq!(profile["reputation"]["disputes_lost"], 1);
    assert_eq!(profile["reputation"]["disputes_won"], 1);
    assert_eq!(profile["reputation"]["average_rating"], 5.0);
    let (_, stats) = get(&base, &format!("/api/artists/{artist}/analytics")).await;
    assert_eq!(stats["sales"], 2);
    assert_eq!(stats["revenue"], (2 * PRICE).to_string());
    let perk_stats = stats["perks"].as_array().expect("perks");
    assert_eq!(perk_stats.len(), 3);
    assert_eq!(perk_stats[0]["granted"], 2);
    assert_eq!(perk_stats[0]["delivered"], 1);
    assert_eq!(perk_stats[0]["delivery_rate"], 50.0);
    assert_eq!(perk_stats[0]["confirmations"], 1);
    assert_eq!(perk_stats[1]["disputes"], 2);
    assert_eq!(perk_stats[2]["refunds"], 1);
    assert_eq!(perk_stats[0]["sales_after"], 2);
    assert_eq!(
        get(
            &base,
            "/api/artists/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        )
        .await
        .0,
        404
    );

    let (_, overdue) = get(&base, "/api/audit/overdue").await;
    assert_eq!(overdue["total"], 1);
    assert_eq!(overdue["items"][0]["edition"], 1);
    assert!(overdue["items"][0]["at"]["block"]
        .as_i64()
        .is_some_and(|b| b > 0));
    assert_eq!(get(&base, "/api/audit/disputes").await.1["total"], 0);
    let (_, refunds) = get(&base, "/api/audit/refunds").await;
    assert_eq!(refunds["total"], 2);
    assert!(refunds["items"]
        .as_array()
        .expect("refunds")
        .iter()
        .all(|r| r["at"]["extrinsic"].as_i64().is_some()));
    let (_, league) = get(&base, "/api/audit/league").await;
    assert_eq!(league["items"][0]["name"], "Nova Lights");

    let (_, templates) = get(&base, "/api/perk-templates").await;
    assert_eq!(templates.as_array().map(Vec::len), Some(20));
    let (_, doc) = get(&base, "/openapi.json").await;
    for p in [
        "/api/releases",
        "/api/releases/{address}",
        "/api/releases/{address}/perks",
        "/api/perk-templates",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }

    let page = common::http()
        .get(format!("{base}/releases/{rel}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("id=\"view-perks\"") && page.contains(">View Perks<"));
    assert!(page.contains("Total perk value: 6 UNIT"), "{page}");
    let home = common::http()
        .get(format!("{base}/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(home.contains("Night Drive"));
    let text = |path: String| {
        let base = base.clone();
        async move {
            common::http()
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("html")
        }
    };
    let fan_page = text(format!("/fans/{eve}")).await;
    assert_eq!(
        fan_page.matches("class=\"card perk benefit\"").count(),
        3,
        "{fan_page}"
    );
    assert!(fan_page.contains("data-state=\"overdue\""));
    let artist_page = text(format!("/artists/{artist}")).await;
    assert!(
        artist_page.contains("id=\"sales-chart\"") && artist_page.contains("<rect"),
        "{artist_page}"
    );
    assert!(artist_page.contains("id=\"perk-stats\""));
    let audit_page = text("/audit".to_string()).await;
    assert!(
        audit_page.contains("Overdue perks (1)") && audit_page.contains("Refunds (2)"),
        "{audit_page}"
    );
    assert!(audit_page.contains("#/explorer/query/"));
    assert_eq!(
        common::http()
            .get(format!("{base}/fans/nobody"))
            .send()
            .await
            .expect("page")
            .status()
            .as_u16(),
        400
    );

    overdue_commitments_flag_the_artist(&served, &artist, &text).await;
}

/// Issue 17, finding 10: each artist's overdue commitments are counted — in the API, on
/// their page, in the league and in the metrics — and a pile of them flags the artist.
async fn overdue_commitments_flag_the_artist<F, Fut>(
    served: &common::Served,
    artist: &str,
    text: &F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let base = &served.base;
    let prometheus = dreamster_client::service::install_metrics().expect("the only recorder here");
    let (_, a) = get(base, &format!("/api/artists/{artist}")).await;
    assert_eq!(
        (a["overdue_now"].as_i64(), a["flagged"].as_bool()),
        (Some(1), Some(false)),
        "{a}"
    );
    // Two more holders' perks lapse: copies of the overdue entitlement, on other editions.
    for shift in [100, 200] {
        sqlx::query(
            "INSERT INTO entitlements
             SELECT (jsonb_populate_record(e, jsonb_build_object('edition', e.edition + $2))).*
             FROM entitlements e WHERE e.state = 'pending' AND e.deadline < $1 AND e.edition < 100",
        )
        .bind(dreamster_e2e::scenario::now_ms() as i64)
        .bind(shift)
        .execute(served.db.pool())
        .await
        .expect("lapse another commitment");
    }
    let threshold = i64::from(dreamster_types::release::FLAG_OVERDUE_COMMITMENTS);
    let (_, a) = get(base, &format!("/api/artists/{artist}")).await;
    assert_eq!(
        (a["overdue_now"].as_i64(), a["flagged"].as_bool()),
        (Some(threshold), Some(true)),
        "{a}"
    );
    let (_, league) = get(base, "/api/audit/league").await;
    let row = league["items"]
        .as_array()
        .expect("league")
        .iter()
        .find(|r| r["artist"] == artist)
        .expect("in the league");
    assert_eq!(
        (row["overdue_now"].as_i64(), row["flagged"].as_bool()),
        (Some(threshold), Some(true)),
        "{row}"
    );
    let page = text(format!("/artists/{artist}")).await;
    assert!(
        page.contains(&format!("⚠ {threshold} commitments overdue")),
        "{page}"
    );
    assert!(text("/audit".to_string())
        .await
        .contains(&format!("⚠ {threshold} overdue")));
    dreamster_api::telemetry::refresh(served.db.pool())
        .await
        .expect("metrics read");
    let metrics = prometheus.render();
    assert!(
        metrics.contains(&format!(
            "dreamster_api_artist_overdue_commitments{{artist=\"{artist}\"}} {threshold}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("dreamster_api_artists_flagged_for_overdue 1"),
        "{metrics}"
    );
}
