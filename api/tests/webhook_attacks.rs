//! The webhook dispatcher against hostile artists and a second replica (issue 17,
//! findings 1 and 2): a receiver that never answers holds back only its own artist and is
//! turned off; two API processes never send a delivery twice; a hook cannot reach this
//! machine through a name, a literal or a redirect, and what the artist sees does not say
//! which.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use common::hooks::{artist, black_hole, hook, queue, queue_db, receiver, redirector, until};
use dreamster_api::webhooks::{self, dispatch::UNREACHABLE, Reach, Settings};
use dreamster_test_support::TestDatabase;

fn loopback() -> Settings {
    Settings {
        reach: Reach::AlsoLoopback,
        ..Settings::default()
    }
}

async fn hook_state(db: &TestDatabase, n: u8) -> (i32, Option<String>) {
    sqlx::query_as("SELECT failures_in_row, disabled_reason FROM webhooks WHERE artist = $1")
        .bind(artist(n))
        .fetch_one(db.pool())
        .await
        .expect("hook")
}

/// (attempts, last_status, last_error, delivered) of every delivery of artist `n`.
async fn outcomes(db: &TestDatabase, n: u8) -> Vec<(i32, Option<i32>, Option<String>, bool)> {
    sqlx::query_as(
        "SELECT attempts, last_status, last_error, delivered_at IS NOT NULL FROM webhook_deliveries
         WHERE artist = $1 ORDER BY id",
    )
    .bind(artist(n))
    .fetch_all(db.pool())
    .await
    .expect("deliveries")
}

/// Finding 2: calls were made one after another, 5 s each at worst, so one artist's
/// silent receiver and a few hundred cheap unlocks delayed every other artist for hours.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_never_answers_holds_back_only_its_own_artist() {
    let db = queue_db().await;
    let (silent, accepted) = black_hole().await;
    let (good, got) = receiver(StatusCode::OK, Duration::ZERO).await;
    hook(&db, 1, &silent).await;
    hook(&db, 2, &good).await;
    queue(&db, 1, 50).await;
    let theirs = queue(&db, 2, 1).await;
    let settings = Settings {
        request_timeout: Duration::from_secs(1),
        disable_after: 6,
        ..loopback()
    };
    let per_artist = usize::try_from(settings.per_artist).expect("small");
    let dispatcher = webhooks::spawn(db.pool().clone(), settings);

    until(30, "the other artist's notification arrived", || async {
        !got.lock().expect("lock").is_empty()
    })
    .await;
    assert_eq!(*got.lock().expect("lock"), theirs);
    assert!(
        accepted.load(Ordering::SeqCst) <= per_artist,
        "the silent receiver had at most {per_artist} calls open before the other artist was served, not {}",
        accepted.load(Ordering::SeqCst)
    );

    // Six failed calls in a row turn the silent hook off, with the reason for its artist.
    until(60, "the silent hook was turned off", || async {
        hook_state(&db, 1).await.1.is_some()
    })
    .await;
    let (failures, reason) = hook_state(&db, 1).await;
    let reason = reason.expect("reason");
    assert!(failures >= 6, "{failures}");
    assert!(
        reason.contains("after 6 failed calls in a row") && reason.contains(UNREACHABLE),
        "{reason}"
    );
    assert_eq!(
        hook_state(&db, 2).await,
        (0, None),
        "the other hook is untouched"
    );
    // Once off, no new call: calls already open end within their timeout, then nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_off = accepted.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        after_off,
        "no call after the hook was turned off"
    );
    let waiting = outcomes(&db, 1).await.iter().filter(|o| !o.3).count();
    assert_eq!(
        waiting, 50,
        "nothing is lost: the deliveries wait for the hook to be saved again"
    );
    dispatcher.stop().await;
}

