//! The wire formats of pallet-contracts' runtime API and extrinsics.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use subxt::dynamic::Value;
use subxt::events::StaticEvent;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::utils::{AccountId32, H256};
use subxt_signer::sr25519::Keypair;

use crate::{Api, ClientError, Submitted};

/// pallet-contracts' weight: computation time and proof size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Weight {
    #[codec(compact)]
    pub ref_time: u64,
    #[codec(compact)]
    pub proof_size: u64,
}

#[derive(Debug, Clone, Copy, Decode)]
enum StorageDeposit {
    Refund(#[allow(dead_code)] u128),
    Charge(u128),
}

/// The part of `ContractResult` before `events` (whose type is the runtime's own).
#[derive(Debug, Decode)]
struct ResultHead {
    gas_consumed: Weight,
    gas_required: Weight,
    storage_deposit: StorageDeposit,
    _debug_message: Vec<u8>,
}

const REVERT: u32 = 1;

/// What a dry run said.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub gas_consumed: Weight,
    pub gas_required: Weight,
    /// The storage deposit the call would charge (0 if it refunds).
    pub storage_charge: u128,
    pub reverted: bool,
    /// The SCALE-encoded `MessageResult` the contract returned.
    pub data: Vec<u8>,
    /// Submit with a deposit limit of exactly what the dry run charged, even 0 (otherwise
    /// a dry run that charges nothing is submitted with no limit at all).
    pub exact_deposit: bool,
}

impl DryRun {
    /// The contract's answer, decoded.
    pub fn answer<T: Decode>(&self) -> Result<T, ClientError> {
        if self.reverted && self.data.is_empty() {
            return Err(ClientError::Trapped);
        }
        Ok(dreamster_calls::decode_answer::<T>(&self.data)?)
    }

    /// The gas limit to submit with: what the dry run needed, plus a margin, since state
    /// may move between the dry run and inclusion.
    pub fn gas_limit(&self) -> Weight {
        let margin = |v: u64| v.saturating_add(v / 5);
        Weight {
            ref_time: margin(self.gas_required.ref_time),
            proof_size: margin(self.gas_required.proof_size),
        }
    }

    pub(crate) fn gas_limit_value(&self) -> Value {
        let limit = self.gas_limit();
        Value::named_composite([
            ("ref_time", Value::u128(u128::from(limit.ref_time))),
            ("proof_size", Value::u128(u128::from(limit.proof_size))),
        ])
    }

    pub(crate) fn storage_limit_value(&self) -> Value {
        if self.exact_deposit {
            Value::unnamed_variant("Some", [Value::u128(self.storage_charge)])
        } else if self.storage_charge == 0 {
            Value::unnamed_variant("None", [])
        } else {
            let margin = self.storage_charge.saturating_add(self.storage_charge / 5);
            Value::unnamed_variant("Some", [Value::u128(margin)])
        }
    }
}

/// A runtime API answer taken whole: `call_raw` decodes its return type, and the answer
/// is the bare encoding of `ContractResult`, with no length prefix.
struct RawAnswer(Vec<u8>);

impl Decode for RawAnswer {
    fn decode<I: parity_scale_codec::Input>(
        input: &mut I,
    ) -> Result<Self, parity_scale_codec::Error> {
        let len = input.remaining_len()?.ok_or("answer of unknown length")?;
        let mut bytes = vec![0u8; len];
        input.read(&mut bytes)?;
        Ok(RawAnswer(bytes))
    }
}

pub(crate) fn code_hash(code: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(code).into()
}

fn dispatch_error(api: &Api, bytes: &[u8]) -> ClientError {
    match subxt::error::DispatchError::decode_from(bytes.to_vec(), api.metadata()) {
        Ok(e) => ClientError::Dispatch(e.to_string()),
        Err(e) => ClientError::Dispatch(format!("undecodable dispatch error: {e}")),
    }
}

