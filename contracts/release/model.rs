//! An independent reference model of one release, for the random-sequence test: plain maps
//! of owners, entitlement states and balances, written from the rules as `docs/security.md`
//! states them — not from the contract's code, and sharing none of it (no `escrow.rs`, no
//! `Entitlement::status`, not even `share_of`). The sequence test applies every call to
//! this model and to the contract and compares them after every step; a rule the contract
//! gets wrong shows up as a difference.

use std::collections::{BTreeMap, BTreeSet};

use ink::primitives::AccountId;

pub type Id = u32;

const DAY: u64 = 24 * 60 * 60 * 1000;
/// The rules' constants, restated here rather than imported, so a wrong constant in the
/// types crate is a difference too.
pub const RULING_TIMEOUT: u64 = 30 * DAY;
/// How long past a missed deadline, or after a late delivery, a refund is the holder's
/// alone to trigger.
pub const GRACE: u64 = 14 * DAY;
pub const HORIZON: u64 = 730 * DAY;
pub const MAX_PERKS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Delivered,
    Disputed,
    Confirmed,
    Owed,
    Refunded,
}

impl State {
    /// The contract's name for the state (`EntitlementState::slug`), for comparing.
    pub fn slug(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Disputed => "disputed",
            State::Confirmed => "confirmed",
            State::Owed => "refund_owed",
            State::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Perk {
    pub bps: u128,
    pub automatic: bool,
    pub limit: Option<u32>,
    pub granted: u32,
    pub deadline: u64,
    pub cancelled: bool,
}

#[derive(Debug, Clone)]
pub struct Ent {
    pub escrow: u128,
    pub state: State,
    pub deadline: u64,
    pub delivered_at: Option<u64>,
    pub disputed_at: Option<u64>,
    pub rated: bool,
}

impl Ent {
    fn late(&self) -> bool {
        self.delivered_at.is_some_and(|d| d > self.deadline)
    }
}

/// A call as the model sees it.
#[derive(Debug, Clone)]
pub enum Call {
    AddPerk {
        bps: u16,
        automatic: bool,
        limit: Option<u32>,
        deadline: u64,
    },
    CancelPerk(Id),
    Buy {
        value: u128,
        expected: Vec<Id>,
    },
    Transfer {
        to: AccountId,
        edition: Id,
    },
    Approve {
        to: Option<AccountId>,
        edition: Id,
    },
    Unlock(Id, Id),
    MarkDelivered(Id, Id),
    Confirm(Id, Id),
    Settle(Id, Id),
    Rate(Id, Id, u8),
    Dispute(Id, Id),
    Resolve(Id, Id, bool),
    ClaimRefund(Id, Id),
    Withdraw,
}

pub struct Model {
    pub artist: AccountId,
    pub release: AccountId,
    pub arbiters: Vec<AccountId>,
    pub price: u128,
    pub window: u64,
    pub max_editions: Option<u32>,
    pub perks: Vec<Perk>,
    pub owners: Vec<AccountId>,
    pub approvals: BTreeMap<Id, AccountId>,
    pub buyers: BTreeSet<AccountId>,
    pub ents: BTreeMap<(Id, Id), Ent>,
    pub escrow: u128,
    pub withdrawable: u128,
    pub owed: u128,
}

/// What a call did: refused, or accepted and paid this much out to the caller.
pub type Outcome = Result<u128, ()>;

impl Model {
    /// What a fan is shown for an entitlement at `now` (`PerkStatus::slug`), by the rules.
    pub fn status(&self, key: (Id, Id), now: u64) -> Option<&'static str> {
        let e = self.ents.get(&key)?;
        let cancelled = self.perks.get(key.1 as usize)?.cancelled;
        Some(match e.state {
            State::Pending if cancelled => "cancelled",
            State::Pending if now > e.deadline => "overdue",
            State::Pending => "pending",
            State::Delivered if e.late() => "delivered_late",
            State::Delivered if now > e.deadline + self.window => "confirmed",
            State::Delivered => "delivered",
            State::Disputed if e.disputed_at.is_some_and(|d| now > d + RULING_TIMEOUT) => {
                "refundable"
            }
            State::Disputed => "disputed",
            State::Confirmed => "confirmed",
            State::Owed => "refundable",
            State::Refunded => "refunded",
        })
    }

    /// An entitlement's escrow released to the artist.
    fn release_to_artist(&mut self, amount: u128) {
        self.escrow -= amount;
        self.withdrawable += amount;
    }

    pub fn holder(&self, edition: Id) -> Option<AccountId> {
        self.owners.get(edition as usize).copied()
    }

    /// The entitlement `who` may act on as the edition's holder.
    fn held(&mut self, who: AccountId, edition: Id, perk: Id) -> Result<&mut Ent, ()> {
        if self.holder(edition) != Some(who) {
            return Err(());
        }
        self.ents.get_mut(&(edition, perk)).ok_or(())
    }

    fn perk(&self, perk: Id) -> Result<&Perk, ()> {
        self.perks.get(perk as usize).ok_or(())
    }

    /// Applies `call` by `caller` at `now`, as the rules say; the model changes only when
    /// the call is accepted.
    pub fn apply(&mut self, call: &Call, caller: AccountId, now: u64) -> Outcome {
        let is_artist = caller == self.artist;
        match *call {
            Call::AddPerk {
                bps,
                automatic,
                limit,
                deadline,
            } => {
                let total: u128 = self.perks.iter().map(|p| p.bps).sum::<u128>() + u128::from(bps);
                if !is_artist
                    || deadline <= now
                    || deadline - now > HORIZON
                    || self.perks.len() >= MAX_PERKS
                    || total > 10_000
                    || limit == Some(0)
                {
                    return Err(());
                }
                self.perks.push(Perk {
                    bps: u128::from(bps),
                    automatic,
                    limit,
                    granted: 0,
                    deadline,
                    cancelled: false,
                });
                Ok(0)
            }
            Call::CancelPerk(perk) => {
                if !is_artist {
                    return Err(());
                }
                let p = self.perks.get_mut(perk as usize).ok_or(())?;
                if p.cancelled || now > p.deadline {
                    return Err(());
                }
                p.cancelled = true;
                Ok(0)
            }
            Call::Buy {
                value,
                ref expected,
            } => {
                let sold = self.owners.len() as u32;
                if value != self.price || self.max_editions.is_some_and(|m| sold >= m) {
                    return Err(());
                }
                if expected.len() > MAX_PERKS {
                    return Err(());
                }
                let gets: Vec<Id> = (0..self.perks.len() as Id)
                    .filter(|&i| {
                        let p = &self.perks[i as usize];
                        !p.cancelled && now < p.deadline && p.limit.is_none_or(|l| p.granted < l)
                    })
                    .collect();
                if expected.iter().any(|e| !gets.contains(e)) {
                    return Err(());
                }
                let mut held = 0;
                for i in gets {
                    let p = &mut self.perks[i as usize];
                    p.granted += 1;
                    // The exact share: price × bps / 10 000, rounded down.
                    let share = value * p.bps / 10_000;
                    held += share;
                    self.ents.insert(
                        (sold, i),
                        Ent {
                            escrow: share,
                            state: State::Pending,
                            deadline: p.deadline,
                            delivered_at: None,
                            disputed_at: None,
                            rated: false,
                        },
                    );
                }
                self.escrow += held;
                self.withdrawable += value - held;
                self.owners.push(caller);
                self.buyers.insert(caller);
                Ok(0)
            }
            Call::Transfer { to, edition } => {
                let owner = self.holder(edition).ok_or(())?;
                let approved = self.approvals.get(&edition).copied();
                if (caller != owner && approved != Some(caller)) || to == self.release {
                    return Err(());
                }
                self.owners[edition as usize] = to;
                self.approvals.remove(&edition);
                Ok(0)
            }
            Call::Approve { to, edition } => {
                if self.holder(edition) != Some(caller) {
                    return Err(());
                }
                match to {
                    Some(a) => self.approvals.insert(edition, a),
                    None => self.approvals.remove(&edition),
                };
                Ok(0)
            }
            Call::Unlock(edition, perk) => {
                let p = self.perk(perk)?.clone();
                let e = self.held(caller, edition, perk)?;
                if !p.automatic || p.cancelled || e.state != State::Pending || now > e.deadline {
                    return Err(());
                }
                e.state = State::Delivered;
                e.delivered_at = Some(now);
                Ok(0)
            }
            Call::MarkDelivered(edition, perk) => {
                let p = self.perk(perk)?.clone();
                if !is_artist || p.automatic || p.cancelled || self.holder(edition).is_none() {
                    return Err(());
                }
                let e = self.ents.get_mut(&(edition, perk)).ok_or(())?;
                if e.state != State::Pending {
                    return Err(());
                }
                e.state = State::Delivered;
                e.delivered_at = Some(now);
                Ok(0)
            }
            Call::Confirm(edition, perk) => {
                let e = self.held(caller, edition, perk)?;
                if e.state != State::Delivered {
                    return Err(());
                }
                e.state = State::Confirmed;
                let amount = e.escrow;
                self.release_to_artist(amount);
                Ok(0)
            }
            Call::Settle(edition, perk) => {
                self.perk(perk)?;
                self.holder(edition).ok_or(())?;
                let window = self.window;
                let e = self.ents.get_mut(&(edition, perk)).ok_or(())?;
                if e.state != State::Delivered || e.late() || now <= e.deadline + window {
                    return Err(());
                }
                e.state = State::Confirmed;
                let amount = e.escrow;
                self.release_to_artist(amount);
                Ok(0)
            }
            Call::Rate(edition, perk, stars) => {
                let window = self.window;
                self.perk(perk)?;
                let e = self.held(caller, edition, perk)?;
                if !(1..=5).contains(&stars) || e.rated {
                    return Err(());
                }
                let settles = e.state == State::Delivered && !e.late() && now > e.deadline + window;
                if e.state != State::Confirmed && !settles {
                    return Err(());
                }
                e.rated = true;
                if settles {
                    e.state = State::Confirmed;
                    let amount = e.escrow;
                    self.release_to_artist(amount);
                }
                Ok(0)
            }
            Call::Dispute(edition, perk) => {
                let window = self.window;
                self.perk(perk)?;
                let e = self.held(caller, edition, perk)?;
                if e.state != State::Delivered || e.late() || now > e.deadline + window {
                    return Err(());
                }
                e.state = State::Disputed;
                e.disputed_at = Some(now);
                Ok(0)
            }
            Call::Resolve(edition, perk, refund) => {
                let owner = self.holder(edition);
                if !self.arbiters.contains(&caller)
                    || is_artist
                    || owner == Some(caller)
                    || self.buyers.contains(&caller)
                {
                    return Err(());
                }
                self.perk(perk)?;
                owner.ok_or(())?;
                let e = self.ents.get_mut(&(edition, perk)).ok_or(())?;
                if e.state != State::Disputed
                    || e.disputed_at.is_some_and(|d| now > d + RULING_TIMEOUT)
                {
                    return Err(());
                }
                let amount = e.escrow;
                self.escrow -= amount;
                if refund {
                    e.state = State::Owed;
                    self.owed += amount;
                } else {
                    e.state = State::Confirmed;
                    self.withdrawable += amount;
                }
                Ok(0)
            }
            Call::ClaimRefund(edition, perk) => {
                let (cancelled, automatic) = {
                    let p = self.perk(perk)?;
                    (p.cancelled, p.automatic)
                };
                let holder = self.holder(edition).ok_or(())?;
                let e = self.ents.get_mut(&(edition, perk)).ok_or(())?;
                // Whether a refund is due, and from when anyone may trigger it (the money
                // goes to the holder either way).
                let (from_escrow, anyone_from) = match e.state {
                    State::Pending if cancelled => (true, 0),
                    State::Pending if now > e.deadline && automatic => (true, 0),
                    State::Pending if now > e.deadline => (true, e.deadline + GRACE),
                    State::Delivered if e.late() => (true, e.delivered_at.map_or(0, |d| d + GRACE)),
                    State::Disputed if e.disputed_at.is_some_and(|d| now > d + RULING_TIMEOUT) => {
                        (true, 0)
                    }
                    State::Owed => (false, 0),
                    _ => return Err(()),
                };
                if caller != holder && now < anyone_from {
                    return Err(());
                }
                let amount = e.escrow;
                e.state = State::Refunded;
                if from_escrow {
                    self.escrow -= amount;
                } else {
                    self.owed -= amount;
                }
                Ok(amount)
            }
            Call::Withdraw => {
                if !is_artist || self.withdrawable == 0 {
                    return Err(());
                }
                let amount = self.withdrawable;
                self.withdrawable = 0;
                Ok(amount)
            }
        }
    }
}