/// Finding 2: two API processes each read the due rows and both sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_send_each_delivery_once() {
    let db = queue_db().await;
    // A slow receiver keeps calls in flight long enough for the replicas to collide.
    let (url, got) = receiver(StatusCode::OK, Duration::from_millis(150)).await;
    let mut queued = BTreeSet::new();
    for n in 1..=4 {
        hook(&db, n, &url).await;
        queued.extend(queue(&db, n, 10).await);
    }
    // No per-artist cap to speak of, so only the lease keeps the replicas apart.
    let settings = Settings {
        per_artist: 100,
        ..loopback()
    };
    let one = webhooks::spawn(db.pool().clone(), settings.clone());
    let two = webhooks::spawn(db.pool().clone(), settings);
    until(60, "all 40 delivered", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL",
        )
        .fetch_one(db.pool())
        .await
        .expect("count")
            == 0
    })
    .await;
    // Stopped, neither can send anything more: the count below is final, not a snapshot
    // taken before a duplicate could arrive.
    one.stop().await;
    two.stop().await;
    let calls = got.lock().expect("lock").clone();
    let distinct: BTreeSet<i64> = calls.iter().copied().collect();
    assert_eq!(distinct, queued, "every delivery was sent");
    assert_eq!(calls.len(), queued.len(), "and none twice: {calls:?}");
    let attempts: Vec<i32> = sqlx::query_scalar("SELECT attempts FROM webhook_deliveries")
        .fetch_all(db.pool())
        .await
        .expect("attempts");
    assert!(attempts.iter().all(|a| *a == 1), "{attempts:?}");
}

/// Finding 1: a hook naming this machine — by a name that resolves to it (as a rebinding
/// name does at call time), by an address literal saved before this check, or by a name
/// that resolves to nothing — is never called, and the artist is told the same thing for
/// each, so the outcomes cannot map the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inward_names_and_literals_are_never_called() {
    let db = queue_db().await;
    let (inside, got) = receiver(StatusCode::OK, Duration::ZERO).await;
    let port = inside
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/hook")
        .to_string();
    hook(&db, 1, &format!("http://localhost:{port}/hook")).await;
    hook(&db, 2, &inside).await;
    hook(&db, 3, "http://hooks.nonexistent.invalid/hook").await;
    hook(&db, 4, &format!("http://[::ffff:127.0.0.1]:{port}/hook")).await;
    for n in 1..=4 {
        queue(&db, n, 1).await;
    }
    // Production's reach.
    let dispatcher = webhooks::spawn(db.pool().clone(), Settings::default());
    until(30, "each hook was tried", || async {
        let mut all = true;
        for n in 1..=4 {
            all &= outcomes(&db, n).await[0].0 >= 1;
        }
        all
    })
    .await;
    dispatcher.stop().await;
    assert!(
        got.lock().expect("lock").is_empty(),
        "the inside receiver was called"
    );
    for n in 1..=4 {
        for (attempts, status, error, delivered) in outcomes(&db, n).await {
            assert!(attempts >= 1);
            assert_eq!(
                (status, error.as_deref(), delivered),
                (None, Some(UNREACHABLE), false),
                "hook {n}"
            );
        }
    }
}

/// Finding 1: an outside URL that redirects inward. Redirects are not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redirects_are_not_followed() {
    let db = queue_db().await;
    let (inside, got) = receiver(StatusCode::OK, Duration::ZERO).await;
    let outside = redirector(inside).await;
    hook(&db, 1, &outside).await;
    queue(&db, 1, 1).await;
    let dispatcher = webhooks::spawn(db.pool().clone(), loopback());
    until(30, "the hook was tried", || async {
        outcomes(&db, 1).await[0].0 >= 1
    })
    .await;
    dispatcher.stop().await;
    assert!(
        got.lock().expect("lock").is_empty(),
        "the redirect was followed"
    );
    let (_, status, error, delivered) = outcomes(&db, 1).await.remove(0);
    assert_eq!((status, delivered), (Some(307), false));
    assert_eq!(
        error.as_deref(),
        Some("answered 307; redirects are not followed")
    );
}
