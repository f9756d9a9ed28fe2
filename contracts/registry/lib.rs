//! The registry: who the artists and arbiters are, the factory that creates one release
//! contract per release, and each artist's reputation, which only that artist's releases
//! may change.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

pub use registry::{Registry, RegistryRef};

#[ink::contract]
mod registry {
    use dreamster_release::ReleaseRef;
    use dreamster_types::events::{
        ArbiterAdded, ArbiterRemoved, ArtistRegistered, OwnershipOffered, OwnershipTransferred,
        ReleaseCodeAnnounced, ReleaseCodeSet, ReleaseCreated, ReputationChanged,
    };
    use dreamster_types::registry_api::{
        ArtistProfile, ArtistRegistry, Outcome, RegistryError, Reputation,
    };
    use dreamster_types::release::{SaleTerms, CODE_CHANGE_DELAY, MAX_ARBITERS};
    use ink::prelude::string::String;
    use ink::prelude::vec::Vec;
    use ink::storage::{Lazy, Mapping};

    pub type Result<T> = core::result::Result<T, RegistryError>;

    /// The most releases one `releases` page returns.
    const MAX_PAGE: u32 = 100;

    #[ink(storage)]
    pub struct Registry {
        owner: AccountId,
        /// The account the owner offered the registry to, until it accepts.
        offered_owner: Option<AccountId>,
        /// The code new releases are created from.
        release_code_hash: Option<Hash>,
        /// A code announced to replace it, and from when.
        pending_code: Option<(Hash, Timestamp)>,
        /// Who may rule on the disputes of releases created from now on (each release keeps
        /// the list it was created with).
        arbiters: Lazy<Vec<AccountId>>,
        artists: Mapping<AccountId, ArtistProfile>,
        /// Every release this registry created, with its artist.
        release_artist: Mapping<AccountId, AccountId>,
        releases: Mapping<u32, AccountId>,
        release_count: u32,
        reputation: Mapping<AccountId, Reputation>,
    }

    impl Default for Registry {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Registry {
        /// The deployer owns the registry: it sets the release code and names arbiters.
        #[ink(constructor)]
        pub fn new() -> Self {
            Self {
                owner: Self::env().caller(),
                offered_owner: None,
                release_code_hash: None,
                pending_code: None,
                arbiters: Lazy::new(),
                artists: Mapping::default(),
                release_artist: Mapping::default(),
                releases: Mapping::default(),
                release_count: 0,
                reputation: Mapping::default(),
            }
        }

        fn ensure_owner(&self) -> Result<()> {
            if self.env().caller() == self.owner {
                Ok(())
            } else {
                Err(RegistryError::NotOwner)
            }
        }

        /// Sets the code new releases are instantiated from (releases already created keep
        /// theirs). The first code takes effect at once; a change is announced and takes
        /// effect [`CODE_CHANGE_DELAY`] later, so no artist's next release changes under
        /// them. Announcing the code in effect withdraws a pending change; announcing the
        /// pending one again changes nothing.
        #[ink(message)]
        pub fn set_release_code(&mut self, code_hash: Hash) -> Result<()> {
            self.ensure_owner()?;
            self.promote_code();
            let now = self.env().block_timestamp();
            match self.release_code_hash {
                None => {
                    self.release_code_hash = Some(code_hash);
                    self.env().emit_event(ReleaseCodeSet {
                        code_hash: hash32(code_hash),
                    });
                }
                // The code in effect again: a pending change is withdrawn (announced as the
                // current code, in effect now).
                Some(current) if current == code_hash => {
                    if self.pending_code.take().is_some() {
                        self.env().emit_event(ReleaseCodeAnnounced {
                            code_hash: hash32(code_hash),
                            effective_at: now,
                        });
                    }
                }
                // Announced already: its date stands.
                Some(_) if self.pending_code.is_some_and(|(code, _)| code == code_hash) => {}
                Some(_) => {
                    let effective_at = now.saturating_add(CODE_CHANGE_DELAY);
                    self.pending_code = Some((code_hash, effective_at));
                    self.env().emit_event(ReleaseCodeAnnounced {
                        code_hash: hash32(code_hash),
                        effective_at,
                    });
                }
            }
            Ok(())
        }

