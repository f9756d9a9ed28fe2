//! Who signs: a Substrate secret URI from a flag, a file or the environment (the CLI's
//! `--suri`/`--suri-file`, the keeper's `--suri-file`).

use std::path::Path;
use std::str::FromStr;

use subxt_signer::sr25519::Keypair;
use subxt_signer::SecretUri;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no account to sign with: pass --suri (e.g. //Alice or a mnemonic), --suri-file, or set DREAMSTER_SURI")]
    Missing,
    #[error("cannot read the secret URI file {0}: {1}")]
    File(String, std::io::Error),
    #[error("the secret URI is not valid (expected //Alice, a mnemonic, or 0x seed with optional //paths)")]
    Invalid,
}

/// The keypair of `--suri` or the first line of `--suri-file` (flag first, then file).
pub fn signer(suri: Option<&str>, suri_file: Option<&Path>) -> Result<Keypair, AccountError> {
    let text = match (suri, suri_file) {
        (Some(s), _) => s.to_string(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| AccountError::File(path.display().to_string(), e))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        (None, None) => return Err(AccountError::Missing),
    };
    // Never echo the secret back in an error.
    let uri = SecretUri::from_str(text.trim()).map_err(|_| AccountError::Invalid)?;
    Keypair::from_uri(&uri).map_err(|_| AccountError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_uris_mnemonics_and_garbage() {
        let alice = signer(Some("//Alice"), None).expect("//Alice");
        assert_eq!(
            alice.public_key().to_account_id().to_string(),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        let from_phrase = signer(Some(&format!("{phrase}//Alice")), None).expect("phrase");
        assert_eq!(from_phrase.public_key().0, alice.public_key().0);
        assert!(matches!(signer(None, None), Err(AccountError::Missing)));
        assert!(matches!(
            signer(Some("not a secret"), None),
            Err(AccountError::Invalid)
        ));
    }
}
