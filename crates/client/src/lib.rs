//! A thin client for pallet-contracts on any node that runs it (the dev node, or a public
//! network via `--rpc-url`): uploads code, instantiates, and calls contracts — each call
//! dry-run first, so a call the contract would refuse is reported without costing a fee.

pub mod account;
pub mod deploy;
mod exec;
pub mod explain;
pub mod service;
pub mod units;
pub mod wallet;

use parity_scale_codec::Decode;
use subxt::dynamic::Value;
use subxt::ext::scale_value::At;
use subxt::utils::AccountId32;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::Keypair;

pub use exec::{ContractEvent, DryRun, Weight};

pub type Api = OnlineClient<PolkadotConfig>;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "Contracts.ContractEmitted has fields {0}, not (contract, data): another runtime's layout"
    )]
    UnknownEventLayout(String),
    #[error("cannot reach the node at {url}: {reason}")]
    Connect {
        url: String,
        reason: Box<subxt::Error>,
    },
    // Boxed: subxt's error is large and would bloat every Result of this crate.
    #[error("node error: {0}")]
    Subxt(Box<subxt::Error>),
    #[error("node error: {0}")]
    Core(Box<subxt::ext::subxt_core::Error>),
    #[error("the node's answer does not decode: {0}")]
    DecodeValue(#[from] subxt::error::DecodeError),
    #[error("the node's answer does not decode: {0}")]
    Decode(#[from] parity_scale_codec::Error),
    #[error(transparent)]
    Answer(#[from] dreamster_calls::AnswerError),
    #[error("the runtime refused the call: {0}")]
    Dispatch(String),
    #[error("the contract trapped (reverted without an answer)")]
    Trapped,
    #[error("no {0} event in the transaction's events")]
    MissingEvent(&'static str),
    #[error(transparent)]
    Wallet(#[from] wallet::SignedPayloadError),
}

impl From<subxt::ext::subxt_core::Error> for ClientError {
    fn from(e: subxt::ext::subxt_core::Error) -> Self {
        ClientError::Core(Box::new(e))
    }
}

impl From<subxt::Error> for ClientError {
    fn from(e: subxt::Error) -> Self {
        ClientError::Subxt(Box::new(e))
    }
}

/// An account as the contracts' types hold it (the same 32 bytes).
/// Whether a URL names this machine (`localhost` or a loopback address): the one place a
/// node URL may be shown to a user (it is theirs) or spoken to unencrypted.
pub fn is_on_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub fn ink_id(account: &AccountId32) -> dreamster_types::AccountId {
    dreamster_types::AccountId::from(account.0)
}

/// A contracts' account as subxt holds it (the same 32 bytes).
pub fn subxt_id(account: &dreamster_types::AccountId) -> AccountId32 {
    AccountId32(*<dreamster_types::AccountId as AsRef<[u8; 32]>>::as_ref(
        account,
    ))
}

/// Reads an account address: SS58, or 32 bytes as 0x-prefixed hex.
pub fn parse_address(s: &str) -> Result<AccountId32, String> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x") {
        let bytes: Result<Vec<u8>, _> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect();
        let bytes = bytes.map_err(|_| format!("{s:?} is not hex"))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("{s:?} is not 32 bytes"))?;
        return Ok(AccountId32(array));
    }
    s.parse::<AccountId32>()
        .map_err(|e| format!("{s:?} is not an SS58 address: {e}"))
}

/// An account in SS58 with the generic Substrate prefix (42), as subxt's `AccountId32`
/// prints it. subxt encodes with the `base58` crate, whose quadratic loop was a sixth of
/// the CPU of rendering a fan's page (perf, at 500 pages/s: a page spells each address it
/// links several times); `bs58` gives the same text at a fraction of the cost.
pub fn ss58(account: &[u8; 32]) -> String {
    use blake2::{Blake2b512, Digest};
    const PREFIX: u8 = 42;
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update([PREFIX]);
    hasher.update(account);
    let checksum = hasher.finalize();
    let mut bytes = [0u8; 35];
    bytes[0] = PREFIX;
    bytes[1..33].copy_from_slice(account);
    bytes[33..].copy_from_slice(&checksum[..2]);
    bs58::encode(bytes).into_string()
}

/// The node's own RPC methods (best block, account nonces), beside subxt's client.
pub type Rpc = subxt::backend::legacy::LegacyRpcMethods<PolkadotConfig>;

/// A connected node.
#[derive(Clone)]
pub struct Node {
    api: Api,
    rpc: Rpc,
}

/// What a submitted call left behind.
pub struct Submitted {
    pub block_hash: subxt::utils::H256,
    pub block_number: u32,
    pub extrinsic_index: u32,
    pub events: Vec<ContractEvent>,
}

impl Submitted {
    /// The Dreamster events `contract` emitted in this transaction, in order. What a
    /// transaction did is read here, never from its dry run: between the two, another
    /// transaction may have changed the answer (two fans buying at once).
    pub fn events_of<'a>(
        &'a self,
        contract: &'a AccountId32,
    ) -> impl Iterator<Item = dreamster_types::events::DreamsterEvent> + 'a {
        self.events
            .iter()
            .filter(move |e| &e.contract == contract)
            .filter_map(|e| e.dreamster().ok())
    }

    /// The first event of `contract` that `pick` accepts, or `MissingEvent(what)`.
    pub fn find<'a, T>(
        &'a self,
        contract: &'a AccountId32,
        what: &'static str,
        pick: impl FnMut(dreamster_types::events::DreamsterEvent) -> Option<T>,
    ) -> Result<T, ClientError> {
        self.events_of(contract)
            .find_map(pick)
            .ok_or(ClientError::MissingEvent(what))
    }
}