        /// The code in effect now: the announced one once its time has come.
        fn effective_code(&self) -> Option<Hash> {
            match self.pending_code {
                Some((code, at)) if self.env().block_timestamp() >= at => Some(code),
                _ => self.release_code_hash,
            }
        }

        /// Makes an announced code whose time has come the code in effect.
        fn promote_code(&mut self) {
            if let Some((code, at)) = self.pending_code {
                if self.env().block_timestamp() >= at {
                    self.release_code_hash = Some(code);
                    self.pending_code = None;
                    self.env().emit_event(ReleaseCodeSet {
                        code_hash: hash32(code),
                    });
                }
            }
        }

        /// Offers the registry to `to` (`None` withdraws the offer); it moves only when
        /// `to` accepts, so a mistyped address cannot lose it.
        #[ink(message)]
        pub fn offer_ownership(&mut self, to: Option<AccountId>) -> Result<()> {
            self.ensure_owner()?;
            self.offered_owner = to;
            self.env().emit_event(OwnershipOffered {
                owner: self.owner,
                offered: to,
            });
            Ok(())
        }

        /// The offered account takes the registry over.
        #[ink(message)]
        pub fn accept_ownership(&mut self) -> Result<()> {
            let caller = self.env().caller();
            if self.offered_owner != Some(caller) {
                return Err(RegistryError::NotOfferedOwner);
            }
            let from = self.owner;
            self.owner = caller;
            self.offered_owner = None;
            self.env()
                .emit_event(OwnershipTransferred { from, to: caller });
            Ok(())
        }

        /// Names an arbiter for releases created from now on.
        #[ink(message)]
        pub fn add_arbiter(&mut self, arbiter: AccountId) -> Result<()> {
            self.ensure_owner()?;
            let mut list = self.arbiters();
            if list.contains(&arbiter) {
                return Err(RegistryError::AlreadyArbiter);
            }
            if list.len() >= MAX_ARBITERS as usize {
                return Err(RegistryError::TooManyArbiters);
            }
            list.push(arbiter);
            self.arbiters.set(&list);
            self.env().emit_event(ArbiterAdded { arbiter });
            Ok(())
        }

        /// Removes an arbiter for releases created from now on; releases created before
        /// keep them.
        #[ink(message)]
        pub fn remove_arbiter(&mut self, arbiter: AccountId) -> Result<()> {
            self.ensure_owner()?;
            let mut list = self.arbiters();
            let Some(at) = list.iter().position(|a| *a == arbiter) else {
                return Err(RegistryError::NotArbiter);
            };
            list.remove(at);
            self.arbiters.set(&list);
            self.env().emit_event(ArbiterRemoved { arbiter });
            Ok(())
        }

        /// The caller registers as an artist, once.
        #[ink(message)]
        pub fn register_artist(&mut self, name: String, metadata_uri: String) -> Result<()> {
            let artist = self.env().caller();
            if self.artists.contains(artist) {
                return Err(RegistryError::AlreadyRegistered);
            }
            let at = self.env().block_timestamp();
            let profile = ArtistProfile {
                name: name.clone(),
                metadata_uri: metadata_uri.clone(),
                registered_at: at,
            };
            if !profile.is_valid() {
                return Err(RegistryError::InvalidProfile);
            }
            self.artists.insert(artist, &profile);
            // Created now, at the artist's cost, so that a release's report never has to
            // grow storage and can run with no storage deposit at all.
            self.reputation.insert(artist, &Reputation::default());
            self.env().emit_event(ArtistRegistered {
                artist,
                name,
                metadata_uri,
                at,
            });
            Ok(())
        }

