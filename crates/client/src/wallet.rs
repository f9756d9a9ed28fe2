//! Transactions signed by a browser wallet extension: the node side builds the payload
//! the extension signs (polkadot.js' `SignerPayloadJSON`, which polkadot.js, Talisman and
//! SubWallet all take in `signer.signPayload`), and turns the signature it returns into a
//! submitted extrinsic. No SCALE is written by the browser: the call data comes from the
//! same builders the CLI uses, the signing payload from subxt.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use subxt::config::polkadot::PolkadotExtrinsicParamsBuilder;
use subxt::tx::TxProgress;
use subxt::utils::{AccountId32, Era, MultiAddress, MultiSignature, H256};
use subxt::PolkadotConfig;

use crate::{Api, ClientError, Node};

/// How many blocks a prepared transaction stays valid: long enough for a person to read
/// the wallet's prompt (64 blocks is 6 minutes at 6 s blocks), short enough that a
/// forgotten signature cannot be replayed into a much later state.
pub const MORTAL_PERIOD: u64 = 64;

/// polkadot.js' `SignerPayloadJSON`: every field as the extensions expect it (numbers as
/// 0x hex of their fixed-width encoding, the call as 0x hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerPayload {
    pub address: String,
    pub block_hash: String,
    pub block_number: String,
    pub era: String,
    pub genesis_hash: String,
    pub method: String,
    pub nonce: String,
    pub signed_extensions: Vec<String>,
    pub spec_version: String,
    pub tip: String,
    pub transaction_version: String,
    pub version: u8,
}

/// Why a wallet's signed payload cannot be submitted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedPayloadError {
    #[error("the payload's {0} is not what this API prepares (valid hex of the right length, no tip, version 4)")]
    Field(&'static str),
    #[error("the payload is for another chain or runtime version: prepare the transaction again")]
    StaleRuntime,
    #[error(
        "the signature is not a MultiSignature (0x01 + 64 bytes for sr25519, 0x00 for ed25519)"
    )]
    SignatureFormat,
    #[error(
        "the signature does not match this payload and account: the wallet signed something else"
    )]
    BadSignature,
    #[error("only sr25519 accounts can sign here for now (the default of polkadot.js, Talisman and SubWallet)")]
    UnsupportedScheme,
    #[error("this transaction's nonce is not the account's next one (another transaction went first): prepare it again")]
    StaleNonce,
}

/// A call given as its encoded bytes (built by the call builders, checked by the runtime).
struct RawCall(Vec<u8>);

