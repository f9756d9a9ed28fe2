//! Property test: random sequences of every message, by random callers, with random
//! values and clock jumps, against the contract in the off-chain environment. After every
//! step the money must balance and no (edition, perk) share may leave escrow twice; every
//! success must have come from the one account allowed to cause it.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::tests::{
    accounts, as_caller, automatic, balance, contract_id, deploy, perk_terms, set_now, PRICE,
};
use crate::{Error, Release};
use dreamster_types::entitlement::EntitlementState;
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use dreamster_types::{Balance, EditionId, PerkId, Timestamp};
use ink::primitives::AccountId;

#[derive(Debug, Clone)]
enum Op {
    AddPerk {
        automatic: bool,
        bps: u16,
        limit: Option<u32>,
        deadline_in: Timestamp,
    },
    Buy {
        value: Balance,
        expected: Vec<PerkId>,
    },
    CancelPerk {
        perk: PerkId,
    },
    Transfer {
        edition: EditionId,
        to: usize,
    },
    Unlock {
        edition: EditionId,
        perk: PerkId,
    },
    MarkDelivered {
        edition: EditionId,
        perk: PerkId,
    },
    Confirm {
        edition: EditionId,
        perk: PerkId,
    },
    Settle {
        edition: EditionId,
        perk: PerkId,
    },
    Rate {
        edition: EditionId,
        perk: PerkId,
        stars: u8,
    },
    Dispute {
        edition: EditionId,
        perk: PerkId,
    },
    Resolve {
        edition: EditionId,
        perk: PerkId,
        refund: bool,
    },
    ClaimRefund {
        edition: EditionId,
        perk: PerkId,
    },
    Withdraw,
    Advance {
        ms: Timestamp,
    },
}

const DAY: Timestamp = 24 * 60 * 60 * 1000;

fn op() -> impl Strategy<Value = Op> {
    let e = 0u32..3;
    let p = 0u32..3;
    prop_oneof![
        1 => (any::<bool>(), 0u16..4_000, proptest::option::of(1u32..4), prop_oneof![1u64..20_000, 1u64..60 * DAY])
            .prop_map(|(automatic, bps, limit, deadline_in)| Op::AddPerk { automatic, bps, limit, deadline_in }),
        3 => (prop_oneof![
            4 => Just(PRICE),
            1 => prop_oneof![Just(0), Just(1), Just(PRICE - 1), Just(PRICE + 1), Just(3 * PRICE)],
        ], proptest::collection::vec(0u32..3, 0..2)).prop_map(|(value, expected)| Op::Buy { value, expected }),
        1 => p.clone().prop_map(|perk| Op::CancelPerk { perk }),
        1 => (e.clone(), 0usize..6).prop_map(|(edition, to)| Op::Transfer { edition, to }),
        2 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::Unlock { edition, perk }),
        2 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::MarkDelivered { edition, perk }),
        1 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::Confirm { edition, perk }),
        1 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::Settle { edition, perk }),
        1 => (e.clone(), p.clone(), 0u8..7).prop_map(|(edition, perk, stars)| Op::Rate { edition, perk, stars }),
        2 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::Dispute { edition, perk }),
        2 => (e.clone(), p.clone(), any::<bool>()).prop_map(|(edition, perk, refund)| Op::Resolve { edition, perk, refund }),
        2 => (e.clone(), p.clone()).prop_map(|(edition, perk)| Op::ClaimRefund { edition, perk }),
        1 => Just(Op::Withdraw),
        2 => prop_oneof![1u64..600, 1u64..20_000, 1u64..40 * DAY].prop_map(|ms| Op::Advance { ms }),
    ]
}

/// Every account that may call: artist, fans, the arbiter, a stranger.
fn actors() -> Vec<AccountId> {
    let a = accounts();
    vec![a.alice, a.bob, a.charlie, a.django, a.eve, a.frank]
}

fn states(r: &Release) -> BTreeMap<(EditionId, PerkId), EntitlementState> {
    let mut map = BTreeMap::new();
    for edition in 0..r.total_supply() {
        for perk in 0..r.perk_count() {
            if let Some(e) = r.entitlement(edition, perk) {
                map.insert((edition, perk), e.state);
            }
        }
    }
    map
}

struct Run {
    r: Release,
    now: Timestamp,
    /// Σ of every price paid in.
    paid_in: Balance,
    /// Σ of every payout (withdrawals and refunds).
    paid_out: Balance,
    escrow_left: BTreeSet<(EditionId, PerkId)>,
    tally: Tally,
}

/// What the runs did, summed over every sequence.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    sequences: u64,
    calls: u64,
    /// Entitlement state changes observed.
    transitions: u64,
    /// Withdrawals and refunds paid.
    payouts: u64,
}

