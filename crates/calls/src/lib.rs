//! The bytes a client sends to the contracts and how it reads their answers.
//!
//! Inputs come from the contracts' own `ink-as-dependency` call builders, so a selector
//! or argument order can never drift from the contract; answers are decoded with the
//! shared types. Used by the drink tests, the node tests, the CLI and the benchmarks.

use ink::codegen::TraitCallBuilder;
use ink::env::call::FromAccountId;
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use parity_scale_codec::{Decode, Encode};

pub use dreamster_registry::RegistryRef;
pub use dreamster_release::ReleaseRef;

/// Encodes the input of a message call from a finished call builder.
macro_rules! input {
    ($builder:expr) => {
        Encode::encode($builder.params().exec_input())
    };
}

fn release_ref() -> ReleaseRef {
    <ReleaseRef as FromAccountId<DefaultEnvironment>>::from_account_id(AccountId::from([0; 32]))
}

fn registry_ref() -> RegistryRef {
    <RegistryRef as FromAccountId<DefaultEnvironment>>::from_account_id(AccountId::from([0; 32]))
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the contract's answer does not decode: {0}")]
    Decode(#[from] parity_scale_codec::Error),
    #[error("the contract did not dispatch the call: {0:?}")]
    Lang(ink::LangError),
}

/// Decodes a message's answer (`MessageResult<T>`) into `T`.
pub fn decode_answer<T: Decode>(mut data: &[u8]) -> Result<T, AnswerError> {
    let answer = ink::MessageResult::<T>::decode(&mut data)?;
    answer.map_err(AnswerError::Lang)
}

/// Constructor inputs: the selector then the arguments, as the metadata states.
pub mod constructors {
    use super::*;
    use dreamster_types::release::SaleTerms;

    pub fn registry_new() -> Vec<u8> {
        ink::selector_bytes!("new").to_vec()
    }

    pub fn release_new(artist: AccountId, terms: &SaleTerms, arbiters: &[AccountId]) -> Vec<u8> {
        let mut data = ink::selector_bytes!("new").to_vec();
        (artist, terms, arbiters).encode_to(&mut data);
        data
    }
}

pub mod registry {
    use super::*;
    use dreamster_types::release::SaleTerms;

    pub fn set_release_code(code_hash: [u8; 32]) -> Vec<u8> {
        input!(registry_ref().call_mut().set_release_code(code_hash.into()))
    }
    pub fn add_arbiter(arbiter: AccountId) -> Vec<u8> {
        input!(registry_ref().call_mut().add_arbiter(arbiter))
    }
    pub fn remove_arbiter(arbiter: AccountId) -> Vec<u8> {
        input!(registry_ref().call_mut().remove_arbiter(arbiter))
    }
    pub fn register_artist(name: &str, metadata_uri: &str) -> Vec<u8> {
        input!(registry_ref()
            .call_mut()
            .register_artist(name.into(), metadata_uri.into()))
    }
    /// Creates a release from the code `code_hash`, refused if another is in effect.
    pub fn create_release(terms: SaleTerms, code_hash: [u8; 32]) -> Vec<u8> {
        input!(registry_ref()
            .call_mut()
            .create_release(terms, code_hash.into()))
    }
    pub fn release_code_hash() -> Vec<u8> {
        input!(registry_ref().call().release_code_hash())
    }
    pub fn pending_release_code() -> Vec<u8> {
        input!(registry_ref().call().pending_release_code())
    }
    pub fn offer_ownership(to: Option<AccountId>) -> Vec<u8> {
        input!(registry_ref().call_mut().offer_ownership(to))
    }
    pub fn accept_ownership() -> Vec<u8> {
        input!(registry_ref().call_mut().accept_ownership())
    }
    pub fn is_arbiter(account: AccountId) -> Vec<u8> {
        input!(registry_ref().call().is_arbiter(account))
    }
    pub fn arbiters() -> Vec<u8> {
        input!(registry_ref().call().arbiters())
    }
    pub fn artist(account: AccountId) -> Vec<u8> {
        input!(registry_ref().call().artist(account))
    }
    pub fn release_count() -> Vec<u8> {
        input!(registry_ref().call().release_count())
    }
    pub fn releases(from: u32, limit: u32) -> Vec<u8> {
        input!(registry_ref().call().releases(from, limit))
    }
    pub fn artist_of_release(release: AccountId) -> Vec<u8> {
        input!(registry_ref().call().artist_of_release(release))
    }
    pub fn reputation(artist: AccountId) -> Vec<u8> {
        input!(registry_ref().call().reputation(artist))
    }
}

pub mod release {
    use super::*;
    use dreamster_types::perk::PerkTerms;
    use dreamster_types::{EditionId, Hash32, PerkId};

    pub fn add_perk(terms: PerkTerms) -> Vec<u8> {
        input!(release_ref().call_mut().add_perk(terms))
    }
    pub fn mark_delivered(edition: EditionId, perk: PerkId, proof: Hash32) -> Vec<u8> {
        input!(release_ref()
            .call_mut()
            .mark_delivered(edition, perk, proof))
    }
    pub fn withdraw() -> Vec<u8> {
        input!(release_ref().call_mut().withdraw())
    }
    /// Buys an edition, refused unless it comes with every perk in `expected`.
    pub fn buy(expected: Vec<PerkId>) -> Vec<u8> {
        input!(release_ref().call_mut().buy(expected))
    }
    pub fn cancel_perk(perk: PerkId) -> Vec<u8> {
        input!(release_ref().call_mut().cancel_perk(perk))
    }
    pub fn arbiters() -> Vec<u8> {
        input!(release_ref().call().arbiters())
    }
    pub fn transfer(to: AccountId, edition: EditionId) -> Vec<u8> {
        input!(release_ref().call_mut().transfer(to, edition))
    }
    pub fn approve(to: Option<AccountId>, edition: EditionId) -> Vec<u8> {
        input!(release_ref().call_mut().approve(to, edition))
    }
    pub fn unlock(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call_mut().unlock(edition, perk))
    }
    pub fn confirm(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call_mut().confirm(edition, perk))
    }
    pub fn settle(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call_mut().settle(edition, perk))
    }
    pub fn rate(edition: EditionId, perk: PerkId, stars: u8) -> Vec<u8> {
        input!(release_ref().call_mut().rate(edition, perk, stars))
    }
    pub fn dispute(edition: EditionId, perk: PerkId, evidence: Hash32) -> Vec<u8> {
        input!(release_ref().call_mut().dispute(edition, perk, evidence))
    }
    pub fn resolve(edition: EditionId, perk: PerkId, refund: bool) -> Vec<u8> {
        input!(release_ref().call_mut().resolve(edition, perk, refund))
    }
    pub fn claim_refund(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call_mut().claim_refund(edition, perk))
    }
    pub fn artist() -> Vec<u8> {
        input!(release_ref().call().artist())
    }
    pub fn registry() -> Vec<u8> {
        input!(release_ref().call().registry())
    }
    pub fn sale_terms() -> Vec<u8> {
        input!(release_ref().call().sale_terms())
    }
    /// One page of perks (at most `PERKS_PAGE`); `Node::perks` reads them all.
    pub fn perks(from: PerkId, limit: u32) -> Vec<u8> {
        input!(release_ref().call().perks(from, limit))
    }
    pub fn total_supply() -> Vec<u8> {
        input!(release_ref().call().total_supply())
    }
    pub fn owner_of(edition: EditionId) -> Vec<u8> {
        input!(release_ref().call().owner_of(edition))
    }
    pub fn entitlement(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call().entitlement(edition, perk))
    }
    pub fn entitlements_of(edition: EditionId) -> Vec<u8> {
        input!(release_ref().call().entitlements_of(edition))
    }
    pub fn status(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call().status(edition, perk))
    }
    pub fn refundable_amount(edition: EditionId, perk: PerkId) -> Vec<u8> {
        input!(release_ref().call().refundable_amount(edition, perk))
    }
    pub fn escrow_held() -> Vec<u8> {
        input!(release_ref().call().escrow_held())
    }
    pub fn artist_withdrawable() -> Vec<u8> {
        input!(release_ref().call().artist_withdrawable())
    }
    pub fn refunds_owed() -> Vec<u8> {
        input!(release_ref().call().refunds_owed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_start_with_the_selectors_the_contracts_declare() {
        assert_eq!(&release::buy(vec![1])[..4], &ink::selector_bytes!("buy"));
        assert_eq!(&release::buy(vec![1])[4..], &vec![1u32].encode()[..]);
        assert_eq!(
            &registry::is_arbiter(AccountId::from([1; 32]))[..4],
            &ink::selector_bytes!("is_arbiter")
        );
        let input = release::unlock(3, 4);
        assert_eq!(&input[4..], &(3u32, 4u32).encode()[..]);
    }

    #[test]
    fn answers_decode_and_lang_errors_are_reported() {
        let ok: ink::MessageResult<Result<u32, dreamster_types::errors::ReleaseError>> = Ok(Ok(7));
        assert_eq!(
            decode_answer::<Result<u32, dreamster_types::errors::ReleaseError>>(&ok.encode()).ok(),
            Some(Ok(7))
        );
        let lang: ink::MessageResult<u32> = Err(ink::LangError::CouldNotReadInput);
        assert!(matches!(
            decode_answer::<u32>(&lang.encode()),
            Err(AnswerError::Lang(_))
        ));
        assert!(matches!(
            decode_answer::<u32>(&[9]),
            Err(AnswerError::Decode(_))
        ));
    }
}