        /// A registered artist creates a release: a new contract of its own, so one
        /// release's funds can never be touched by another's. `code_hash` is the release
        /// code the artist expects (see `release_code_hash`); any other is refused.
        #[ink(message)]
        pub fn create_release(&mut self, terms: SaleTerms, code_hash: Hash) -> Result<AccountId> {
            let artist = self.env().caller();
            if !self.artists.contains(artist) {
                return Err(RegistryError::NotRegisteredArtist);
            }
            self.promote_code();
            let current = self.release_code_hash.ok_or(RegistryError::NoReleaseCode)?;
            if current != code_hash {
                return Err(RegistryError::CodeHashMismatch {
                    current: hash32(current),
                });
            }
            terms.validate().map_err(RegistryError::InvalidSaleTerms)?;
            let index = self.release_count;
            let next = index
                .checked_add(1)
                .ok_or(RegistryError::InstantiationFailed)?;
            let arbiters: Vec<AccountId> = self
                .arbiters()
                .into_iter()
                .filter(|a| *a != artist)
                .collect();
            let release = ReleaseRef::new(artist, terms.clone(), arbiters.clone())
                .code_hash(code_hash)
                .endowment(0)
                .salt_bytes(index.to_le_bytes())
                .try_instantiate()
                .map_err(|_| RegistryError::InstantiationFailed)?
                .map_err(|_| RegistryError::InstantiationFailed)?
                .map_err(|_| RegistryError::InstantiationFailed)?;
            let address = ink::ToAccountId::to_account_id(&release);
            self.release_artist.insert(address, &artist);
            self.releases.insert(index, &address);
            self.release_count = next;
            let at = self.env().block_timestamp();
            self.env().emit_event(ReleaseCreated {
                release: address,
                artist,
                terms,
                code_hash: hash32(code_hash),
                arbiters,
                at,
            });
            Ok(address)
        }

        // ---------------- getters ----------------

        #[ink(message)]
        pub fn owner(&self) -> AccountId {
            self.owner
        }

        /// The code a release created now would run.
        #[ink(message)]
        pub fn release_code_hash(&self) -> Option<Hash> {
            self.effective_code()
        }

        /// A code change announced and not yet in effect, with when it takes effect.
        #[ink(message)]
        pub fn pending_release_code(&self) -> Option<(Hash, Timestamp)> {
            self.pending_code
                .filter(|(_, at)| self.env().block_timestamp() < *at)
        }

        /// The account offered ownership, until it accepts.
        #[ink(message)]
        pub fn offered_owner(&self) -> Option<AccountId> {
            self.offered_owner
        }

        #[ink(message)]
        pub fn artist(&self, account: AccountId) -> Option<ArtistProfile> {
            self.artists.get(account)
        }

        /// The arbiters a release created now would get.
        #[ink(message)]
        pub fn arbiters(&self) -> Vec<AccountId> {
            self.arbiters.get().unwrap_or_default()
        }

        /// Whether `account` is among the arbiters new releases get.
        #[ink(message)]
        pub fn is_arbiter(&self, account: AccountId) -> bool {
            self.arbiters().contains(&account)
        }

        #[ink(message)]
        pub fn release_count(&self) -> u32 {
            self.release_count
        }

        /// Releases in creation order, `limit` (at most 100) from `from`.
        #[ink(message)]
        pub fn releases(&self, from: u32, limit: u32) -> Vec<AccountId> {
            let end = from
                .saturating_add(limit.min(MAX_PAGE))
                .min(self.release_count);
            (from..end).filter_map(|i| self.releases.get(i)).collect()
        }

        /// The artist of a release this registry created; `None` for any other account.
        #[ink(message)]
        pub fn artist_of_release(&self, release: AccountId) -> Option<AccountId> {
            self.release_artist.get(release)
        }

        #[ink(message)]
        pub fn reputation(&self, artist: AccountId) -> Reputation {
            self.reputation.get(artist).unwrap_or_default()
        }
    }

    fn hash32(code: Hash) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(code.as_ref());
        bytes
    }