impl Run {
    /// Mostly the account entitled to make the call, so that deep paths are reached;
    /// otherwise anyone, so that refusals are exercised.
    fn caller_for(&self, op: &Op, pick: Pick) -> AccountId {
        let a = accounts();
        if let Pick::Anyone(i) = pick {
            return actors()[i % 6];
        }
        match *op {
            Op::AddPerk { .. }
            | Op::CancelPerk { .. }
            | Op::MarkDelivered { .. }
            | Op::Withdraw => a.alice,
            Op::Resolve { .. } => a.eve,
            Op::Transfer { edition, .. }
            | Op::Unlock { edition, .. }
            | Op::Confirm { edition, .. }
            | Op::Rate { edition, .. }
            | Op::Dispute { edition, .. }
            | Op::ClaimRefund { edition, .. } => self.r.owner_of(edition).unwrap_or(a.frank),
            Op::Buy { .. } | Op::Settle { .. } | Op::Advance { .. } => a.charlie,
        }
    }

    fn step(&mut self, op: &Op, pick: Pick) -> Result<(), TestCaseError> {
        let a = accounts();
        let caller = self.caller_for(op, pick);
        let before = states(&self.r);
        let owner_of = |r: &Release, e| r.owner_of(e);
        as_caller(caller);
        let caller_before = balance(caller);
        match *op {
            Op::AddPerk {
                automatic: auto,
                bps,
                limit,
                deadline_in,
            } => {
                let mut terms = perk_terms(
                    if auto {
                        PerkKind::SongStems
                    } else {
                        PerkKind::LimitedVinyl
                    },
                    bps,
                    if auto {
                        automatic()
                    } else {
                        DeliveryMethod::Physical
                    },
                );
                terms.quantity_limit = limit;
                terms.deadline = self.now + deadline_in;
                if self.r.add_perk(terms).is_ok() {
                    prop_assert_eq!(caller, a.alice);
                    prop_assert!(self.r.escrow_bps_total() <= 10_000);
                }
            }
            Op::Buy {
                value,
                ref expected,
            } => {
                ink::env::test::transfer_in::<ink::env::DefaultEnvironment>(value);
                let result = self.r.buy(expected.clone());
                if let Ok(edition) = result {
                    prop_assert_eq!(value, PRICE);
                    for perk in expected {
                        prop_assert!(
                            self.r.entitlement(edition, *perk).is_some(),
                            "bought without the expected perk {}",
                            perk
                        );
                    }
                    self.paid_in += value;
                } else {
                    // The off-chain environment does not revert the value moved in.
                    ink::env::transfer::<ink::env::DefaultEnvironment>(caller, value)
                        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                }
            }
            Op::Transfer { edition, to } => {
                let owner = owner_of(&self.r, edition);
                let to = actors()[to % 6];
                if self.r.transfer(to, edition).is_ok() {
                    prop_assert_eq!(Some(caller), owner);
                    prop_assert_eq!(self.r.owner_of(edition), Some(to));
                }
            }
            Op::CancelPerk { perk } => {
                if self.r.cancel_perk(perk).is_ok() {
                    prop_assert_eq!(caller, a.alice);
                }
            }
            Op::Unlock { edition, perk } => {
                if self.r.unlock(edition, perk).is_ok() {
                    prop_assert_eq!(Some(caller), owner_of(&self.r, edition));
                }
            }
            Op::MarkDelivered { edition, perk } => {
                if self.r.mark_delivered(edition, perk, [9; 32]).is_ok() {
                    prop_assert_eq!(caller, a.alice);
                }
            }
            Op::Confirm { edition, perk } => {
                if self.r.confirm(edition, perk).is_ok() {
                    prop_assert_eq!(Some(caller), owner_of(&self.r, edition));
                }
            }
            Op::Settle { edition, perk } => {
                let _ = self.r.settle(edition, perk);
            }
            Op::Rate {
                edition,
                perk,
                stars,
            } => {
                if self.r.rate(edition, perk, stars).is_ok() {
                    prop_assert_eq!(Some(caller), owner_of(&self.r, edition));
                    prop_assert!((1..=5).contains(&stars));
                }
            }
            Op::Dispute { edition, perk } => {
                if self.r.dispute(edition, perk, [4; 32]).is_ok() {
                    prop_assert_eq!(Some(caller), owner_of(&self.r, edition));
                }
            }
            Op::Resolve {
                edition,
                perk,
                refund,
            } => {
                if self.r.resolve(edition, perk, refund).is_ok() {
                    prop_assert_eq!(caller, a.eve);
                }
            }
            Op::ClaimRefund { edition, perk } => {
                let preview = self.r.refundable_amount(edition, perk);
                match self.r.claim_refund(edition, perk) {
                    Ok(amount) => {
                        prop_assert_eq!(Some(caller), owner_of(&self.r, edition));
                        prop_assert_eq!(amount, preview);
                        prop_assert_eq!(balance(caller), caller_before + amount);
                        self.paid_out += amount;
                        self.tally.payouts += 1;
                    }
                    Err(Error::NotHolder)
                    | Err(Error::NoSuchEdition)
                    | Err(Error::NoSuchPerk)
                    | Err(Error::NotEntitled) => {}
                    Err(_) => prop_assert_eq!(preview, 0),
                }
            }
            Op::Withdraw => {
                if let Ok(amount) = self.r.withdraw() {
                    prop_assert_eq!(caller, a.alice);
                    prop_assert_eq!(balance(caller), caller_before + amount);
                    self.paid_out += amount;
                    self.tally.payouts += 1;
                }
            }
            Op::Advance { ms } => {
                self.now += ms;
                set_now(self.now);
            }
        }
        self.check(&before)
    }

