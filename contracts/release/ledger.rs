//! Who holds which edition: the release's token ledger, one storage item (as PSP22 2.0
//! keeps its balances), apart from the money (`escrow::Books`) and the perks.
//!
//! Each method checks everything it needs before it writes anything, and returns the
//! events to emit; the contract emits them (a storage item has no environment).

use dreamster_types::events::{Approval, Transfer};
use dreamster_types::{AccountId, EditionId, PerkId};
use ink::prelude::vec::Vec;
use ink::storage::Mapping;

use crate::Error;

// One bit per perk in `EditionRecord::refunded_pending`.
const _: () = assert!(dreamster_types::release::MAX_PERKS_PER_RELEASE <= u16::BITS);

/// An edition as the ledger keeps it, written when it is sold (later changes overwrite it,
/// so they charge no storage deposit).
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditionRecord {
    pub owner: AccountId,
    /// Perks refunded straight from `Pending` (bit n: perk n; at most 16 perks). Their
    /// entitlements are never stored: such a refund — a cancelled or overdue perk, the
    /// keeper's usual one — creates no storage, so nobody pays a deposit for it.
    pub refunded_pending: u16,
}

impl EditionRecord {
    pub fn refunded(&self, perk: PerkId) -> bool {
        1u16.checked_shl(perk)
            .is_some_and(|bit| self.refunded_pending & bit != 0)
    }
}

/// What a ledger change announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerEvent {
    Transfer(Transfer),
    Approval(Approval),
}

#[ink::storage_item]
#[derive(Debug, Default)]
pub struct Ledger {
    editions: Mapping<EditionId, EditionRecord>,
    balances: Mapping<AccountId, u32>,
    /// The one account approved to transfer an edition.
    approvals: Mapping<EditionId, AccountId>,
    /// Each owner's editions by index, `0..balance` (PSP34Enumerable: how a wallet lists
    /// a fan's editions); a transfer moves the owner's last edition into the gap.
    owned: Mapping<(AccountId, u32), EditionId>,
    /// Where each edition sits in its owner's list.
    owned_index: Mapping<EditionId, u32>,
}

impl Ledger {
    pub fn record(&self, edition: EditionId) -> Option<EditionRecord> {
        self.editions.get(edition)
    }

    pub fn owner(&self, edition: EditionId) -> Option<AccountId> {
        self.record(edition).map(|record| record.owner)
    }

    pub fn balance_of(&self, owner: AccountId) -> u32 {
        self.balances.get(owner).unwrap_or(0)
    }

    pub fn approved(&self, edition: EditionId) -> Option<AccountId> {
        self.approvals.get(edition)
    }

    /// `owner`'s edition at `index` of their list.
    pub fn owned_at(&self, owner: AccountId, index: u32) -> Option<EditionId> {
        self.owned.get((owner, index))
    }

    /// A new edition, to `to`.
    pub fn mint(&mut self, to: AccountId, edition: EditionId) -> Result<LedgerEvent, Error> {
        self.take(to, edition)?;
        self.editions.insert(
            edition,
            &EditionRecord {
                owner: to,
                refunded_pending: 0,
            },
        );
        Ok(LedgerEvent::Transfer(Transfer {
            from: None,
            to: Some(to),
            edition,
        }))
    }

    /// Moves `edition` to `to` for `caller`, who must own it or be approved for it; any
    /// approval ends. `release` is the release's own address, which may hold no edition
    /// (its escrow would be stuck).
    pub fn transfer(
        &mut self,
        caller: AccountId,
        to: AccountId,
        edition: EditionId,
        release: AccountId,
    ) -> Result<Vec<LedgerEvent>, Error> {
        let mut record = self.record(edition).ok_or(Error::NoSuchEdition)?;
        let owner = record.owner;
        let approved = self.approved(edition);
        if caller != owner && approved != Some(caller) {
            return Err(Error::NotOwnerOrApproved);
        }
        if to == release {
            return Err(Error::TransferToRelease);
        }
        self.give_up(owner, edition)?;
        self.take(to, edition)?;
        record.owner = to;
        self.editions.insert(edition, &record);
        let mut events = Vec::new();
        if approved.is_some() {
            events.push(self.approve(owner, edition, None));
        }
        events.push(LedgerEvent::Transfer(Transfer {
            from: Some(owner),
            to: Some(to),
            edition,
        }));
        Ok(events)
    }

    /// Sets or clears the one account approved for `edition` (the caller checked that
    /// `owner` owns it).
    pub fn approve(
        &mut self,
        owner: AccountId,
        edition: EditionId,
        to: Option<AccountId>,
    ) -> LedgerEvent {
        match to {
            Some(account) => {
                self.approvals.insert(edition, &account);
            }
            None => self.approvals.remove(edition),
        }
        LedgerEvent::Approval(Approval {
            owner,
            approved: to,
            edition,
        })
    }

    /// Records that `perk` of `edition` was refunded straight from `Pending`.
    pub fn mark_refunded(&mut self, edition: EditionId, perk: PerkId) -> Result<(), Error> {
        let mut record = self.record(edition).ok_or(Error::NoSuchEdition)?;
        let bit = 1u16.checked_shl(perk).ok_or(Error::Overflow)?;
        record.refunded_pending |= bit;
        self.editions.insert(edition, &record);
        Ok(())
    }

    /// `edition` joins `owner`'s list, at its end.
    fn take(&mut self, owner: AccountId, edition: EditionId) -> Result<(), Error> {
        let index = self.balance_of(owner);
        let balance = index.checked_add(1).ok_or(Error::Overflow)?;
        self.owned.insert((owner, index), &edition);
        self.owned_index.insert(edition, &index);
        self.balances.insert(owner, &balance);
        Ok(())
    }

    /// `edition` leaves `owner`'s list; their last edition moves into its place.
    fn give_up(&mut self, owner: AccountId, edition: EditionId) -> Result<(), Error> {
        // Read everything first: nothing is written unless all of it is there.
        let last = self
            .balance_of(owner)
            .checked_sub(1)
            .ok_or(Error::Overflow)?;
        let index = self.owned_index.get(edition).ok_or(Error::Overflow)?;
        let moved = self.owned.get((owner, last)).ok_or(Error::Overflow)?;
        if index != last {
            self.owned.insert((owner, index), &moved);
            self.owned_index.insert(moved, &index);
        }
        self.owned.remove((owner, last));
        self.balances.insert(owner, &last);
        Ok(())
    }
}