fn read_head(api: &Api, bytes: &mut &[u8]) -> Result<(ResultHead, bool), ClientError> {
    let head = ResultHead::decode(bytes)?;
    let ok = match u8::decode(bytes)? {
        0 => true,
        1 => return Err(dispatch_error(api, bytes)),
        other => {
            return Err(ClientError::Dispatch(format!(
                "unknown result variant {other}"
            )))
        }
    };
    Ok((head, ok))
}

/// Calls a `ContractsApi` runtime function at block `at` and reads the result's head and
/// its `ExecReturnValue` (flags, output).
async fn contracts_api(
    api: &Api,
    at: H256,
    function: &str,
    args: &[u8],
) -> Result<DryRun, ClientError> {
    let RawAnswer(bytes) = api
        .runtime_api()
        .at(at)
        .call_raw(function, Some(args))
        .await?;
    let mut rest = &bytes[..];
    let (head, _) = read_head(api, &mut rest)?;
    let flags = u32::decode(&mut rest)?;
    let data = Vec::<u8>::decode(&mut rest)?;
    Ok(dry_run_from(head, flags, data))
}

fn dry_run_from(head: ResultHead, flags: u32, data: Vec<u8>) -> DryRun {
    DryRun {
        gas_consumed: head.gas_consumed,
        gas_required: head.gas_required,
        storage_charge: match head.storage_deposit {
            StorageDeposit::Charge(v) => v,
            StorageDeposit::Refund(_) => 0,
        },
        reverted: flags & REVERT != 0,
        data,
        exact_deposit: false,
    }
}

pub(crate) async fn dry_run_call(
    api: &Api,
    at: H256,
    origin: &AccountId32,
    contract: &AccountId32,
    value: u128,
    input: &[u8],
) -> Result<DryRun, ClientError> {
    let args = (
        origin,
        contract,
        value,
        Option::<Weight>::None,
        Option::<u128>::None,
        input,
    )
        .encode();
    contracts_api(api, at, "ContractsApi_call", &args).await
}

#[derive(Encode)]
enum Code {
    #[allow(dead_code)]
    Upload(Vec<u8>),
    Existing([u8; 32]),
}

pub(crate) async fn dry_run_instantiate(
    api: &Api,
    at: H256,
    origin: &AccountId32,
    code_hash: [u8; 32],
    input: &[u8],
    salt: &[u8],
) -> Result<DryRun, ClientError> {
    let args = (
        origin,
        0u128,
        Option::<Weight>::None,
        Option::<u128>::None,
        Code::Existing(code_hash),
        input,
        salt,
    )
        .encode();
    // The instantiate answer continues with the new account after the output, which the
    // dry run does not need.
    let dry = contracts_api(api, at, "ContractsApi_instantiate", &args).await?;
    if dry.reverted {
        return Err(ClientError::Dispatch(format!(
            "constructor reverted: 0x{}",
            hex(&dry.data)
        )));
    }
    Ok(dry)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Instantiated {
    #[allow(dead_code)]
    deployer: AccountId32,
    contract: AccountId32,
}

impl StaticEvent for Instantiated {
    const PALLET: &'static str = "Contracts";
    const EVENT: &'static str = "Instantiated";
}

/// `Contracts::ContractEmitted { contract: AccountId32, data: Vec<u8> }`.
struct ContractEmitted;

impl ContractEmitted {
    const PALLET: &'static str = "Contracts";
    const EVENT: &'static str = "ContractEmitted";
}

/// One `Contracts::ContractEmitted` record: the emitting contract, the SCALE-encoded event
/// and its topics (`topics[0]` is the event's signature topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEvent {
    pub contract: AccountId32,
    pub topics: Vec<H256>,
    pub data: Vec<u8>,
    /// The event's index among all of its block's events.
    pub event_index: u32,
    /// The extrinsic that caused it; `None` for block initialization or finalization.
    pub extrinsic_index: Option<u32>,
}

impl ContractEvent {
    /// The Dreamster event this record holds, decoded with the contracts' own definitions.
    pub fn dreamster(
        &self,
    ) -> Result<dreamster_types::events::DreamsterEvent, dreamster_types::events::EventDecodeError>
    {
        let topics: Vec<[u8; 32]> = self.topics.iter().map(|t| t.0).collect();
        dreamster_types::events::DreamsterEvent::decode(&topics, &self.data)
    }

