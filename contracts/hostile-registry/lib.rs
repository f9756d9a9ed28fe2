//! An attacker for the reentrancy test, never deployed by the product. It plays a release's
//! registry (a release deployed by this contract reports outcomes to it) and holds an
//! edition of that release itself. When the release reports a refund — after paying it,
//! inside the same call — it calls straight back into the release to claim that refund
//! again. The chain must refuse the reentry, and the holder must be paid once. Told to
//! `burn`, it instead spends every unit of gas it is given on each report: the release
//! must bound that call so the refund still pays.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

pub use hostile_registry::{HostileRegistry, Reentry};

#[ink::contract]
mod hostile_registry {
    use dreamster_types::errors::ReleaseError;
    use dreamster_types::registry_api::{ArtistRegistry, Outcome, RegistryError};
    use dreamster_types::{EditionId, PerkId};
    use ink::env::call::{build_call, ExecutionInput, Selector};
    use ink::prelude::vec::Vec;

    /// What a reentrant `claim_refund` came back with, if this contract lived to see it.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Reentry {
        /// The chain refused the call (reentrancy denied) and let the caller go on.
        Denied,
        /// The release ran and refused: the refund was already taken.
        Refused,
        /// The release paid again: the attack worked.
        PaidAgain,
    }

    #[ink(storage)]
    pub struct HostileRegistry {
        target: Option<(AccountId, EditionId, PerkId)>,
        reports: u32,
        reentries: Vec<Reentry>,
        burn: bool,
    }

    impl HostileRegistry {
        #[ink(constructor)]
        pub fn new() -> Self {
            Self {
                target: None,
                reports: 0,
                reentries: Vec::new(),
                burn: false,
            }
        }

        /// The refund to take twice.
        #[ink(message)]
        pub fn aim(&mut self, release: AccountId, edition: EditionId, perk: PerkId) {
            self.target = Some((release, edition, perk));
        }

        /// From now on every report loops until its gas runs out.
        #[ink(message)]
        pub fn burn(&mut self) {
            self.burn = true;
        }

        /// Outcomes reported to this contract that it survived to count.
        #[ink(message)]
        pub fn reports(&self) -> u32 {
            self.reports
        }

        #[ink(message)]
        pub fn reentries(&self) -> Vec<Reentry> {
            self.reentries.clone()
        }
    }

    impl Default for HostileRegistry {
        fn default() -> Self {
            Self::new()
        }
    }

    impl ArtistRegistry for HostileRegistry {
        #[ink(message)]
        fn record_outcome(
            &mut self,
            _artist: AccountId,
            _outcome: Outcome,
            _self_dealt: bool,
        ) -> Result<(), RegistryError> {
            self.reports = self.reports.saturating_add(1);
            if self.burn {
                // Hashing through the host on every turn keeps the loop from being
                // optimised away; only running out of gas ends it.
                let mut digest = [0u8; 32];
                loop {
                    let input = digest;
                    ink::env::hash_bytes::<ink::env::hash::Blake2x256>(&input, &mut digest);
                }
            }
            if let Some((release, edition, perk)) = self.target {
                let answer = build_call::<ink::env::DefaultEnvironment>()
                    .call(release)
                    .exec_input(
                        ExecutionInput::new(Selector::new(ink::selector_bytes!("claim_refund")))
                            .push_arg(edition)
                            .push_arg(perk),
                    )
                    .returns::<Result<Balance, ReleaseError>>()
                    .try_invoke();
                self.reentries.push(match answer {
                    Ok(Ok(Ok(_))) => Reentry::PaidAgain,
                    Ok(Ok(Err(_))) => Reentry::Refused,
                    _ => Reentry::Denied,
                });
            }
            Ok(())
        }
    }
}
