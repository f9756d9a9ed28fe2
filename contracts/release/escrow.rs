//! The escrow state machine of one (edition, perk) entitlement, as plain Rust.
//!
//! Each function checks a transition against the entitlement and the clock, applies it,
//! and says what it did and where the escrow goes. The contract reads the environment,
//! calls these, then books the money and emits the events; so every rule here is
//! testable without a chain.

use dreamster_types::entitlement::{Entitlement, EntitlementState};
use dreamster_types::events::EntitlementAction;
use dreamster_types::perk::DeliveryMethod;
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

/// The holder unlocks an automatic perk: the committed content is theirs.
pub fn unlock(
    e: &mut Entitlement,
    delivery: &DeliveryMethod,
    now: Timestamp,
) -> Result<Applied, Error> {
    let DeliveryMethod::Automatic { content_hash } = *delivery else {
        return Err(Error::NotAutomatic);
    };
    require(e, EntitlementState::Pending)?;
    Ok(delivered(
        e,
        now,
        content_hash,
        EntitlementAction::Unlocked { content_hash },
    ))
}

/// The artist delivers a physical or event perk, with a proof.
pub fn mark_delivered(
    e: &mut Entitlement,
    delivery: &DeliveryMethod,
    proof: Hash32,
    now: Timestamp,
) -> Result<Applied, Error> {
    if delivery.is_automatic() {
        return Err(Error::DeliveredByUnlock);
    }
    require(e, EntitlementState::Pending)?;
    let late = now > e.deadline;
    Ok(delivered(
        e,
        now,
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

/// The holder confirms a delivery (at any time before it is confirmed otherwise).
pub fn confirm(e: &mut Entitlement) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    Ok(confirmed(e, EntitlementAction::Confirmed))
}

fn window_end(e: &Entitlement, dispute_window: Timestamp) -> Timestamp {
    e.dispute_window_end(dispute_window)
        .unwrap_or(Timestamp::MAX)
}

/// Anyone may settle a delivery whose dispute window has closed: it counts as confirmed.
pub fn settle(
    e: &mut Entitlement,
    now: Timestamp,
    dispute_window: Timestamp,
) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    let until = window_end(e, dispute_window);
    if now <= until {
        return Err(Error::DisputeWindowOpen { until });
    }
    Ok(confirmed(e, EntitlementAction::ConfirmedByTimeout))
}

/// The holder disputes a delivery inside the window, with an evidence hash.
pub fn dispute(
    e: &mut Entitlement,
    evidence: Hash32,
    now: Timestamp,
    dispute_window: Timestamp,
) -> Result<Applied, Error> {
    require(e, EntitlementState::Delivered)?;
    if now > window_end(e, dispute_window) {
        return Err(Error::DisputeWindowClosed);
    }
    let from = e.state;
    e.state = EntitlementState::Disputed;
    e.evidence = Some(evidence);
    Ok(Applied {
        from,
        action: EntitlementAction::Disputed { evidence },
        flow: Flow::None,
    })
}

/// An arbiter rules on a dispute: for the fan (refund owed) or for the artist.
pub fn resolve(e: &mut Entitlement, refund: bool) -> Result<Applied, Error> {
    require(e, EntitlementState::Disputed)?;
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

/// The holder takes the escrow back: a pending perk past its deadline, or a dispute won.
pub fn claim_refund(e: &mut Entitlement, now: Timestamp) -> Result<Applied, Error> {
    let from = e.state;
    let amount = e.escrow;
    let (overdue, flow) = match e.state {
        EntitlementState::Pending if now > e.deadline => (true, Flow::EscrowToHolder(amount)),
        EntitlementState::Pending => {
            return Err(Error::DeadlineNotPassed {
                deadline: e.deadline,
            })
        }
        EntitlementState::RefundOwed => (false, Flow::OwedToHolder(amount)),
        state => return Err(Error::WrongState(state)),
    };
    e.state = EntitlementState::Refunded;
    Ok(Applied {
        from,
        action: EntitlementAction::Refunded { amount, overdue },
        flow,
    })
}

/// What `claim_refund` would pay right now, without changing anything.
pub fn refundable_amount(e: &Entitlement, now: Timestamp) -> Balance {
    match e.state {
        EntitlementState::Pending if now > e.deadline => e.escrow,
        EntitlementState::RefundOwed => e.escrow,
        _ => 0,
    }
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

    fn pending() -> Entitlement {
        Entitlement::new(0, 500, 10_000)
    }

    #[test]
    fn unlock_delivers_automatic_perks_only() {
        let mut e = pending();
        assert_eq!(
            unlock(&mut e, &DeliveryMethod::Physical, 5),
            Err(Error::NotAutomatic)
        );
        let applied = unlock(&mut e, &AUTO, 5).expect("unlock");
        assert_eq!(applied.flow, Flow::None);
        assert_eq!(
            (e.state, e.delivered_at, e.proof),
            (Delivered, Some(5), Some([7; 32]))
        );
        assert_eq!(unlock(&mut e, &AUTO, 6), Err(Error::WrongState(Delivered)));
    }

    #[test]
    fn mark_delivered_flags_late_deliveries() {
        let mut e = pending();
        assert_eq!(
            mark_delivered(&mut e, &AUTO, [1; 32], 5),
            Err(Error::DeliveredByUnlock)
        );
        let applied =
            mark_delivered(&mut e, &DeliveryMethod::Event, [1; 32], 10_001).expect("deliver");
        assert_eq!(
            applied.action,
            EntitlementAction::MarkedDelivered {
                proof: [1; 32],
                late: true
            }
        );
    }

    #[test]
    fn dispute_only_inside_the_window_and_settle_only_after() {
        let mut e = pending();
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], 100).expect("deliver");
        assert_eq!(
            settle(&mut e.clone(), 1_100, WINDOW),
            Err(Error::DisputeWindowOpen { until: 1_100 })
        );
        assert_eq!(
            dispute(&mut e.clone(), [2; 32], 1_101, WINDOW),
            Err(Error::DisputeWindowClosed)
        );
        assert_eq!(
            settle(&mut e.clone(), 1_101, WINDOW).map(|a| a.flow),
            Ok(Flow::ToArtist(500))
        );
        assert!(dispute(&mut e, [2; 32], 1_100, WINDOW).is_ok());
        assert_eq!(e.state, Disputed);
    }

    #[test]
    fn resolution_sends_escrow_one_way() {
        let mut e = pending();
        mark_delivered(&mut e, &DeliveryMethod::Physical, [1; 32], 100).expect("deliver");
        dispute(&mut e, [2; 32], 150, WINDOW).expect("dispute");
        let mut for_artist = e;
        assert_eq!(
            resolve(&mut for_artist, false).map(|a| a.flow),
            Ok(Flow::ToArtist(500))
        );
        assert_eq!(
            claim_refund(&mut for_artist, 99_999),
            Err(Error::WrongState(Confirmed))
        );
        assert_eq!(
            resolve(&mut e, true).map(|a| a.flow),
            Ok(Flow::ToRefundsOwed(500))
        );
        assert_eq!(refundable_amount(&e, 0), 500);
        assert_eq!(
            claim_refund(&mut e, 0).map(|a| a.flow),
            Ok(Flow::OwedToHolder(500))
        );
        assert_eq!(claim_refund(&mut e, 0), Err(Error::WrongState(Refunded)));
        assert_eq!(refundable_amount(&e, 0), 0);
    }

    #[test]
    fn overdue_refund_needs_the_deadline_passed() {
        let mut e = pending();
        assert_eq!(refundable_amount(&e, 10_000), 0);
        assert_eq!(
            claim_refund(&mut e, 10_000),
            Err(Error::DeadlineNotPassed { deadline: 10_000 })
        );
        assert_eq!(refundable_amount(&e, 10_001), 500);
        assert_eq!(
            claim_refund(&mut e, 10_001).map(|a| a.flow),
            Ok(Flow::EscrowToHolder(500))
        );
    }

    #[test]
    fn rating_is_once_and_bounded() {
        let mut e = pending();
        assert_eq!(rate(&mut e, 0), Err(Error::InvalidRating));
        assert_eq!(rate(&mut e, 6), Err(Error::InvalidRating));
        assert_eq!(rate(&mut e, 5), Err(Error::WrongState(Pending)));
        unlock(&mut e, &AUTO, 1).expect("unlock");
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