impl Node {
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let connect_error = |reason| ClientError::Connect {
            url: url.to_string(),
            reason: Box::new(reason),
        };
        let client = subxt::backend::rpc::RpcClient::from_insecure_url(url)
            .await
            .map_err(connect_error)?;
        let api = Api::from_rpc_client(client.clone())
            .await
            .map_err(connect_error)?;
        Ok(Node {
            api,
            rpc: Rpc::new(client),
        })
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The newest block the node has imported (its best block), which is the state the
    /// next transaction executes on. Reads and dry runs happen here, not at the latest
    /// *finalized* block: finality trails (several blocks on a live network), and a dry
    /// run there would not see an account funded, or an edition bought, a moment ago.
    pub async fn best_block(&self) -> Result<subxt::utils::H256, ClientError> {
        self.rpc
            .chain_get_block_hash(None)
            .await?
            .ok_or(ClientError::Dispatch(
                "the node reports no best block".into(),
            ))
    }

    /// Free balance of an account, in the chain's smallest unit.
    pub async fn free_balance(&self, who: &AccountId32) -> Result<u128, ClientError> {
        self.free_balance_at(self.best_block().await?, who).await
    }

    /// Free balance of an account as of block `at`.
    pub async fn free_balance_at(
        &self,
        at: subxt::utils::H256,
        who: &AccountId32,
    ) -> Result<u128, ClientError> {
        let query = subxt::dynamic::storage("System", "Account", vec![Value::from_bytes(who.0)]);
        let storage = self.api.storage().at(at);
        let Some(info) = storage.fetch(&query).await? else {
            return Ok(0);
        };
        let info = info.to_value()?;
        let free = info
            .at("data")
            .and_then(|d| d.at("free"))
            .and_then(|f| f.as_u128())
            .ok_or(ClientError::Dispatch(
                "System.Account has no data.free".into(),
            ))?;
        Ok(free)
    }

    /// Uploads Wasm code (a no-op if the same code is already there); returns its hash.
    pub async fn upload_code(
        &self,
        signer: &Keypair,
        code: Vec<u8>,
    ) -> Result<[u8; 32], ClientError> {
        let hash = exec::code_hash(&code);
        let tx = subxt::dynamic::tx(
            "Contracts",
            "upload_code",
            vec![
                Value::from_bytes(code),
                Value::unnamed_variant("None", []),
                Value::unnamed_variant("Enforced", []),
            ],
        );
        match self.submit_included(signer, &tx).await {
            Ok(_) => Ok(hash),
            // Uploading identical code again is refused as a duplicate: it is there already.
            Err(ClientError::Dispatch(e)) if e.contains("CodeAlreadyExists") => Ok(hash),
            Err(e) => Err(e),
        }
    }

