//! One definition of a perk's state: the pages' SQL (`fans::STATE_SQL`, run by the
//! real PostgreSQL) says what `Entitlement::status` in crates/types (what the CLI prints)
//! says, for every stored state, at every position of the clock around the deadline, the
//! dispute window and the ruling deadline, delivered on time or late, unlocked or not,
//! the perk cancelled or not.

use dreamster_api::fans::{shown_state, STATE_SQL};
use dreamster_test_support::TestDatabase;
use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState};
use dreamster_types::release::{MIN_DISPUTE_WINDOW, RULING_TIMEOUT};

#[tokio::test]
async fn pages_and_cli_agree_on_every_state_and_clock_position() {
    let db = TestDatabase::create().await.expect("db");
    let deadline: u64 = 1_800_000_000_000;
    let window: u64 = MIN_DISPUTE_WINDOW;
    let disputed_at = deadline - 2_000;
    let states = EntitlementState::ALL;
    // Before, at and after the deadline; at, just after and long after the window's end;
    // at and just after the ruling deadline.
    let clocks = [
        deadline - 10_000,
        deadline,
        deadline + 1,
        deadline + window,
        deadline + window + 1,
        deadline + 10 * window,
        disputed_at + RULING_TIMEOUT,
        disputed_at + RULING_TIMEOUT + 1,
    ];
    let sql = format!(
        "SELECT {STATE_SQL} FROM
           (SELECT $1::text AS state, $3::bigint AS deadline, $4::bigint AS delivered_at,
                   $5::boolean AS unlocked, $7::bigint AS disputed_at) e,
           (SELECT $6::bigint AS dispute_window) r,
           (SELECT $8::bigint AS cancelled_at) p"
    );
    let mut compared = 0;
    for state in states {
        for now in clocks {
            for unlocked in [false, true] {
                for delivered_at in [deadline - 5_000, deadline + 1] {
                    for cancelled in [false, true] {
                        let delivered = !matches!(state, EntitlementState::Pending);
                        let mut e = Entitlement::new(0, 1, deadline);
                        e.state = state;
                        e.delivered_at = delivered.then_some(delivered_at);
                        e.disputed_at =
                            matches!(state, EntitlementState::Disputed).then_some(disputed_at);
                        let clock = Clock {
                            now,
                            dispute_window: window,
                            cancelled,
                            automatic: false,
                        };
                        let expected = shown_state(e.status(clock), unlocked && delivered);
                        let shown: String = sqlx::query_scalar(&sql)
                            .bind(state.slug())
                            .bind(now as i64)
                            .bind(deadline as i64)
                            .bind(e.delivered_at.map(|d| d as i64))
                            .bind(unlocked && delivered)
                            .bind(window as i64)
                            .bind(e.disputed_at.map(|d| d as i64))
                            .bind(cancelled.then_some(1_i64))
                            .fetch_one(db.pool())
                            .await
                            .expect("query");
                        assert_eq!(
                            shown, expected,
                            "{state:?} at {now} delivered at {delivered_at} (unlocked: {unlocked}, cancelled: {cancelled}): pages say {shown:?}, the shared definition {expected:?}"
                        );
                        compared += 1;
                    }
                }
            }
        }
    }
    assert_eq!(compared, 6 * 8 * 2 * 2 * 2);
}
