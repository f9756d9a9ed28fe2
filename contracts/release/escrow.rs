//! The escrow state machine of one (edition, perk) entitlement, as plain Rust.
//!
//! Each function checks a transition against the entitlement and the clock, applies it,
//! and says what it did and where the escrow goes. The contract reads the environment,
//! calls these, then books the money and emits the events; so every rule here is
//! testable without a chain.

use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState, RefundReason};
use dreamster_types::events::EntitlementAction;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::registry_api::Outcome;
use dreamster_types::{Balance, Hash32, Timestamp};

use crate::Error;

/// Where an entitlement's escrow goes as a result of a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Stays in escrow.
    None,
    /// Escrow → the artist's withdrawable balance.
    ToArtist(Balance),
    /// Escrow → owed to the holder, paid when claimed.
    ToRefundsOwed(Balance),
    /// Escrow → paid to the holder now.
    EscrowToHolder(Balance),
    /// Owed refund → paid to the holder now.
    OwedToHolder(Balance),
}

/// A transition that happened: the action for the event log and the money flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub from: EntitlementState,
    pub action: EntitlementAction,
    pub flow: Flow,
}

/// The release's money in three books; the contract's balance is always their sum.
/// Pure: each operation computes every new figure before it changes any, so a refused
/// one leaves the books as they were.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Books {
    /// Σ escrow of entitlements still Pending, Delivered or Disputed.
    pub escrow_held: Balance,
    pub artist_withdrawable: Balance,
    /// Σ escrow of entitlements an arbiter refunded that their holders have not claimed.
    pub refunds_owed: Balance,
}

impl Books {
    /// A sale: `escrowed` into escrow, the rest of the price to the artist.
    pub fn sell(&mut self, escrowed: Balance, artist_share: Balance) -> Result<(), Error> {
        let escrow_held = self
            .escrow_held
            .checked_add(escrowed)
            .ok_or(Error::Overflow)?;
        let artist_withdrawable = self
            .artist_withdrawable
            .checked_add(artist_share)
            .ok_or(Error::Overflow)?;
        self.escrow_held = escrow_held;
        self.artist_withdrawable = artist_withdrawable;
        Ok(())
    }

    /// Moves a transition's money; returns what must be paid out to the holder now.
    pub fn apply(&mut self, flow: Flow) -> Result<Balance, Error> {
        let mut next = *self;
        let payout = match flow {
            Flow::None => 0,
            Flow::ToArtist(amount) => {
                next.escrow_held = sub(self.escrow_held, amount)?;
                next.artist_withdrawable = add(self.artist_withdrawable, amount)?;
                0
            }
            Flow::ToRefundsOwed(amount) => {
                next.escrow_held = sub(self.escrow_held, amount)?;
                next.refunds_owed = add(self.refunds_owed, amount)?;
                0
            }
            Flow::EscrowToHolder(amount) => {
                next.escrow_held = sub(self.escrow_held, amount)?;
                amount
            }
            Flow::OwedToHolder(amount) => {
                next.refunds_owed = sub(self.refunds_owed, amount)?;
                amount
            }
        };
        *self = next;
        Ok(payout)
    }

    /// Everything the artist may withdraw, taken out of the books.
    pub fn withdraw(&mut self) -> Result<Balance, Error> {
        let amount = self.artist_withdrawable;
        if amount == 0 {
            return Err(Error::NothingToWithdraw);
        }
        self.artist_withdrawable = 0;
        Ok(amount)
    }
}

fn add(a: Balance, b: Balance) -> Result<Balance, Error> {
    a.checked_add(b).ok_or(Error::Overflow)
}

fn sub(a: Balance, b: Balance) -> Result<Balance, Error> {
    a.checked_sub(b).ok_or(Error::Overflow)
}

fn require(e: &Entitlement, state: EntitlementState) -> Result<(), Error> {
    if e.state == state {
        Ok(())
    } else {
        Err(Error::WrongState(e.state))
    }
}