    /// Instantiates uploaded code with a constructor input; returns the new contract.
    pub async fn instantiate(
        &self,
        signer: &Keypair,
        code_hash: [u8; 32],
        input: Vec<u8>,
        salt: Vec<u8>,
    ) -> Result<AccountId32, ClientError> {
        let origin = signer.public_key().to_account_id();
        let at = self.best_block().await?;
        let dry =
            exec::dry_run_instantiate(&self.api, at, &origin, code_hash, &input, &salt).await?;
        let tx = subxt::dynamic::tx(
            "Contracts",
            "instantiate",
            vec![
                Value::u128(0),
                dry.gas_limit_value(),
                dry.storage_limit_value(),
                Value::from_bytes(code_hash),
                Value::from_bytes(input),
                Value::from_bytes(salt),
            ],
        );
        let submitted = self.submit_included(signer, &tx).await?;
        submitted
            .instantiated
            .ok_or(ClientError::MissingEvent("Contracts.Instantiated"))
    }

    /// Dry-runs a message: what it would answer, and the weight and deposit it needs.
    pub async fn dry_run(
        &self,
        origin: &AccountId32,
        contract: &AccountId32,
        value: u128,
        input: &[u8],
    ) -> Result<DryRun, ClientError> {
        let at = self.best_block().await?;
        exec::dry_run_call(&self.api, at, origin, contract, value, input).await
    }

    /// Reads a getter's answer.
    pub async fn query<T: Decode>(
        &self,
        contract: &AccountId32,
        input: &[u8],
    ) -> Result<T, ClientError> {
        self.query_at(self.best_block().await?, contract, input)
            .await
    }

    /// Reads a getter's answer as of block `at` (an audit compares the chain with a read
    /// model at the very block the read model has reached).
    pub async fn query_at<T: Decode>(
        &self,
        at: subxt::utils::H256,
        contract: &AccountId32,
        input: &[u8],
    ) -> Result<T, ClientError> {
        // Any account may ask; the contract itself is a fine origin for a read.
        let dry = exec::dry_run_call(&self.api, at, contract, contract, 0, input).await?;
        dry.answer()
    }

    /// Every perk of a release, read page by page (a release answers at most
    /// `PERKS_PAGE` per call so the largest perks fit its return buffer).
    pub async fn perks(
        &self,
        release: &AccountId32,
    ) -> Result<Vec<dreamster_types::perk::Perk>, ClientError> {
        self.perks_at(self.best_block().await?, release).await
    }

    /// Every perk of a release as of block `at`.
    pub async fn perks_at(
        &self,
        at: subxt::utils::H256,
        release: &AccountId32,
    ) -> Result<Vec<dreamster_types::perk::Perk>, ClientError> {
        use dreamster_types::release::{MAX_PERKS_PER_RELEASE, PERKS_PAGE};
        let mut all = Vec::new();
        let mut from = 0;
        while from < MAX_PERKS_PER_RELEASE {
            let page: Vec<dreamster_types::perk::Perk> = self
                .query_at(
                    at,
                    release,
                    &dreamster_calls::release::perks(from, PERKS_PAGE),
                )
                .await?;
            let read = u32::try_from(page.len()).unwrap_or(u32::MAX);
            all.extend(page);
            if read < PERKS_PAGE {
                break;
            }
            from = from.saturating_add(read);
        }
        Ok(all)
    }