    impl ArtistRegistry for Registry {
        #[ink(message)]
        fn record_outcome(
            &mut self,
            artist: AccountId,
            outcome: Outcome,
            self_dealt: bool,
        ) -> Result<()> {
            let release = self.env().caller();
            if self.release_artist.get(release) != Some(artist) {
                return Err(RegistryError::UnknownRelease);
            }
            if let Outcome::Rated(stars) = outcome {
                if !(1..=5).contains(&stars) {
                    return Err(RegistryError::InvalidRating);
                }
            }
            let mut reputation = self.reputation.get(artist).unwrap_or_default();
            reputation.apply(outcome, self_dealt);
            self.reputation.insert(artist, &reputation);
            self.env().emit_event(ReputationChanged {
                artist,
                release,
                outcome,
                self_dealt,
                reputation,
            });
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use dreamster_types::registry_api::ArtistRegistry;
        use ink::env::test;
        use ink::env::DefaultEnvironment as Env;

        fn setup() -> (Registry, test::DefaultAccounts<Env>) {
            let a = test::default_accounts::<Env>();
            test::set_caller::<Env>(a.alice);
            (Registry::new(), a)
        }

        fn terms() -> SaleTerms {
            SaleTerms {
                title: "Night Drive".into(),
                metadata_uri: String::new(),
                price: 1_000,
                max_editions: None,
                sale_start: 0,
                sale_end: None,
                dispute_window: dreamster_types::release::MIN_DISPUTE_WINDOW,
            }
        }

        #[ink::test]
        fn owner_manages_arbiters_and_code() {
            let (mut r, a) = setup();
            assert_eq!(r.owner(), a.alice);
            test::set_caller::<Env>(a.bob);
            assert_eq!(r.add_arbiter(a.eve), Err(RegistryError::NotOwner));
            assert_eq!(r.remove_arbiter(a.eve), Err(RegistryError::NotOwner));
            assert_eq!(
                r.set_release_code(Hash::from([1; 32])),
                Err(RegistryError::NotOwner)
            );
            test::set_caller::<Env>(a.alice);
            assert_eq!(r.remove_arbiter(a.eve), Err(RegistryError::NotArbiter));
            assert_eq!(r.add_arbiter(a.eve), Ok(()));
            assert_eq!(r.add_arbiter(a.eve), Err(RegistryError::AlreadyArbiter));
            assert!(r.is_arbiter(a.eve));
            assert_eq!(r.remove_arbiter(a.eve), Ok(()));
            assert!(!r.is_arbiter(a.eve));
            assert_eq!(r.set_release_code(Hash::from([1; 32])), Ok(()));
            assert_eq!(r.release_code_hash(), Some(Hash::from([1; 32])));
            assert_eq!(test::recorded_events().count(), 3);
        }

        #[ink::test]
        fn artists_register_once_with_a_valid_profile() {
            let (mut r, a) = setup();
            test::set_caller::<Env>(a.bob);
            assert_eq!(
                r.register_artist(" ".into(), String::new()),
                Err(RegistryError::InvalidProfile)
            );
            assert_eq!(
                r.register_artist("x".repeat(65), String::new()),
                Err(RegistryError::InvalidProfile)
            );
            assert_eq!(
                r.register_artist("Nova".into(), "ipfs://nova".into()),
                Ok(())
            );
            assert_eq!(
                r.register_artist("Nova".into(), String::new()),
                Err(RegistryError::AlreadyRegistered)
            );
            assert_eq!(r.artist(a.bob).map(|p| p.name), Some("Nova".into()));
            assert_eq!(r.artist(a.charlie), None);
        }

        #[ink::test]
        fn create_release_needs_a_registered_artist_code_and_valid_terms() {
            let (mut r, a) = setup();
            test::set_caller::<Env>(a.bob);
            assert_eq!(
                r.create_release(terms(), Hash::from([1; 32])),
                Err(RegistryError::NotRegisteredArtist)
            );
            r.register_artist("Nova".into(), String::new())
                .expect("register");
            assert_eq!(
                r.create_release(terms(), Hash::from([1; 32])),
                Err(RegistryError::NoReleaseCode)
            );
            test::set_caller::<Env>(a.alice);
            r.set_release_code(Hash::from([1; 32])).expect("code");
            test::set_caller::<Env>(a.bob);
            let bad = SaleTerms {
                price: 0,
                ..terms()
            };
            assert_eq!(
                r.create_release(bad, Hash::from([1; 32])),
                Err(RegistryError::InvalidSaleTerms(
                    dreamster_types::release::SaleTermsError::ZeroPrice
                ))
            );
            assert_eq!(r.release_count(), 0);
            assert_eq!(r.releases(0, 10), Vec::<AccountId>::new());
        }

        /// Issue 14, finding 6: the owner swaps the release code just before an artist
        /// creates a release. The change only takes effect after a delay, is announced,
        /// and an artist who expects the old code is refused rather than surprised.
        #[ink::test]
        fn a_code_change_is_announced_and_waits() {
            let (mut r, a) = setup();
            let (old, new) = (Hash::from([1; 32]), Hash::from([2; 32]));
            test::set_block_timestamp::<Env>(1_000);
            assert_eq!(r.set_release_code(old), Ok(()));
            assert_eq!(
                r.release_code_hash(),
                Some(old),
                "the first code is in effect at once"
            );
            assert_eq!(r.set_release_code(new), Ok(()));
            let effective_at = 1_000 + CODE_CHANGE_DELAY;
            test::set_block_timestamp::<Env>(2_000);
            assert_eq!(r.set_release_code(new), Ok(()));
            assert_eq!(
                r.pending_release_code(),
                Some((new, effective_at)),
                "announcing it again does not push its date back"
            );
            assert_eq!(r.release_code_hash(), Some(old));
            assert_eq!(r.pending_release_code(), Some((new, effective_at)));
            test::set_caller::<Env>(a.bob);
            r.register_artist("Nova".into(), String::new())
                .expect("register");
            // Expecting the new code before its time is refused: the old is in effect.
            assert_eq!(
                r.create_release(terms(), new),
                Err(RegistryError::CodeHashMismatch { current: [1; 32] })
            );
            test::set_block_timestamp::<Env>(effective_at);
            assert_eq!(r.release_code_hash(), Some(new));
            assert_eq!(r.pending_release_code(), None);
            // An artist who still expects the old code is refused, not given the new one.
            assert_eq!(
                r.create_release(terms(), old),
                Err(RegistryError::CodeHashMismatch { current: [2; 32] })
            );
            // Announcing the code in effect withdraws a pending change.
            test::set_caller::<Env>(a.alice);
            assert_eq!(r.set_release_code(Hash::from([3; 32])), Ok(()));
            assert_eq!(r.set_release_code(new), Ok(()));
            assert_eq!(r.pending_release_code(), None);
            test::set_block_timestamp::<Env>(effective_at + 2 * CODE_CHANGE_DELAY);
            assert_eq!(r.release_code_hash(), Some(new));
        }

        /// Issue 14, finding 6: ownership moves only when the offered account accepts.
        #[ink::test]
        fn ownership_moves_in_two_steps() {
            let (mut r, a) = setup();
            test::set_caller::<Env>(a.bob);
            assert_eq!(r.offer_ownership(Some(a.bob)), Err(RegistryError::NotOwner));
            assert_eq!(r.accept_ownership(), Err(RegistryError::NotOfferedOwner));
            test::set_caller::<Env>(a.alice);
            assert_eq!(r.offer_ownership(Some(a.charlie)), Ok(()));
            assert_eq!((r.owner(), r.offered_owner()), (a.alice, Some(a.charlie)));
            test::set_caller::<Env>(a.bob);
            assert_eq!(r.accept_ownership(), Err(RegistryError::NotOfferedOwner));
            test::set_caller::<Env>(a.charlie);
            assert_eq!(r.accept_ownership(), Ok(()));
            assert_eq!((r.owner(), r.offered_owner()), (a.charlie, None));
            test::set_caller::<Env>(a.alice);
            assert_eq!(r.add_arbiter(a.eve), Err(RegistryError::NotOwner));
        }

        #[ink::test]
        fn only_its_own_releases_may_record_outcomes() {
            let (mut r, a) = setup();
            test::set_caller::<Env>(a.bob);
            assert_eq!(
                r.record_outcome(a.bob, Outcome::DeliveredOnTime, false),
                Err(RegistryError::UnknownRelease)
            );
            // A release it created, reporting for the wrong artist, is refused too.
            r.release_artist.insert(a.django, &a.charlie);
            test::set_caller::<Env>(a.django);
            assert_eq!(
                r.record_outcome(a.bob, Outcome::DeliveredOnTime, false),
                Err(RegistryError::UnknownRelease)
            );
            assert_eq!(
                r.record_outcome(a.charlie, Outcome::Rated(6), false),
                Err(RegistryError::InvalidRating)
            );
            assert_eq!(
                r.record_outcome(a.charlie, Outcome::Rated(4), false),
                Ok(())
            );
            assert_eq!(
                r.record_outcome(a.charlie, Outcome::DeliveredLate, false),
                Ok(())
            );
            assert_eq!(r.record_outcome(a.charlie, Outcome::Rated(5), true), Ok(()));
            let rep = r.reputation(a.charlie);
            assert_eq!(
                (rep.rating_sum, rep.rating_count, rep.delivered_late),
                (4, 1, 1),
                "the artist's own rating is not in the record"
            );
            assert_eq!(
                (rep.self_dealt, rep.self_rating_sum, rep.self_rating_count),
                (1, 5, 1),
                "the artist's own rating is counted apart"
            );
            assert_eq!(r.reputation(a.bob), Reputation::default());
        }
    }
}
