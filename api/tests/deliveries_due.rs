//! The release page's artist tools load the deliveries to mark on demand, 20 at a time
//! (issue 17, finding 5's load goal: up to 200 of the artist's forms in every fan's release
//! page were a quarter of its time). Walking the pages by their own "Next" buttons gives
//! every pending physical and event delivery once, soonest due first; bad input is a 4xx.

mod common;

use std::collections::HashSet;

use dreamster_api::read::now_ms;
use dreamster_api::releases::DUE_PAGE;
use dreamster_api::AppState;
use dreamster_test_support::read_model::{self, Shape};

/// 100 editions a release: 25 event and 25 physical entitlements pending in each.
const SHAPE: Shape = Shape {
    artists: 2,
    releases: 4,
    editions_per_release: 100,
    fans: 50,
};

async fn text(c: &reqwest::Client, url: String) -> (u16, String) {
    let r = c.get(&url).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// The value of the first `attr="…"` in `html`.
fn attr(html: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("{attr}=\""))? + attr.len() + 2;
    let len = html.get(at..)?.find('"')?;
    html.get(at..at + len).map(str::to_string)
}

/// The (edition, perk) of each "Mark delivered" form in a card, in order.
fn forms(card: &str) -> Vec<(i32, i32)> {
    card.split("<form")
        .skip(1)
        .map(|form| {
            assert!(form.contains("data-kind=\"mark_delivered\""), "{form}");
            let field = |name: &str| {
                let at = form
                    .find(&format!("name=\"{name}\""))
                    .expect("the field is there");
                attr(&form[at..], "value")
                    .and_then(|v| v.parse().ok())
                    .expect("a number")
            };
            (field("edition"), field("perk"))
        })
        .collect()
}

/// The offsets the card's "Earlier" and "Next" buttons load.
fn buttons(card: &str) -> (Option<i64>, Option<i64>) {
    let offset_before = |label: &str| {
        let end = card.find(&format!(">{label}"))?;
        let start = card[..end].rfind("<button")?;
        attr(&card[start..end], "data-offset")?.parse().ok()
    };
    (offset_before("Earlier"), offset_before("Next"))
}

#[tokio::test]
async fn deliveries_to_mark_load_a_page_at_a_time_and_cover_every_one_once() {
    let db = common::hooks::queue_db().await;
    read_model::generate(db.pool(), SHAPE, now_ms())
        .await
        .expect("generated");
    let base = common::serve(AppState::new(db.pool().clone())).await;
    let c = common::http();
    let release = SHAPE.release(0);

    // What is due, read straight from the entitlements: pending, delivered by hand, its
    // perk not cancelled.
    let due: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT e.edition, e.perk FROM entitlements e JOIN perks p USING (release, perk)
         WHERE e.release = $1 AND e.state = 'pending' AND p.delivery <> 'automatic'
           AND p.cancelled_at IS NULL
         ORDER BY e.deadline, e.edition, e.perk",
    )
    .bind(release.0.to_vec())
    .fetch_all(db.pool())
    .await
    .expect("due");
    assert_eq!(due.len(), 50, "the shape's pending deliveries by hand");

    // The release page itself carries none of them: an empty card the tools fill.
    let (status, page) = text(&c, format!("{base}/releases/{release}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"deliveries\""), "{page}");
    assert!(page.contains(&format!("data-release=\"{release}\"")));
    assert!(!page.contains("mark_delivered"), "{page}");

    // Walk the pages as the tools do, by each card's "Next" button.
    let (mut seen, mut offset, mut pages) = (Vec::new(), Some(0), 0);
    while let Some(at) = offset {
        let (status, card) = text(
            &c,
            format!("{base}/releases/{release}/deliveries?offset={at}"),
        )
        .await;
        assert_eq!(status, 200, "{card}");
        assert!(
            card.starts_with("<div class=\"card\" id=\"deliveries\""),
            "{card}"
        );
        let got = forms(&card);
        assert!(
            !got.is_empty() && got.len() <= 20,
            "{} forms at {at}",
            got.len()
        );
        let (earlier, next) = buttons(&card);
        assert_eq!(earlier, (at > 0).then(|| (at - DUE_PAGE).max(0)), "{card}");
        seen.extend(got);
        offset = next;
        pages += 1;
        assert!(pages <= 10, "the pages never end");
    }
    assert_eq!(pages, 3, "50 deliveries, 20 a page");
    assert_eq!(seen, due, "every delivery once, soonest due first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), due.len());

    // Past the end, an empty page; bad offsets and unknown releases are refused.
    let (status, card) = text(
        &c,
        format!("{base}/releases/{release}/deliveries?offset=500"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        card.contains("No more deliveries waiting") && forms(&card).is_empty(),
        "{card}"
    );
    for (query, want) in [
        ("offset=-1", 400),
        ("offset=x", 400),
        ("offset=99999999999999999999", 400),
    ] {
        let (status, body) =
            text(&c, format!("{base}/releases/{release}/deliveries?{query}")).await;
        assert_eq!(status, want, "{query}: {body}");
    }
    let unknown = read_model::account(42);
    let (status, _) = text(&c, format!("{base}/releases/{unknown}/deliveries")).await;
    assert_eq!(status, 404);

    // Nothing due: said so.
    sqlx::query(
        "UPDATE entitlements SET state = 'delivered' WHERE release = $1 AND state = 'pending'",
    )
    .bind(release.0.to_vec())
    .execute(db.pool())
    .await
    .expect("delivered");
    let (status, card) = text(&c, format!("{base}/releases/{release}/deliveries")).await;
    assert_eq!(status, 200);
    assert!(
        card.contains("No physical or event perk is waiting"),
        "{card}"
    );
}