fn delivered(
    e: &mut Entitlement,
    now: Timestamp,
    proof: Hash32,
    action: EntitlementAction,
) -> Applied {
    let from = e.state;
    e.state = EntitlementState::Delivered;
    e.delivered_at = Some(now);
    e.proof = Some(proof);
    Applied {
        from,
        action,
        flow: Flow::None,
    }
}

/// The holder unlocks an automatic perk: the committed content is theirs. Only until the
/// deadline: after it the holder takes the refund instead, and an unlock can never count
/// as a delivery the artist made late.
pub fn unlock(
    e: &mut Entitlement,
    delivery: &DeliveryMethod,
    clock: Clock,
) -> Result<Applied, Error> {
    let DeliveryMethod::Automatic { content_hash } = *delivery else {
        return Err(Error::NotAutomatic);
    };
    require(e, EntitlementState::Pending)?;
    if clock.cancelled {
        return Err(Error::PerkCancelled);
    }
    if clock.now > e.deadline {
        return Err(Error::UnlockClosed);
    }
    Ok(delivered(
        e,
        clock.now,
        content_hash,
        EntitlementAction::Unlocked { content_hash },
    ))
}

/// The artist delivers a physical or event perk, with a proof. After the deadline the
/// delivery is recorded as late: it stands only if the holder confirms it, and does not
/// stop the holder's refund.
pub fn mark_delivered(
    e: &mut Entitlement,
    delivery: &DeliveryMethod,
    proof: Hash32,
    clock: Clock,
) -> Result<Applied, Error> {
    if delivery.is_automatic() {
        return Err(Error::DeliveredByUnlock);
    }
    require(e, EntitlementState::Pending)?;
    if clock.cancelled {
        return Err(Error::PerkCancelled);
    }
    let late = clock.now > e.deadline;
    Ok(delivered(
        e,
        clock.now,
        proof,
        EntitlementAction::MarkedDelivered { proof, late },
    ))
}

fn confirmed(e: &mut Entitlement, action: EntitlementAction) -> Applied {
    let from = e.state;
    e.state = EntitlementState::Confirmed;
    Applied {
        from,
        action,
        flow: Flow::ToArtist(e.escrow),
    }
}

/// The holder confirms a delivery, on time or late, at any time before it is confirmed
/// otherwise.
pub fn confirm(e: &mut Entitlement) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    Ok(confirmed(e, EntitlementAction::Confirmed))
}

/// Anyone may settle an on-time delivery whose dispute window has closed: it counts as
/// confirmed. A late delivery never settles by itself.
pub fn settle(e: &mut Entitlement, clock: Clock) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    let until = e
        .dispute_window_end(clock.dispute_window)
        .ok_or(Error::DeliveredLate)?;
    if clock.now <= until {
        return Err(Error::DisputeWindowOpen { until });
    }
    Ok(confirmed(e, EntitlementAction::ConfirmedByTimeout))
}

/// The holder disputes an on-time delivery inside the window, with an evidence hash.
pub fn dispute(e: &mut Entitlement, evidence: Hash32, clock: Clock) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    let until = e
        .dispute_window_end(clock.dispute_window)
        .ok_or(Error::DeliveredLate)?;
    if clock.now > until {
        return Err(Error::DisputeWindowClosed);
    }
    let from = e.state;
    e.state = EntitlementState::Disputed;
    e.evidence = Some(evidence);
    e.disputed_at = Some(clock.now);
    Ok(Applied {
        from,
        action: EntitlementAction::Disputed { evidence },
        flow: Flow::None,
    })
}

/// An arbiter rules on a dispute before the ruling deadline: for the fan (refund owed) or
/// for the artist.
pub fn resolve(e: &mut Entitlement, refund: bool, now: Timestamp) -> Result<Applied, Error> {
    require(e, EntitlementState::Disputed)?;
    if e.ruling_deadline().is_some_and(|end| now > end) {
        return Err(Error::RulingExpired);
    }
    let from = e.state;
    let action = EntitlementAction::Resolved { refund };
    if refund {
        e.state = EntitlementState::RefundOwed;
        Ok(Applied {
            from,
            action,
            flow: Flow::ToRefundsOwed(e.escrow),
        })
    } else {
        e.state = EntitlementState::Confirmed;
        Ok(Applied {
            from,
            action,
            flow: Flow::ToArtist(e.escrow),
        })
    }
}

