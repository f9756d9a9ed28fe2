//! One release of one artist: its editions are PSP34-style tokens, each carrying
//! entitlements to the release's perks, whose share of the price waits in escrow until
//! the perk is delivered and confirmed, or goes back to the holder.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

pub mod escrow;
pub mod ledger;

pub use dreamster_types::entitlement::EntitlementState;
pub use release::{Release, ReleaseRef};

pub use dreamster_types::errors::ReleaseError as Error;

pub type Result<T> = core::result::Result<T, Error>;

#[ink::contract]
mod release {
    use crate::escrow::{self, Applied, Books, Flow};
    use crate::ledger::{Ledger, LedgerEvent};
    use crate::{Error, Result};
    use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState, PerkStatus};
    use dreamster_types::events::EntitlementAction;
    use dreamster_types::events::{
        ArtistWithdrew, EditionSold, EntitlementChanged, EscrowReleased, PerkAdded, PerkCancelled,
        PerkRated,
    };
    use dreamster_types::perk::{Perk, PerkSale, PerkTerms};
    use dreamster_types::psp34::{self, Id, PSP34Error};
    use dreamster_types::registry_api::Outcome;
    use dreamster_types::release::{
        SaleTerms, MAX_ARBITERS, MAX_DEADLINE_HORIZON, MAX_PERKS_PER_RELEASE, PERKS_PAGE,
    };
    use dreamster_types::{EditionId, Hash32, PerkId, BPS_DENOMINATOR};
    use ink::prelude::vec::Vec;
    use ink::storage::{Lazy, Mapping};

    #[ink(storage)]
    pub struct Release {
        /// The registry that created this release: it keeps the artist's reputation.
        registry: AccountId,
        artist: AccountId,
        /// Who may rule on this release's disputes: the registry's arbiters when it was
        /// created, the artist excluded. Fixed, so a later change of the registry's list
        /// neither strands nor reassigns a dispute.
        arbiters: Lazy<Vec<AccountId>>,
        /// Editions the artist bought themself: what happens to their perks is reported
        /// as self-dealt, apart from what paying fans stand behind.
        artist_bought: Mapping<EditionId, ()>,
        /// Every account that bought an edition: none of them may arbitrate here. Only a
        /// purchase marks an account — an edition sent to an arbiter does not, or anyone
        /// could disqualify every arbiter with one gift.
        bought: Mapping<AccountId, ()>,
        terms: SaleTerms,
        /// Each perk as its artist described it (read by clients, never by a sale).
        perks: Mapping<PerkId, Perk>,
        /// What sales and escrow read of every perk, in one slot (see `PerkSale`).
        sale: Lazy<Vec<PerkSale>>,
        perk_count: u32,
        escrow_bps_total: u16,
        editions_sold: u32,
        /// Who holds which edition, and who may move it.
        ledger: Ledger,
        /// Entitlements that have left `Pending`; a pending one follows from the perk's
        /// `PerkSale` and is not stored, so a sale writes nothing per perk.
        entitlements: Mapping<(EditionId, PerkId), Entitlement>,
        books: Books,
    }

    impl Release {
        /// Called by the registry's factory; the caller becomes this release's registry.
        #[ink(constructor)]
        pub fn new(artist: AccountId, terms: SaleTerms, arbiters: Vec<AccountId>) -> Result<Self> {
            terms.validate().map_err(Error::InvalidSaleTerms)?;
            if arbiters.len() > MAX_ARBITERS as usize {
                return Err(Error::TooManyArbiters);
            }
            let mut named: Vec<AccountId> = Vec::new();
            for arbiter in arbiters {
                if arbiter != artist && !named.contains(&arbiter) {
                    named.push(arbiter);
                }
            }
            let mut list = Lazy::new();
            list.set(&named);
            Ok(Self {
                registry: Self::env().caller(),
                artist,
                arbiters: list,
                bought: Mapping::default(),
                artist_bought: Mapping::default(),
                terms,
                perks: Mapping::default(),
                sale: Lazy::new(),
                perk_count: 0,
                escrow_bps_total: 0,
                editions_sold: 0,
                ledger: Ledger::default(),
                entitlements: Mapping::default(),
                books: Books::default(),
            })
        }

        // ---------------- artist ----------------

        /// Adds a perk; it binds every edition sold from now until its deadline (up to its
        /// quantity limit), never the ones already sold. Perks cannot be changed; they can
        /// be cancelled, which refunds them.
        #[ink(message)]
        pub fn add_perk(&mut self, terms: PerkTerms) -> Result<PerkId> {
            self.ensure_artist()?;
            terms.validate().map_err(Error::InvalidPerk)?;
            let now = self.env().block_timestamp();
            if terms.deadline <= now {
                return Err(Error::DeadlineInPast);
            }
            if terms.deadline.saturating_sub(now) > MAX_DEADLINE_HORIZON {
                return Err(Error::DeadlineTooFar);
            }
            if self.perk_count >= MAX_PERKS_PER_RELEASE {
                return Err(Error::TooManyPerks);
            }
            let total = self
                .escrow_bps_total
                .checked_add(terms.escrow_bps)
                .ok_or(Error::Overflow)?;
            if total > BPS_DENOMINATOR {
                return Err(Error::EscrowSharesExceeded);
            }
            let id = self.perk_count;
            let perk = Perk {
                terms: terms.clone(),
                added_at_edition: self.editions_sold,
                added_at: now,
                // Both follow from the perk's `PerkSale`; the getters fill them in.
                granted: 0,
                cancelled_at: None,
            };
            let mut sale = self.sale.get().unwrap_or_default();
            sale.push(PerkSale::of(&terms, self.editions_sold));
            self.perks.insert(id, &perk);
            self.sale.set(&sale);
            self.perk_count = id.checked_add(1).ok_or(Error::Overflow)?;
            self.escrow_bps_total = total;
            self.env().emit_event(PerkAdded {
                perk: id,
                terms,
                added_at_edition: perk.added_at_edition,
                at: now,
            });
            Ok(id)
        }

        /// The artist cancels a perk (the concert is off), before its deadline: it binds no
        /// new edition, and every edition's entitlement to it that is still pending becomes
        /// refundable at once. Deliveries already made go on as they are.
        #[ink(message)]
        pub fn cancel_perk(&mut self, perk: PerkId) -> Result<()> {
            self.ensure_artist()?;
            let mut sale = self.sale.get().unwrap_or_default();
            let index = usize::try_from(perk).map_err(|_| Error::NoSuchPerk)?;
            let stored = sale.get_mut(index).ok_or(Error::NoSuchPerk)?;
            if stored.cancelled_at.is_some() {
                return Err(Error::PerkCancelled);
            }
            let now = self.env().block_timestamp();
            // Past the deadline an undelivered perk is overdue, the artist's failure: a
            // cancellation then would relabel it.
            if now > stored.deadline {
                return Err(Error::CancelAfterDeadline);
            }
            stored.cancelled_at = Some(now);
            if stored.closed_at_edition.is_none() {
                stored.closed_at_edition = Some(self.editions_sold);
            }
            self.sale.set(&sale);
            self.env().emit_event(PerkCancelled { perk, at: now });
            Ok(())
        }

        /// The artist delivers a physical or event perk to one edition's holder; after the
        /// deadline it is recorded as late and stands only if the holder confirms it.
        #[ink(message)]
        pub fn mark_delivered(
            &mut self,
            edition: EditionId,
            perk: PerkId,
            proof: Hash32,
        ) -> Result<()> {
            self.ensure_artist()?;
            let (delivery, clock) = self.delivery_and_clock(perk)?;
            // Counted in the artist's record when the delivery stands, not now.
            self.transition(edition, perk, |e| {
                escrow::mark_delivered(e, &delivery, proof, clock)
            })
            .map(drop)
        }

        /// Pays the artist everything released so far.
        #[ink(message)]
        pub fn withdraw(&mut self) -> Result<Balance> {
            self.ensure_artist()?;
            let amount = self.books.withdraw()?;
            self.env()
                .transfer(self.artist, amount)
                .map_err(|_| Error::TransferFailed)?;
            self.env().emit_event(ArtistWithdrew {
                artist: self.artist,
                amount,
            });
            Ok(amount)
        }

        // ---------------- sale and tokens ----------------

        /// Buys the next edition at the exact price; its perks' shares go into escrow.
        /// `expected` lists the perks the buyer was shown: if any of them would no longer
        /// come with the edition (its quantity ran out, its deadline passed, it was
        /// cancelled), the purchase is refused and nothing is paid.
        #[ink(message, payable)]
        pub fn buy(&mut self, expected: Vec<PerkId>) -> Result<EditionId> {
            let buyer = self.env().caller();
            let paid = self.env().transferred_value();
            let now = self.env().block_timestamp();
            if !self.terms.is_on_sale(now) {
                return Err(Error::SaleNotOpen);
            }
            if self
                .terms
                .max_editions
                .is_some_and(|max| self.editions_sold >= max)
            {
                return Err(Error::SoldOut);
            }
            if paid != self.terms.price {
                return Err(Error::WrongPayment {
                    expected: self.terms.price,
                });
            }
            if expected.len() > MAX_PERKS_PER_RELEASE as usize {
                return Err(Error::TooManyExpected);
            }
            let edition = self.editions_sold;
            // Everything is checked before anything is written.
            let mut sale = self.sale.get().unwrap_or_default();
            let mut closed = false;
            let mut granted = Vec::new();
            let mut escrowed: Balance = 0;
            for (id, perk) in (0..).zip(sale.iter_mut()) {
                if perk.grantable(edition, now) {
                    let share = escrow::share_of(paid, perk.escrow_bps).ok_or(Error::Overflow)?;
                    escrowed = escrowed.checked_add(share).ok_or(Error::Overflow)?;
                    granted.push((id, share));
                } else if perk.closed_at_edition.is_none()
                    && now >= perk.deadline
                    && edition < perk.end()
                {
                    // The first sale after the deadline: editions from this one on do not
                    // carry the perk.
                    perk.closed_at_edition = Some(edition);
                    closed = true;
                }
            }
            if let Some(&perk) = expected
                .iter()
                .find(|id| !granted.iter().any(|(g, _)| g == *id))
            {
                return Err(Error::PerkUnavailable { perk });
            }
            // Σ bps ≤ 10 000 and each share rounds down, so this cannot underflow.
            let artist_share = paid.checked_sub(escrowed).ok_or(Error::Overflow)?;
            let mut books = self.books;
            books.sell(escrowed, artist_share)?;
            self.books = books;
            if closed {
                self.sale.set(&sale);
            }
            self.editions_sold = edition.checked_add(1).ok_or(Error::Overflow)?;
            let minted = self.ledger.mint(buyer, edition)?;
            if !self.bought.contains(buyer) {
                self.bought.insert(buyer, &());
            }
            if buyer == self.artist {
                self.artist_bought.insert(edition, &());
            }
            self.emit(minted);
            self.env().emit_event(EditionSold {
                edition,
                buyer,
                price: paid,
                entitlements: granted,
                artist_share,
                at: now,
            });
            Ok(edition)
        }

        /// Moves an edition, with all its entitlements, to `to`; any approval ends.
        #[ink(message)]
        pub fn transfer(&mut self, to: AccountId, edition: EditionId) -> Result<()> {
            self.move_edition(to, edition)
        }

        /// Lets `to` transfer the caller's edition once (`None` withdraws the approval).
        #[ink(message)]
        pub fn approve(&mut self, to: Option<AccountId>, edition: EditionId) -> Result<()> {
            let owner = self.owner_or_err(edition)?;
            if self.env().caller() != owner {
                return Err(Error::NotHolder);
            }
            let approval = self.ledger.approve(owner, edition, to);
            self.emit(approval);
            Ok(())
        }

        // ---------------- holder ----------------

        /// The holder unlocks an automatic (digital) perk: the delivery service then hands
        /// the secret, whose hash the artist committed, to this holder alone.
        #[ink(message)]
        pub fn unlock(&mut self, edition: EditionId, perk: PerkId) -> Result<()> {
            self.ensure_holder(edition)?;
            let (delivery, clock) = self.delivery_and_clock(perk)?;
            self.transition(edition, perk, |e| escrow::unlock(e, &delivery, clock))
                .map(drop)
        }

        /// The holder confirms a delivery; the perk's escrow is released to the artist.
        #[ink(message)]
        pub fn confirm(&mut self, edition: EditionId, perk: PerkId) -> Result<()> {
            self.ensure_holder(edition)?;
            self.transition(edition, perk, escrow::confirm).map(drop)
        }

        /// Anyone may settle an on-time delivery whose dispute window closed undisputed.
        #[ink(message)]
        pub fn settle(&mut self, edition: EditionId, perk: PerkId) -> Result<()> {
            let clock = self.clock(perk)?;
            self.transition(edition, perk, |e| escrow::settle(e, clock))
                .map(drop)
        }

        /// The holder rates a confirmed perk 1–5 (a delivery past its window is settled first).
        #[ink(message)]
        pub fn rate(&mut self, edition: EditionId, perk: PerkId, stars: u8) -> Result<()> {
            let holder = self.ensure_holder(edition)?;
            let mut e = self.entitlement_or_err(edition, perk)?;
            // Checked before the settle below: nothing is written for a refused rating.
            if !(1..=5).contains(&stars) {
                return Err(Error::InvalidRating);
            }
            if e.rating.is_some() {
                return Err(Error::AlreadyRated);
            }
            let clock = self.clock(perk)?;
            if e.status(clock) == PerkStatus::Confirmed && e.state == EntitlementState::Delivered {
                self.transition(edition, perk, |e| escrow::settle(e, clock))?;
                e = self.entitlement_or_err(edition, perk)?;
            }
            escrow::rate(&mut e, stars)?;
            self.entitlements.insert((edition, perk), &e);
            self.env().emit_event(PerkRated {
                edition,
                perk,
                holder,
                rating: stars,
            });
            self.report(Outcome::Rated(stars), edition);
            Ok(())
        }

        /// The holder disputes a delivery within the window, with a hash of the evidence.
        #[ink(message)]
        pub fn dispute(
            &mut self,
            edition: EditionId,
            perk: PerkId,
            evidence: Hash32,
        ) -> Result<()> {
            self.ensure_holder(edition)?;
            let clock = self.clock(perk)?;
            self.transition(edition, perk, |e| escrow::dispute(e, evidence, clock))
                .map(drop)
        }

        /// One of this release's arbiters rules, before the ruling deadline: `refund` for
        /// the fan, otherwise for the artist. The artist, the disputed edition's holder and
        /// anyone who bought an edition of this release may not rule.
        #[ink(message)]
        pub fn resolve(&mut self, edition: EditionId, perk: PerkId, refund: bool) -> Result<()> {
            let caller = self.env().caller();
            if caller == self.artist
                || Some(caller) == self.owner(edition)
                || self.bought.contains(caller)
            {
                return Err(Error::ArbiterIsParty);
            }
            if !self.is_arbiter(caller) {
                return Err(Error::NotArbiter);
            }
            let now = self.env().block_timestamp();
            self.transition(edition, perk, |e| escrow::resolve(e, refund, now))
                .map(drop)
        }

        /// The escrow of a perk that is overdue, cancelled, delivered late, ruled for the
        /// holder, or whose dispute nobody ruled on in time goes back to the edition's
        /// holder. The holder may take it as soon as it is due; anyone else (Dreamster's
        /// keeper) may trigger it once the holder has no choice left to make — at once for a
        /// ruling, a cancellation, an expired ruling or an automatic perk never unlocked,
        /// `REFUND_GRACE` after an overdue deadline or a late delivery — and it is paid to
        /// the holder all the same.
        #[ink(message)]
        pub fn claim_refund(&mut self, edition: EditionId, perk: PerkId) -> Result<Balance> {
            let holder = self.owner_or_err(edition)?;
            let clock = self.clock(perk)?;
            if self.env().caller() != holder {
                let e = self.entitlement_or_err(edition, perk)?;
                // No refund due at all: `escrow::claim_refund` below says why.
                if let Some(from) = e.refund_open_to_anyone_from(clock) {
                    if clock.now < from {
                        return Err(Error::RefundReservedForHolder { from });
                    }
                }
            }
            let applied = self.transition(edition, perk, |e| escrow::claim_refund(e, clock))?;
            Ok(match applied.action {
                EntitlementAction::Refunded { amount, .. } => amount,
                _ => 0,
            })
        }

        // ---------------- getters ----------------

        #[ink(message)]
        pub fn artist(&self) -> AccountId {
            self.artist
        }

        #[ink(message)]
        pub fn registry(&self) -> AccountId {
            self.registry
        }

        /// Who may rule on this release's disputes (fixed when it was created).
        #[ink(message)]
        pub fn arbiters(&self) -> Vec<AccountId> {
            self.arbiters.get().unwrap_or_default()
        }

        #[ink(message)]
        pub fn sale_terms(&self) -> SaleTerms {
            self.terms.clone()
        }

        #[ink(message)]
        pub fn perk_count(&self) -> u32 {
            self.perk_count
        }

        #[ink(message)]
        pub fn perk(&self, perk: PerkId) -> Option<Perk> {
            self.perk_view(perk, &self.sale.get().unwrap_or_default())
        }

        /// Perks in id order, at most [`PERKS_PAGE`] (8) from `from`: a page of the
        /// largest perks fits ink!'s 16 KiB return buffer, all sixteen would not.
        #[ink(message)]
        pub fn perks(&self, from: PerkId, limit: u32) -> Vec<Perk> {
            let end = from
                .saturating_add(limit.min(PERKS_PAGE))
                .min(self.perk_count);
            let sale = self.sale.get().unwrap_or_default();
            (from..end)
                .filter_map(|id| self.perk_view(id, &sale))
                .collect()
        }

        /// Σ of the escrow shares of all perks, in basis points.
        #[ink(message)]
        pub fn escrow_bps_total(&self) -> u16 {
            self.escrow_bps_total
        }

        #[ink(message)]
        pub fn total_supply(&self) -> u32 {
            self.editions_sold
        }

        #[ink(message)]
        pub fn owner_of(&self, edition: EditionId) -> Option<AccountId> {
            self.owner(edition)
        }

        #[ink(message)]
        pub fn balance_of(&self, owner: AccountId) -> u32 {
            self.ledger.balance_of(owner)
        }

        #[ink(message)]
        pub fn get_approved(&self, edition: EditionId) -> Option<AccountId> {
            self.ledger.approved(edition)
        }

        #[ink(message)]
        pub fn entitlement(&self, edition: EditionId, perk: PerkId) -> Option<Entitlement> {
            let sale = self.sale.get().unwrap_or_default();
            self.entitlement_at(edition, perk, &sale)
        }

        /// Every perk an edition carries, with its entitlement.
        #[ink(message)]
        pub fn entitlements_of(&self, edition: EditionId) -> Vec<Entitlement> {
            let sale = self.sale.get().unwrap_or_default();
            (0..self.perk_count)
                .filter_map(|perk| self.entitlement_at(edition, perk, &sale))
                .collect()
        }

        /// The entitlement's state read against the current block time.
        #[ink(message)]
        pub fn status(&self, edition: EditionId, perk: PerkId) -> Option<PerkStatus> {
            let clock = self.clock(perk).ok()?;
            self.entitlement(edition, perk).map(|e| e.status(clock))
        }

        /// What `claim_refund(edition, perk)` would pay the holder right now.
        #[ink(message)]
        pub fn refundable_amount(&self, edition: EditionId, perk: PerkId) -> Balance {
            let Ok(clock) = self.clock(perk) else {
                return 0;
            };
            self.entitlement(edition, perk)
                .map_or(0, |e| escrow::refundable_amount(&e, clock))
        }

        #[ink(message)]
        pub fn escrow_held(&self) -> Balance {
            self.books.escrow_held
        }

        #[ink(message)]
        pub fn artist_withdrawable(&self) -> Balance {
            self.books.artist_withdrawable
        }

        #[ink(message)]
        pub fn refunds_owed(&self) -> Balance {
            self.books.refunds_owed
        }

        // ---------------- internals ----------------

        fn ensure_artist(&self) -> Result<()> {
            if self.env().caller() == self.artist {
                Ok(())
            } else {
                Err(Error::NotArtist)
            }
        }

        fn owner(&self, edition: EditionId) -> Option<AccountId> {
            self.ledger.owner(edition)
        }

        fn owner_or_err(&self, edition: EditionId) -> Result<AccountId> {
            self.owner(edition).ok_or(Error::NoSuchEdition)
        }

        fn ensure_holder(&self, edition: EditionId) -> Result<AccountId> {
            let owner = self.owner_or_err(edition)?;
            if self.env().caller() == owner {
                Ok(owner)
            } else {
                Err(Error::NotHolder)
            }
        }

        /// A perk as clients read it: what it binds and whether it was cancelled follow
        /// from its `PerkSale`.
        fn perk_view(&self, perk: PerkId, sale: &[PerkSale]) -> Option<Perk> {
            let s = sale_at(sale, perk)?;
            let mut view = self.perks.get(perk)?;
            view.granted = s.granted(self.editions_sold);
            view.cancelled_at = s.cancelled_at;
            Some(view)
        }

        fn sale_of(&self, perk: PerkId) -> Result<PerkSale> {
            sale_at(&self.sale.get().unwrap_or_default(), perk)
                .copied()
                .ok_or(Error::NoSuchPerk)
        }

        /// An edition's entitlement to a perk: stored once it left `Pending`, otherwise
        /// the one it was sold with, if the perk binds it.
        fn entitlement_at(
            &self,
            edition: EditionId,
            perk: PerkId,
            sale: &[PerkSale],
        ) -> Option<Entitlement> {
            if edition >= self.editions_sold {
                return None;
            }
            if let Some(stored) = self.entitlements.get((edition, perk)) {
                return Some(stored);
            }
            let s = sale_at(sale, perk)?;
            if !s.binds(edition) {
                return None;
            }
            let mut e = s.entitlement(perk, self.terms.price)?;
            if self.ledger.record(edition)?.refunded(perk) {
                e.state = EntitlementState::Refunded;
            }
            Some(e)
        }

        /// The clock an entitlement to `perk` is read against now.
        fn clock(&self, perk: PerkId) -> Result<Clock> {
            Ok(self.delivery_and_clock(perk)?.1)
        }

        fn delivery_and_clock(
            &self,
            perk: PerkId,
        ) -> Result<(dreamster_types::perk::DeliveryMethod, Clock)> {
            let stored = self.sale_of(perk)?;
            let clock = Clock::of_sale(self.env().block_timestamp(), &self.terms, &stored);
            Ok((stored.delivery, clock))
        }

        /// Whether what happens to `edition` is the artist's own doing: they bought it, or
        /// hold it now (a fan's edition handed to the artist is no fan's word any more).
        fn self_dealt(&self, edition: EditionId) -> bool {
            self.artist_bought.contains(edition) || self.owner(edition) == Some(self.artist)
        }

        fn is_arbiter(&self, account: AccountId) -> bool {
            self.arbiters().contains(&account)
        }

        fn entitlement_or_err(&self, edition: EditionId, perk: PerkId) -> Result<Entitlement> {
            self.owner_or_err(edition)?;
            let sale = self.sale.get().unwrap_or_default();
            sale_at(&sale, perk).ok_or(Error::NoSuchPerk)?;
            self.entitlement_at(edition, perk, &sale)
                .ok_or(Error::NotEntitled)
        }

        /// Dreamster's `transfer` and PSP34's: the caller must own the edition or be
        /// approved for it; any approval ends.
        fn move_edition(&mut self, to: AccountId, edition: EditionId) -> Result<()> {
            let events =
                self.ledger
                    .transfer(self.env().caller(), to, edition, self.env().account_id())?;
            for event in events {
                self.emit(event);
            }
            Ok(())
        }

        fn emit(&self, event: LedgerEvent) {
            match event {
                LedgerEvent::Transfer(e) => self.env().emit_event(e),
                LedgerEvent::Approval(e) => self.env().emit_event(e),
            }
        }

        /// Applies one escrow transition: checks, then state and books, then the event, and
        /// the payout last (checks-effects-interactions).
        fn transition(
            &mut self,
            edition: EditionId,
            perk: PerkId,
            step: impl FnOnce(&mut Entitlement) -> Result<Applied>,
        ) -> Result<Applied> {
            let mut e = self.entitlement_or_err(edition, perk)?;
            let applied = step(&mut e)?;
            let holder = self.owner_or_err(edition)?;
            let mut books = self.books;
            let payout = books.apply(applied.flow)?;
            // A pending entitlement is never stored; should one ever be, it is overwritten
            // like any other rather than hidden behind a bit.
            if applied.from == EntitlementState::Pending
                && e.state == EntitlementState::Refunded
                && !self.entitlements.contains((edition, perk))
            {
                // Never stored, and it stays so: a bit of the edition's record says it.
                self.ledger.mark_refunded(edition, perk)?;
                self.books = books;
            } else {
                self.books = books;
                self.entitlements.insert((edition, perk), &e);
            }
            let now = self.env().block_timestamp();
            self.env().emit_event(EntitlementChanged {
                edition,
                perk,
                actor: self.env().caller(),
                from: applied.from,
                to: e.state,
                action: applied.action,
                at: now,
            });
            if let Flow::ToArtist(amount) = applied.flow {
                self.env().emit_event(EscrowReleased {
                    edition,
                    perk,
                    amount,
                });
            }
            if payout > 0 {
                self.env()
                    .transfer(holder, payout)
                    .map_err(|_| Error::TransferFailed)?;
            }
            if let Some(outcome) = escrow::outcome(&applied, &e) {
                self.report(outcome, edition);
            }
            Ok(applied)
        }

        /// Tells the registry; a registry that refuses, fails or burns gas must never
        /// block a fan's refund or an artist's delivery: the call gets a bounded share of
        /// gas and proof size and may not charge a storage deposit, and its answer is only
        /// logged by the chain.
        #[cfg(not(test))]
        fn report(&self, outcome: Outcome, edition: EditionId) {
            use dreamster_types::registry_api::{
                ArtistRegistry as _, REPORT_PROOF_SIZE_LIMIT, REPORT_REF_TIME_LIMIT,
            };
            use ink::codegen::TraitCallBuilder;
            let mut registry: ink::contract_ref!(dreamster_types::registry_api::ArtistRegistry) =
                self.registry.into();
            let _ = registry
                .call_mut()
                .record_outcome(self.artist, outcome, self.self_dealt(edition))
                .ref_time_limit(REPORT_REF_TIME_LIMIT)
                .proof_size_limit(REPORT_PROOF_SIZE_LIMIT)
                // 1, not 0: pallet-contracts reads a limit of 0 as "whatever the caller
                // allows"; one plank lets nothing be charged.
                .storage_deposit_limit(1)
                .try_invoke();
        }

        // The off-chain test environment cannot call other contracts: unit tests see the
        // registry through this stand-in; drink and node tests use the real one.
        #[cfg(test)]
        fn report(&self, outcome: Outcome, edition: EditionId) {
            crate::tests::registry_stub::record(outcome, self.self_dealt(edition))
        }
    }

    /// The sale facts of `perk`, if the release has it.
    fn sale_at(sale: &[PerkSale], perk: PerkId) -> Option<&PerkSale> {
        sale.get(usize::try_from(perk).ok()?)
    }

    // ---------------- PSP34: wallets see a fan's editions ----------------

    impl psp34::PSP34 for Release {
        #[ink(message)]
        fn collection_id(&self) -> Id {
            let address = self.env().account_id();
            Id::Bytes(<AccountId as AsRef<[u8; 32]>>::as_ref(&address).to_vec())
        }

        #[ink(message)]
        fn balance_of(&self, owner: AccountId) -> u32 {
            self.ledger.balance_of(owner)
        }

        #[ink(message)]
        fn owner_of(&self, id: Id) -> Option<AccountId> {
            self.owner(id.edition()?)
        }

        #[ink(message)]
        fn allowance(&self, owner: AccountId, operator: AccountId, id: Option<Id>) -> bool {
            let Some(edition) = id.as_ref().and_then(Id::edition) else {
                return false;
            };
            self.owner(edition) == Some(owner) && self.ledger.approved(edition) == Some(operator)
        }

        #[ink(message)]
        fn approve(
            &mut self,
            operator: AccountId,
            id: Option<Id>,
            approved: bool,
        ) -> core::result::Result<(), PSP34Error> {
            let caller = self.env().caller();
            if operator == caller {
                return Err(PSP34Error::SelfApprove);
            }
            let Some(id) = id else {
                // Nothing is ever approved for all editions, so withdrawing that is a no-op.
                return if approved {
                    Err(PSP34Error::Custom("approve each edition on its own".into()))
                } else {
                    Ok(())
                };
            };
            let edition = id.edition().ok_or(PSP34Error::TokenNotExists)?;
            let owner = self.owner(edition).ok_or(PSP34Error::TokenNotExists)?;
            if owner != caller {
                return Err(PSP34Error::NotApproved);
            }
            if approved {
                let approval = self.ledger.approve(owner, edition, Some(operator));
                self.emit(approval);
            } else if self.ledger.approved(edition) == Some(operator) {
                let approval = self.ledger.approve(owner, edition, None);
                self.emit(approval);
            }
            Ok(())
        }

        #[ink(message)]
        fn transfer(
            &mut self,
            to: AccountId,
            id: Id,
            _data: Vec<u8>,
        ) -> core::result::Result<(), PSP34Error> {
            let edition = id.edition().ok_or(PSP34Error::TokenNotExists)?;
            self.move_edition(to, edition).map_err(|e| match e {
                Error::NoSuchEdition => PSP34Error::TokenNotExists,
                Error::NotOwnerOrApproved => PSP34Error::NotApproved,
                Error::TransferToRelease => {
                    PSP34Error::Custom("an edition cannot be sent to its own release".into())
                }
                _ => PSP34Error::Custom("the transfer failed".into()),
            })
        }

        #[ink(message)]
        fn total_supply(&self) -> Balance {
            Balance::from(self.editions_sold)
        }
    }

    impl psp34::PSP34Metadata for Release {
        #[ink(message)]
        fn get_attribute(&self, id: Id, key: Vec<u8>) -> Option<Vec<u8>> {
            let edition = if id == psp34::PSP34::collection_id(self) {
                None
            } else {
                Some(id.edition().filter(|e| *e < self.editions_sold)?)
            };
            if key == psp34::ATTRIBUTE_NAME {
                let mut name = self.terms.title.clone().into_bytes();
                if let Some(edition) = edition {
                    name.extend_from_slice(b" #");
                    name.extend(psp34::decimal(edition));
                }
                Some(name)
            } else if key == psp34::ATTRIBUTE_URI {
                Some(self.terms.metadata_uri.clone().into_bytes())
            } else {
                None
            }
        }
    }

    impl psp34::PSP34Enumerable for Release {
        #[ink(message)]
        fn owners_token_by_index(
            &self,
            owner: AccountId,
            index: u128,
        ) -> core::result::Result<Id, PSP34Error> {
            u32::try_from(index)
                .ok()
                .and_then(|index| self.ledger.owned_at(owner, index))
                .map(Id::U32)
                .ok_or(PSP34Error::TokenNotExists)
        }

        #[ink(message)]
        fn token_by_index(&self, index: u128) -> core::result::Result<Id, PSP34Error> {
            u32::try_from(index)
                .ok()
                .filter(|index| *index < self.editions_sold)
                .map(Id::U32)
                .ok_or(PSP34Error::TokenNotExists)
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;

#[cfg(test)]
mod sequences;