impl subxt::tx::Payload for RawCall {
    fn encode_call_data_to(
        &self,
        _metadata: &subxt::Metadata,
        out: &mut Vec<u8>,
    ) -> Result<(), subxt::ext::subxt_core::Error> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(field: &'static str, text: &str) -> Result<Vec<u8>, SignedPayloadError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|_| SignedPayloadError::Field(field))
}

/// A fixed-width big-endian hex number, as polkadot.js writes `u32`/`u128` (`0x0000002a`).
fn number(field: &'static str, text: &str) -> Result<u128, SignedPayloadError> {
    let bytes = unhex(field, text)?;
    if bytes.len() > 16 {
        return Err(SignedPayloadError::Field(field));
    }
    Ok(bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

fn hash(field: &'static str, text: &str) -> Result<H256, SignedPayloadError> {
    let bytes: [u8; 32] = unhex(field, text)?
        .try_into()
        .map_err(|_| SignedPayloadError::Field(field))?;
    Ok(H256(bytes))
}

fn params(
    nonce: u64,
    block_number: u64,
    block_hash: H256,
) -> <subxt::config::DefaultExtrinsicParams<PolkadotConfig> as subxt::config::ExtrinsicParams<
    PolkadotConfig,
>>::Params {
    PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new()
        .nonce(nonce)
        .mortal_unchecked(block_number, block_hash, MORTAL_PERIOD)
        .build()
}

fn signed_extensions(api: &Api) -> Vec<String> {
    api.metadata()
        .extrinsic()
        .signed_extensions()
        .iter()
        .map(|e| e.identifier().to_string())
        .collect()
}

impl Node {
    /// The payload a wallet signs for `call_data` from `signer`, valid from the best block
    /// for [`MORTAL_PERIOD`] blocks, with the account's next nonce (counting transactions
    /// still in the pool).
    pub async fn signer_payload(
        &self,
        signer: &AccountId32,
        call_data: Vec<u8>,
    ) -> Result<SignerPayload, ClientError> {
        let best = self.best_block().await?;
        let header = self
            .rpc()
            .chain_get_header(Some(best))
            .await?
            .ok_or(ClientError::Dispatch("the best block has no header".into()))?;
        let nonce = self.rpc().system_account_next_index(signer).await?;
        let nonce = u32::try_from(nonce)
            .map_err(|_| ClientError::Dispatch("account nonce beyond u32".into()))?;
        let version = self.api().runtime_version();
        let number = u64::from(header.number);
        Ok(SignerPayload {
            address: signer.to_string(),
            block_hash: hex0x(&best.0),
            block_number: hex0x(&header.number.to_be_bytes()),
            era: hex0x(&Era::mortal(MORTAL_PERIOD, number).encode()),
            genesis_hash: hex0x(&self.api().genesis_hash().0),
            method: hex0x(&call_data),
            nonce: hex0x(&nonce.to_be_bytes()),
            signed_extensions: signed_extensions(self.api()),
            spec_version: hex0x(&version.spec_version.to_be_bytes()),
            tip: hex0x(&0u128.to_be_bytes()),
            transaction_version: hex0x(&version.transaction_version.to_be_bytes()),
            version: 4,
        })
    }

    /// The bytes a wallet's `signPayload` signs for `payload` (what polkadot.js signs:
    /// the call, the signed extensions' data and the implicit data, hashed if longer than
    /// 256 bytes), once every field is checked against this chain and runtime.
    pub fn signing_bytes(&self, payload: &SignerPayload) -> Result<Vec<u8>, ClientError> {
        Ok(self.partial(payload)?.signer_payload())
    }

    fn partial(
        &self,
        payload: &SignerPayload,
    ) -> Result<subxt::tx::PartialExtrinsic<PolkadotConfig, Api>, ClientError> {
        let version = self.api().runtime_version();
        // What we never prepare is the client's mistake; another chain or runtime is
        // the user's situation (prepare again).
        if number("tip", &payload.tip)? != 0 {
            return Err(SignedPayloadError::Field("tip").into());
        }
        if payload.version != 4 {
            return Err(SignedPayloadError::Field("version").into());
        }
        if hash("genesisHash", &payload.genesis_hash)? != self.api().genesis_hash()
            || number("specVersion", &payload.spec_version)? != u128::from(version.spec_version)
            || number("transactionVersion", &payload.transaction_version)?
                != u128::from(version.transaction_version)
        {
            return Err(SignedPayloadError::StaleRuntime.into());
        }
        let block_number = u64::try_from(number("blockNumber", &payload.block_number)?)
            .map_err(|_| SignedPayloadError::Field("blockNumber"))?;
        if unhex("era", &payload.era)? != Era::mortal(MORTAL_PERIOD, block_number).encode() {
            return Err(SignedPayloadError::Field("era").into());
        }
        let nonce = u64::try_from(number("nonce", &payload.nonce)?)
            .map_err(|_| SignedPayloadError::Field("nonce"))?;
        let call = RawCall(unhex("method", &payload.method)?);
        Ok(self.api().tx().create_partial_signed_offline(
            &call,
            params(nonce, block_number, hash("blockHash", &payload.block_hash)?),
        )?)
    }

    /// Checks a wallet's signature over `payload` and submits the signed extrinsic. The
    /// signature is verified here first, so a wallet that signed something else gets a
    /// clear answer instead of the pool's "bad proof".
    pub async fn submit_signed(
        &self,
        payload: &SignerPayload,
        signature: &str,
    ) -> Result<TxProgress<PolkadotConfig, Api>, ClientError> {
        let account = crate::parse_address(&payload.address)
            .map_err(|_| SignedPayloadError::Field("address"))?;
        let partial = self.partial(payload)?;
        let sig_bytes = unhex("signature", signature)?;
        let sig = MultiSignature::decode(&mut &sig_bytes[..])
            .map_err(|_| SignedPayloadError::SignatureFormat)?;
        verifies(&sig, &partial.signer_payload(), &account)?;
        // Only the next nonce: a transaction with a future one would wait in the pool
        // without ever paying, holding a subscription of ours open meanwhile. (Checked
        // after the signature, so nobody learns an account's nonce from our answers.)
        let nonce = u64::try_from(number("nonce", &payload.nonce)?)
            .map_err(|_| SignedPayloadError::Field("nonce"))?;
        if nonce != self.rpc().system_account_next_index(&account).await? {
            return Err(SignedPayloadError::StaleNonce.into());
        }
        let tx = partial.sign_with_address_and_signature(&MultiAddress::Id(account), &sig);
        Ok(tx.submit_and_watch().await?)
    }
}

fn verifies(
    sig: &MultiSignature,
    message: &[u8],
    account: &AccountId32,
) -> Result<(), SignedPayloadError> {
    match sig {
        MultiSignature::Sr25519(s) => subxt_signer::sr25519::verify(
            &subxt_signer::sr25519::Signature(*s),
            message,
            &subxt_signer::sr25519::PublicKey(account.0),
        )
        .then_some(())
        .ok_or(SignedPayloadError::BadSignature),
        // Checked here before anything reaches the node; the other schemes are not yet.
        _ => Err(SignedPayloadError::UnsupportedScheme),
    }
}

/// Where a submitted transaction has got to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Accepted by the node's pool.
    Signed {
        tx_hash: String,
    },
    InBlock {
        block_hash: String,
    },
    Finalized {
        block_hash: String,
        block_number: u32,
        /// The contract's own refusal or the runtime's, if the call failed in the block.
        failed: Option<String>,
    },
    Dropped {
        reason: String,
    },
}

/// Follows a submitted transaction to finality, reporting each stage to `report`.
pub async fn follow(
    node: &Node,
    mut progress: TxProgress<PolkadotConfig, Api>,
    mut report: impl FnMut(Stage),
) -> Result<Stage, ClientError> {
    use subxt::tx::TxStatus;
    report(Stage::Signed {
        tx_hash: hex0x(&progress.extrinsic_hash().0),
    });
    while let Some(status) = progress.next().await {
        match status? {
            TxStatus::InBestBlock(b) => report(Stage::InBlock {
                block_hash: hex0x(&b.block_hash().0),
            }),
            TxStatus::InFinalizedBlock(b) => {
                let block_hash = b.block_hash();
                let failed = match b.wait_for_success().await {
                    Ok(_) => None,
                    Err(subxt::Error::Runtime(e)) => Some(e.to_string()),
                    Err(e) => return Err(e.into()),
                };
                let block_number = node.api().blocks().at(block_hash).await?.number();
                let done = Stage::Finalized {
                    block_hash: hex0x(&block_hash.0),
                    block_number,
                    failed,
                };
                report(done.clone());
                return Ok(done);
            }
            TxStatus::Error { message }
            | TxStatus::Invalid { message }
            | TxStatus::Dropped { message } => {
                let done = Stage::Dropped { reason: message };
                report(done.clone());
                return Ok(done);
            }
            _ => {}
        }
    }
    let done = Stage::Dropped {
        reason: "the node stopped reporting on the transaction".into(),
    };
    report(done.clone());
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_polkadot_js_writes_them() {
        assert_eq!(number("n", "0x0000002a"), Ok(42));
        assert_eq!(number("n", "0x00000000000000000000000000000001"), Ok(1));
        assert!(number("n", "0xzz").is_err());
        assert!(number("n", &format!("0x{}", "00".repeat(17))).is_err());
        assert!(hash("h", "0x12").is_err());
    }
}