/// The holder takes the escrow back, for any of the reasons of
/// [`Entitlement::refund_reason`].
pub fn claim_refund(e: &mut Entitlement, clock: Clock) -> Result<Applied, Error> {
    let from = e.state;
    let amount = e.escrow;
    let Some(reason) = e.refund_reason(clock) else {
        return Err(match e.state {
            EntitlementState::Pending => Error::DeadlineNotPassed {
                deadline: e.deadline,
            },
            EntitlementState::Disputed => Error::RulingPending {
                until: e.ruling_deadline().unwrap_or(Timestamp::MAX),
            },
            state => Error::WrongState(state),
        });
    };
    let flow = if reason == RefundReason::Ruled {
        Flow::OwedToHolder(amount)
    } else {
        Flow::EscrowToHolder(amount)
    };
    e.state = EntitlementState::Refunded;
    Ok(Applied {
        from,
        action: EntitlementAction::Refunded { amount, reason },
        flow,
    })
}

/// What a transition means for the artist's record, once it is final: deliveries count
/// when they stand (not when they are marked, so a delivery lost in a dispute never counts
/// as one), refunds by who failed.
pub fn outcome(applied: &Applied, e: &Entitlement) -> Option<Outcome> {
    match applied.action {
        EntitlementAction::Confirmed | EntitlementAction::ConfirmedByTimeout => {
            Some(if e.delivered_late() {
                Outcome::DeliveredLate
            } else {
                Outcome::DeliveredOnTime
            })
        }
        EntitlementAction::Resolved { refund: false } => Some(Outcome::DisputeWon),
        EntitlementAction::Resolved { refund: true } => Some(Outcome::DisputeLost),
        EntitlementAction::Refunded { reason, .. } => match reason {
            // Counted when the arbiter ruled.
            RefundReason::Ruled => None,
            RefundReason::Overdue | RefundReason::DeliveredLate => Some(Outcome::RefundedOverdue),
            RefundReason::Cancelled => Some(Outcome::Cancelled),
            RefundReason::RulingExpired => Some(Outcome::RulingExpired),
            RefundReason::Unclaimed => Some(Outcome::Unclaimed),
        },
        EntitlementAction::Unlocked { .. }
        | EntitlementAction::MarkedDelivered { .. }
        | EntitlementAction::Disputed { .. } => None,
    }
}

/// What `claim_refund` would pay right now, without changing anything.
pub fn refundable_amount(e: &Entitlement, clock: Clock) -> Balance {
    e.refund_reason(clock).map_or(0, |_| e.escrow)
}

/// The holder rates a confirmed perk, once, 1 to 5 stars.
pub fn rate(e: &mut Entitlement, stars: u8) -> Result<(), Error> {
    if !(1..=5).contains(&stars) {
        return Err(Error::InvalidRating);
    }
    require(e, EntitlementState::Confirmed)?;
    if e.rating.is_some() {
        return Err(Error::AlreadyRated);
    }
    e.rating = Some(stars);
    Ok(())
}

pub use dreamster_types::share_of;

#[cfg(test)]
mod tests {
    use super::*;
    use dreamster_types::entitlement::EntitlementState::*;

    const AUTO: DeliveryMethod = DeliveryMethod::Automatic {
        content_hash: [7; 32],
    };
    const WINDOW: Timestamp = 1_000;
    const DEADLINE: Timestamp = 10_000;

    fn at(now: Timestamp) -> Clock {
        Clock {
            now,
            dispute_window: WINDOW,
            cancelled: false,
            automatic: false,
        }
    }

    fn cancelled(now: Timestamp) -> Clock {
        Clock {
            cancelled: true,
            ..at(now)
        }
    }

    fn pending() -> Entitlement {
        Entitlement::new(0, 500, DEADLINE)
    }