    fn check(
        &mut self,
        before: &BTreeMap<(EditionId, PerkId), EntitlementState>,
    ) -> Result<(), TestCaseError> {
        let r = &self.r;
        let held = balance(contract_id());
        prop_assert_eq!(
            held,
            r.escrow_held() + r.artist_withdrawable() + r.refunds_owed()
        );
        prop_assert_eq!(self.paid_in, held + self.paid_out);
        let after = states(r);
        self.tally.calls += 1;
        self.tally.transitions += after
            .iter()
            .filter(|(key, state)| before.get(key) != Some(state))
            .count() as u64;
        let mut escrow_sum: Balance = 0;
        let mut owed_sum: Balance = 0;
        for (key, state) in &after {
            let e = r
                .entitlement(key.0, key.1)
                .ok_or_else(|| TestCaseError::fail("entitlement vanished"))?;
            if state.holds_escrow() {
                escrow_sum += e.escrow;
            }
            if *state == EntitlementState::RefundOwed {
                owed_sum += e.escrow;
            }
            let was = before
                .get(key)
                .copied()
                .unwrap_or(EntitlementState::Pending);
            if was.holds_escrow() && !state.holds_escrow() {
                prop_assert!(
                    self.escrow_left.insert(*key),
                    "escrow of {:?} left twice",
                    key
                );
            }
            if !was.holds_escrow() {
                prop_assert!(!state.holds_escrow(), "{:?} went back into escrow", key);
            }
        }
        prop_assert_eq!(escrow_sum, r.escrow_held());
        prop_assert_eq!(owed_sum, r.refunds_owed());
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Pick {
    Rightful,
    Anyone(usize),
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![3 => Just(Pick::Rightful), 1 => (0usize..6).prop_map(Pick::Anyone)]
}

fn cases() -> u32 {
    std::env::var("DREAMSTER_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Plays one sequence on a fresh release, adding what it did to `tally`.
fn play(ops: &[(Op, Pick)], tally: &mut Tally) -> Result<(), TestCaseError> {
    let mut outcome = Ok(());
    ink::env::test::run_test::<ink::env::DefaultEnvironment, _>(|_| {
        let mut run = Run {
            r: deploy(),
            now: 0,
            paid_in: 0,
            paid_out: 0,
            escrow_left: BTreeSet::new(),
            tally: Tally::default(),
        };
        // Start from a release with an automatic and a physical perk and two sales, so
        // that short random sequences reach deliveries, disputes and refunds.
        let seed = [
            (
                Op::AddPerk {
                    automatic: true,
                    bps: 2_000,
                    limit: None,
                    deadline_in: 5_000,
                },
                Pick::Rightful,
            ),
            (
                Op::AddPerk {
                    automatic: false,
                    bps: 3_000,
                    limit: None,
                    deadline_in: 9_000,
                },
                Pick::Rightful,
            ),
            (
                Op::Buy {
                    value: PRICE,
                    expected: vec![0, 1],
                },
                Pick::Anyone(1),
            ),
            (
                Op::Buy {
                    value: PRICE,
                    expected: vec![],
                },
                Pick::Anyone(2),
            ),
        ];
        for (op, pick) in seed.iter().chain(ops) {
            if let Err(e) = run.step(op, *pick) {
                outcome = Err(e);
                break;
            }
        }
        tally.sequences += 1;
        tally.calls += run.tally.calls;
        tally.transitions += run.tally.transitions;
        tally.payouts += run.tally.payouts;
        Ok(())
    })
    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    outcome
}

/// `DREAMSTER_PROPTEST_CASES` sequences (1 000 by default; `scripts/soak.sh` runs 100 000),
/// each up to 80 random calls after the seed; a failure is shrunk to a minimal sequence.
#[test]
fn money_balances_after_every_step() {
    let config = ProptestConfig {
        cases: cases(),
        // A runner outside the `proptest!` macro knows no source file to save failures
        // beside; a failure prints its shrunk sequence instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let tally = std::cell::RefCell::new(Tally::default());
    let started = std::time::Instant::now();
    let strategy = proptest::collection::vec((op(), pick()), 1..80);
    let result = runner.run(&strategy, |ops| play(&ops, &mut tally.borrow_mut()));
    let t = tally.into_inner();
    println!(
        "contract sequences: {} cases ({} sequences played incl. shrinking), {} calls, \
         {} entitlement state changes, {} payouts, in {:.1} s",
        cases(),
        t.sequences,
        t.calls,
        t.transitions,
        t.payouts,
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
