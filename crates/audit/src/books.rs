//! A release's books as its contract tells them, at one block, and the inconsistencies
//! within the chain's own numbers.

use dreamster_calls::release;
use dreamster_client::units::fmt_amount;
use dreamster_client::{subxt_id, Node};
use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState, PerkStatus};
use dreamster_types::perk::Perk;
use dreamster_types::release::SaleTerms;
use parity_scale_codec::Decode;
use subxt::utils::{AccountId32, H256};

use crate::AuditError;

/// One contract's getters, all read at the same block.
struct Reader<'a> {
    node: &'a Node,
    at: H256,
    contract: &'a AccountId32,
}

impl Reader<'_> {
    async fn get<T: Decode>(&self, input: Vec<u8>) -> Result<T, AuditError> {
        Ok(self.node.query_at(self.at, self.contract, &input).await?)
    }
}

/// A release as its contract tells it.
pub struct ReleaseBooks {
    pub address: AccountId32,
    pub artist: AccountId32,
    pub terms: SaleTerms,
    pub perks: Vec<Perk>,
    /// Who may rule on its disputes, fixed when it was created.
    pub arbiters: Vec<AccountId32>,
    pub owners: Vec<AccountId32>,
    /// Per edition, its entitlements.
    pub entitlements: Vec<Vec<Entitlement>>,
    pub escrow_held: u128,
    pub artist_withdrawable: u128,
    pub refunds_owed: u128,
    pub balance: u128,
    /// Inconsistencies within the chain's own numbers, found once when read.
    pub findings: Vec<String>,
}

impl ReleaseBooks {
    /// Reads a release's books as of block `at`.
    pub async fn read(node: &Node, at: H256, rel: &AccountId32) -> Result<Self, AuditError> {
        let q = Reader {
            node,
            at,
            contract: rel,
        };
        let artist: dreamster_types::AccountId = q.get(release::artist()).await?;
        let terms: SaleTerms = q.get(release::sale_terms()).await?;
        let perks: Vec<Perk> = node.perks_at(at, rel).await?;
        let arbiters: Vec<dreamster_types::AccountId> = q.get(release::arbiters()).await?;
        let supply: u32 = q.get(release::total_supply()).await?;
        let mut owners = Vec::new();
        let mut entitlements = Vec::new();
        for edition in 0..supply {
            let owner: Option<dreamster_types::AccountId> =
                q.get(release::owner_of(edition)).await?;
            owners.push(owner.map(|o| subxt_id(&o)).ok_or(AuditError::Chain(
                "an edition below total_supply has no owner",
            ))?);
            entitlements.push(q.get(release::entitlements_of(edition)).await?);
        }
        let mut books = ReleaseBooks {
            address: rel.clone(),
            artist: subxt_id(&artist),
            escrow_held: q.get(release::escrow_held()).await?,
            artist_withdrawable: q.get(release::artist_withdrawable()).await?,
            refunds_owed: q.get(release::refunds_owed()).await?,
            balance: node.free_balance_at(at, rel).await?,
            terms,
            perks,
            arbiters: arbiters.iter().map(subxt_id).collect(),
            owners,
            entitlements,
            findings: Vec::new(),
        };
        books.findings = books.inconsistencies();
        Ok(books)
    }

    /// An entitlement's status at `now` (against a perk the release does not list, read as
    /// neither cancelled nor automatic).
    pub fn status(&self, e: &Entitlement, now: u64) -> PerkStatus {
        let clock = match self.perks.get(e.perk as usize) {
            Some(perk) => Clock::of(now, &self.terms, perk),
            None => Clock {
                now,
                dispute_window: self.terms.dispute_window,
                cancelled: false,
                automatic: false,
            },
        };
        e.status(clock)
    }

    pub fn all(&self) -> impl Iterator<Item = (u32, &Entitlement)> {
        self.entitlements
            .iter()
            .enumerate()
            .flat_map(|(ed, list)| list.iter().map(move |e| (ed as u32, e)))
    }

    pub fn sum(&self, pick: impl Fn(&Entitlement) -> bool) -> u128 {
        self.all()
            .filter(|(_, e)| pick(e))
            .map(|(_, e)| e.escrow)
            .sum()
    }

    fn inconsistencies(&self) -> Vec<String> {
        let mut out = Vec::new();
        let held = self.sum(|e| e.state.holds_escrow());
        if held != self.escrow_held {
            out.push(format!(
                "escrow_held() says {} but the entitlements hold {}",
                fmt_amount(self.escrow_held),
                fmt_amount(held)
            ));
        }
        let owed = self.sum(|e| e.state == EntitlementState::RefundOwed);
        if owed != self.refunds_owed {
            out.push(format!(
                "refunds_owed() says {} but the entitlements owe {}",
                fmt_amount(self.refunds_owed),
                fmt_amount(owed)
            ));
        }
        let needed = self
            .escrow_held
            .saturating_add(self.artist_withdrawable)
            .saturating_add(self.refunds_owed);
        if self.balance < needed {
            out.push(format!(
                "insolvent: the contract holds {} but owes {}",
                fmt_amount(self.balance),
                fmt_amount(needed)
            ));
        }
        out
    }
}