    #[test]
    fn unlock_delivers_automatic_perks_only_until_the_deadline() {
        let mut e = pending();
        assert_eq!(
            unlock(&mut e, &DeliveryMethod::Physical, at(5)),
            Err(Error::NotAutomatic)
        );
        assert_eq!(
            unlock(&mut e.clone(), &AUTO, at(DEADLINE + 1)),
            Err(Error::UnlockClosed)
        );
        assert_eq!(
            unlock(&mut e.clone(), &AUTO, cancelled(5)),
            Err(Error::PerkCancelled)
        );
        let applied = unlock(&mut e, &AUTO, at(DEADLINE)).expect("unlock");
        assert_eq!(applied.flow, Flow::None);
        assert_eq!(
            (e.state, e.delivered_at, e.proof),
            (Delivered, Some(DEADLINE), Some([7; 32]))
        );
        assert_eq!(
            unlock(&mut e, &AUTO, at(6)),
            Err(Error::WrongState(Delivered))
        );
    }

    #[test]
    fn mark_delivered_flags_late_deliveries() {
        let mut e = pending();
        assert_eq!(
            mark_delivered(&mut e, &AUTO, [1; 32], at(5)),
            Err(Error::DeliveredByUnlock)
        );
        assert_eq!(
            mark_delivered(
                &mut e.clone(),
                &DeliveryMethod::Event,
                [1; 32],
                cancelled(5)
            ),
            Err(Error::PerkCancelled)
        );
        let applied = mark_delivered(&mut e, &DeliveryMethod::Event, [1; 32], at(DEADLINE + 1))
            .expect("deliver");
        assert_eq!(
            applied.action,
            EntitlementAction::MarkedDelivered {
                proof: [1; 32],
                late: true
            }
        );
        assert!(e.delivered_late());
    }