    /// Dry-runs, and only if the contract accepts the call (`Ok` of its `Result` answer),
    /// signs and submits it. Returns the contract's answer and what the block recorded.
    pub async fn call<T: Decode, E: Decode>(
        &self,
        signer: &Keypair,
        contract: &AccountId32,
        value: u128,
        input: Vec<u8>,
    ) -> Result<Result<(T, Submitted), E>, ClientError> {
        let origin = signer.public_key().to_account_id();
        let dry = self.dry_run(&origin, contract, value, &input).await?;
        let answer: Result<T, E> = dry.answer()?;
        let value_out = match answer {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let tx = subxt::dynamic::tx(
            "Contracts",
            "call",
            vec![
                Value::unnamed_variant("Id", [Value::from_bytes(contract.0)]),
                Value::u128(value),
                dry.gas_limit_value(),
                dry.storage_limit_value(),
                Value::from_bytes(input),
            ],
        );
        let submitted = self.submit(signer, &tx).await?;
        Ok(Ok((value_out, submitted)))
    }

    /// A contract call as a runtime call, for [`Node::submit_batch`]: the weight and
    /// deposit limits come from `dry`, a dry run of the same call.
    pub fn batched_call(
        contract: &AccountId32,
        value: u128,
        input: Vec<u8>,
        dry: &DryRun,
    ) -> Value {
        Value::unnamed_variant(
            "Contracts",
            [Value::named_variant(
                "call",
                call_fields(contract, value, input, dry),
            )],
        )
    }

    /// A contract call as a transaction of its own, to sign with an explicit nonce and
    /// submit without waiting; limits from `dry` as for [`Node::batched_call`].
    pub fn call_tx(
        contract: &AccountId32,
        value: u128,
        input: Vec<u8>,
        dry: &DryRun,
    ) -> subxt::tx::DynamicPayload {
        subxt::dynamic::tx(
            "Contracts",
            "call",
            subxt::ext::scale_value::Composite::named(call_fields(contract, value, input, dry)),
        )
    }

    /// Submits runtime calls as one `Utility.batch_all`: all of them happen, or none.
    pub async fn submit_batch(
        &self,
        signer: &Keypair,
        calls: Vec<Value>,
    ) -> Result<Submitted, ClientError> {
        self.submit_utility(signer, "batch_all", calls).await
    }

    /// Submits runtime calls as one `Utility.force_batch`: each happens or fails on its
    /// own (a contract call refused by the time it is included does not undo the others).
    pub async fn submit_each(
        &self,
        signer: &Keypair,
        calls: Vec<Value>,
    ) -> Result<Submitted, ClientError> {
        self.submit_utility(signer, "force_batch", calls).await
    }

    async fn submit_utility(
        &self,
        signer: &Keypair,
        batch: &str,
        calls: Vec<Value>,
    ) -> Result<Submitted, ClientError> {
        let tx = subxt::dynamic::tx("Utility", batch, vec![Value::unnamed_composite(calls)]);
        self.submit(signer, &tx).await
    }

    /// The most weight one normal transaction may use on this chain
    /// (`System.BlockWeights`, `per_class.normal.max_extrinsic`); `None` if the runtime
    /// does not say.
    pub fn max_extrinsic_weight(&self) -> Option<Weight> {
        let query = subxt::dynamic::constant("System", "BlockWeights");
        let weights = self.api.constants().at(&query).ok()?.to_value().ok()?;
        // `Option<Weight>`: the variant `Some`, whose one field is the weight.
        let max = weights
            .at("per_class")?
            .at("normal")?
            .at("max_extrinsic")?
            .at(0)?;
        Some(Weight {
            ref_time: u64::try_from(max.at("ref_time")?.as_u128()?).ok()?,
            proof_size: u64::try_from(max.at("proof_size")?.as_u128()?).ok()?,
        })
    }

    /// The chain's time at the best block (ms): what contracts read as `block_timestamp`
    /// in a dry run now.
    pub async fn chain_time(&self) -> Result<u64, ClientError> {
        let query = subxt::dynamic::storage("Timestamp", "Now", ());
        let storage = self.api.storage().at(self.best_block().await?);
        let now = storage
            .fetch(&query)
            .await?
            .ok_or(ClientError::Dispatch("Timestamp.Now is not set".into()))?
            .to_value()?
            .as_u128()
            .ok_or(ClientError::Dispatch(
                "Timestamp.Now is not a number".into(),
            ))?;
        u64::try_from(now).map_err(|_| ClientError::Dispatch("Timestamp.Now is beyond u64".into()))
    }

    /// Signs `tx` with the account's next nonce (counting its transactions still pending)
    /// and follows it to finality.
    pub async fn submit<Call: subxt::tx::Payload>(
        &self,
        signer: &Keypair,
        tx: &Call,
    ) -> Result<Submitted, ClientError> {
        Ok(self.submit_included(signer, tx).await?.into())
    }

    async fn submit_included<Call: subxt::tx::Payload>(
        &self,
        signer: &Keypair,
        tx: &Call,
    ) -> Result<exec::Included, ClientError> {
        exec::submit(&self.api, &self.rpc, signer, tx).await
    }
}

fn call_fields(
    contract: &AccountId32,
    value: u128,
    input: Vec<u8>,
    dry: &DryRun,
) -> [(&'static str, Value); 5] {
    [
        (
            "dest",
            Value::unnamed_variant("Id", [Value::from_bytes(contract.0)]),
        ),
        ("value", Value::u128(value)),
        ("gas_limit", dry.gas_limit_value()),
        ("storage_deposit_limit", dry.storage_limit_value()),
        ("data", Value::from_bytes(input)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dreamster_types::events::{emitted, DreamsterEvent, EditionSold};

    /// `ss58` spells every account as subxt does: the extremes (a key of zeros, one of
    /// 0xff) and 5 000 keys spread by a hash, some with leading zero bytes. (The prefix
    /// byte, 42, always comes first, so base58's leading-zero case never arises.)
    #[test]
    fn ss58_is_subxts_text() {
        use blake2::{Blake2b, Digest};
        let mut keys = vec![[0u8; 32], [0xff; 32]];
        keys.extend((0u32..5_000).map(|i| {
            let mut key: [u8; 32] =
                Blake2b::<blake2::digest::consts::U32>::digest(i.to_le_bytes()).into();
            key[..usize::try_from(i % 4).unwrap_or(0)].fill(0);
            key
        }));
        for key in keys {
            assert_eq!(
                ss58(&key),
                AccountId32(key).to_string(),
                "{}",
                hex::encode(key)
            );
        }
    }

    fn record(contract: [u8; 32], event: &EditionSold, index: u32) -> ContractEvent {
        let (signature, data) = emitted(event);
        ContractEvent {
            contract: AccountId32(contract),
            topics: vec![subxt::utils::H256(signature)],
            data,
            event_index: index,
            extrinsic_index: Some(1),
        }
    }

    fn sold(edition: u32, buyer: u8) -> EditionSold {
        EditionSold {
            edition,
            buyer: dreamster_types::AccountId::from([buyer; 32]),
            price: 10,
            entitlements: vec![(0, 3)],
            artist_share: 7,
            at: 0,
        }
    }

    /// What a transaction did is read from its own events: the sale to this buyer by this
    /// release, not another release's event or another buyer's in the same block.
    #[test]
    fn find_picks_the_matching_event_of_the_matching_contract() {
        let release = [7u8; 32];
        let done = Submitted {
            block_hash: subxt::utils::H256::zero(),
            block_number: 1,
            extrinsic_index: 1,
            events: vec![
                record([8; 32], &sold(0, 1), 0),
                record(release, &sold(4, 2), 1),
                record(release, &sold(5, 1), 2),
            ],
        };
        let mine = dreamster_types::AccountId::from([1u8; 32]);
        let got = done.find(&AccountId32(release), "EditionSold", |e| match e {
            DreamsterEvent::EditionSold(s) if s.buyer == mine => Some(s.edition),
            _ => None,
        });
        assert_eq!(got.ok(), Some(5));
        let none = done.find(&AccountId32([9; 32]), "EditionSold", |_| Some(()));
        assert!(matches!(
            none,
            Err(ClientError::MissingEvent("EditionSold"))
        ));
    }
}