    /// Whether a chain event record is a `Contracts::ContractEmitted`.
    pub fn is_emitted(details: &subxt::events::EventDetails<subxt::PolkadotConfig>) -> bool {
        details.pallet_name() == ContractEmitted::PALLET
            && details.variant_name() == ContractEmitted::EVENT
    }

    /// Reads a chain event record, if it is a contract event.
    pub fn from_details(
        details: &subxt::events::EventDetails<subxt::PolkadotConfig>,
    ) -> Result<Option<Self>, ClientError> {
        if !Self::is_emitted(details) {
            return Ok(None);
        }
        // The field names are the layout's first check (a runtime that changed them
        // changed the event); the shapes are checked by decoding exactly all the bytes.
        let names: Vec<Option<&str>> = details
            .event_metadata()
            .variant
            .fields
            .iter()
            .map(|f| f.name.as_deref())
            .collect();
        if names != [Some("contract"), Some("data")] {
            return Err(ClientError::UnknownEventLayout(format!("{names:?}")));
        }
        // The metadata walk that cut this event out already checked its fields against the
        // runtime's types; SCALE's own decoding of those bytes (all of them, or an error)
        // is a memcpy for `data`, where decoding through the type registry visits every
        // byte: most of a backfill's decoding time.
        let (contract, data) = <([u8; 32], Vec<u8>)>::decode_all(&mut details.field_bytes())?;
        Ok(Some(ContractEvent {
            contract: AccountId32(contract),
            topics: details.topics().to_vec(),
            data,
            event_index: details.index(),
            extrinsic_index: match details.phase() {
                subxt::events::Phase::ApplyExtrinsic(i) => Some(i),
                _ => None,
            },
        }))
    }
}

pub(crate) struct Included {
    pub block_hash: H256,
    pub block_number: u32,
    pub extrinsic_index: u32,
    pub events: Vec<ContractEvent>,
    pub instantiated: Option<AccountId32>,
}

impl From<Included> for Submitted {
    fn from(i: Included) -> Self {
        Submitted {
            block_hash: i.block_hash,
            block_number: i.block_number,
            extrinsic_index: i.extrinsic_index,
            events: i.events,
        }
    }
}

pub(crate) async fn submit<Call: subxt::tx::Payload>(
    api: &Api,
    rpc: &crate::Rpc,
    signer: &Keypair,
    tx: &Call,
) -> Result<Included, ClientError> {
    // The next nonce as the node sees it (best block and pool), not subxt's default (the
    // finalized block's): a second transaction sent before the first is final would
    // otherwise reuse its nonce and be refused as outdated.
    let nonce = rpc
        .system_account_next_index(&signer.public_key().to_account_id())
        .await?;
    let params =
        subxt::config::polkadot::PolkadotExtrinsicParamsBuilder::<subxt::PolkadotConfig>::new()
            .nonce(nonce)
            .build();
    let progress = api
        .tx()
        .sign_and_submit_then_watch(tx, signer, params)
        .await?;
    let in_block = progress.wait_for_finalized().await?;
    let block_hash = in_block.block_hash();
    let events = match in_block.wait_for_success().await {
        Ok(events) => events,
        Err(subxt::Error::Runtime(e)) => return Err(ClientError::Dispatch(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let block_number = api.blocks().at(block_hash).await?.number();
    let mut contract_events = Vec::new();
    let mut instantiated = None;
    for details in events.iter() {
        let details = details?;
        if let Some(event) = ContractEvent::from_details(&details)? {
            contract_events.push(event);
        }
        if let Some(i) = details.as_event::<Instantiated>()? {
            instantiated = Some(i.contract);
        }
    }
    Ok(Included {
        block_hash,
        block_number,
        extrinsic_index: events.extrinsic_index(),
        events: contract_events,
        instantiated,
    })
}