    #[test]
    fn the_window_runs_from_the_later_of_delivery_and_deadline() {
        let mut e = pending();
        // Delivered long before the deadline: disputable until deadline + window.
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], at(100)).expect("deliver");
        let until = DEADLINE + WINDOW;
        assert_eq!(
            settle(&mut e.clone(), at(until)),
            Err(Error::DisputeWindowOpen { until })
        );
        assert_eq!(
            dispute(&mut e.clone(), [2; 32], at(until + 1)),
            Err(Error::DisputeWindowClosed)
        );
        assert_eq!(
            settle(&mut e.clone(), at(until + 1)).map(|a| a.flow),
            Ok(Flow::ToArtist(500))
        );
        assert!(dispute(&mut e, [2; 32], at(until)).is_ok());
        assert_eq!((e.state, e.disputed_at), (Disputed, Some(until)));
    }

    #[test]
    fn a_late_delivery_never_settles_and_leaves_the_refund_to_the_holder() {
        let mut e = pending();
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], at(DEADLINE + 1))
            .expect("deliver");
        assert_eq!(
            settle(&mut e.clone(), at(u64::MAX)),
            Err(Error::DeliveredLate)
        );
        assert_eq!(
            dispute(&mut e.clone(), [2; 32], at(DEADLINE + 2)),
            Err(Error::DeliveredLate)
        );
        assert_eq!(
            confirm(&mut e.clone()).map(|a| a.flow),
            Ok(Flow::ToArtist(500))
        );
        let applied = claim_refund(&mut e, at(DEADLINE + 2)).expect("refund");
        assert_eq!(
            applied.action,
            EntitlementAction::Refunded {
                amount: 500,
                reason: RefundReason::DeliveredLate
            }
        );
        assert_eq!(applied.flow, Flow::EscrowToHolder(500));
    }

    #[test]
    fn resolution_sends_escrow_one_way() {
        let mut e = pending();
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], at(100)).expect("deliver");
        dispute(&mut e, [2; 32], at(150)).expect("dispute");
        let mut for_artist = e;
        assert_eq!(
            resolve(&mut for_artist, false, 151).map(|a| a.flow),
            Ok(Flow::ToArtist(500))
        );
        assert_eq!(
            claim_refund(&mut for_artist, at(99_999)),
            Err(Error::WrongState(Confirmed))
        );
        assert_eq!(
            resolve(&mut e, true, 151).map(|a| a.flow),
            Ok(Flow::ToRefundsOwed(500))
        );
        assert_eq!(refundable_amount(&e, at(0)), 500);
        assert_eq!(
            claim_refund(&mut e, at(0)).map(|a| a.flow),
            Ok(Flow::OwedToHolder(500))
        );
        assert_eq!(
            claim_refund(&mut e, at(0)),
            Err(Error::WrongState(Refunded))
        );
        assert_eq!(refundable_amount(&e, at(0)), 0);
    }

    #[test]
    fn a_dispute_nobody_rules_on_in_time_is_refunded() {
        let mut e = pending();
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], at(100)).expect("deliver");
        dispute(&mut e, [2; 32], at(150)).expect("dispute");
        let until = 150 + dreamster_types::release::RULING_TIMEOUT;
        assert_eq!(
            claim_refund(&mut e.clone(), at(until)),
            Err(Error::RulingPending { until })
        );
        assert_eq!(refundable_amount(&e, at(until)), 0);
        assert!(resolve(&mut e.clone(), false, until).is_ok());
        assert_eq!(
            resolve(&mut e.clone(), false, until + 1),
            Err(Error::RulingExpired)
        );
        assert_eq!(refundable_amount(&e, at(until + 1)), 500);
        let applied = claim_refund(&mut e, at(until + 1)).expect("refund");
        assert_eq!(
            (applied.flow, applied.action),
            (
                Flow::EscrowToHolder(500),
                EntitlementAction::Refunded {
                    amount: 500,
                    reason: RefundReason::RulingExpired
                }
            )
        );
    }

    #[test]
    fn overdue_refund_needs_the_deadline_passed_or_a_cancellation() {
        let mut e = pending();
        assert_eq!(refundable_amount(&e, at(DEADLINE)), 0);
        assert_eq!(
            claim_refund(&mut e.clone(), at(DEADLINE)),
            Err(Error::DeadlineNotPassed { deadline: DEADLINE })
        );
        assert_eq!(refundable_amount(&e, cancelled(1)), 500);
        assert_eq!(
            claim_refund(&mut e.clone(), cancelled(1)).map(|a| a.action),
            Ok(EntitlementAction::Refunded {
                amount: 500,
                reason: RefundReason::Cancelled
            })
        );
        assert_eq!(refundable_amount(&e, at(DEADLINE + 1)), 500);
        assert_eq!(
            claim_refund(&mut e, at(DEADLINE + 1)).map(|a| a.flow),
            Ok(Flow::EscrowToHolder(500))
        );
    }

    #[test]
    fn rating_is_once_and_bounded() {
        let mut e = pending();
        assert_eq!(rate(&mut e, 0), Err(Error::InvalidRating));
        assert_eq!(rate(&mut e, 6), Err(Error::InvalidRating));
        assert_eq!(rate(&mut e, 5), Err(Error::WrongState(Pending)));
        unlock(&mut e, &AUTO, at(1)).expect("unlock");
        confirm(&mut e).expect("confirm");
        assert_eq!(rate(&mut e, 4), Ok(()));
        assert_eq!(rate(&mut e, 5), Err(Error::AlreadyRated));
    }

    proptest::proptest! {
        #[test]
        fn share_of_is_exact_floor(price in 0u128..=u128::MAX, bps in 0u16..=10_000) {
            let share = share_of(price, bps).expect("bps <= 10 000 never overflows");
            proptest::prop_assert!(share <= price);
            // Compare against exact arithmetic on a wider representation.
            let exact = primitive_mul_div(price, bps);
            proptest::prop_assert_eq!(share, exact);
        }
    }

    /// price * bps / 10_000 computed with 256-bit intermediate via two u128 halves.
    fn primitive_mul_div(price: u128, bps: u16) -> u128 {
        let (hi, lo) = (price >> 64, price & u128::from(u64::MAX));
        let bps = u128::from(bps);
        // (hi * 2^64 + lo) * bps / 10_000
        let hi_prod = hi * bps; // < 2^64 * 2^14
        let lo_prod = lo * bps;
        let q_hi = hi_prod / 10_000;
        let r_hi = hi_prod % 10_000;
        (q_hi << 64) + ((r_hi << 64) + lo_prod) / 10_000
    }
}
