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
    #[error("{path} can be read by other users (mode {mode:03o}): run `chmod 600 {path}` first")]
    Exposed { path: String, mode: u32 },
}

/// The first line of a file that holds a secret, refused if other users can read it
/// (group or world permission bits), since then the secret is not one any more.
pub fn read_private(path: &Path) -> Result<String, AccountError> {
    Ok(read_private_text(path)?
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// The whole text of a file that holds secrets (a pool of per-fan codes), refused if
/// other users can read it.
pub fn read_private_text(path: &Path) -> Result<String, AccountError> {
    use std::io::Read;
    let shown = path.display().to_string();
    // One open: the permissions checked are those of the file then read, even if the
    // name is swapped in between.
    let mut file = std::fs::File::open(path).map_err(|e| AccountError::File(shown.clone(), e))?;
    let meta = file
        .metadata()
        .map_err(|e| AccountError::File(shown.clone(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AccountError::Exposed { path: shown, mode });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| AccountError::File(shown, e))?;
    Ok(text)
}

/// Whether a secret URI is one of the dev chain's well-known accounts (`//Alice`, `//Bob//stash`,
/// …: a derivation of the public dev phrase), which is no secret to leak.
pub fn is_dev_uri(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("//") && !t.contains(' ') && !t.contains("///")
}

/// The keypair of `--suri` or the first line of `--suri-file` (flag first, then file; the
/// file must be readable by its owner only).
pub fn signer(suri: Option<&str>, suri_file: Option<&Path>) -> Result<Keypair, AccountError> {
    let text = match (suri, suri_file) {
        (Some(s), _) => s.to_string(),
        (None, Some(path)) => read_private(path)?,
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
        assert!(is_dev_uri("//Alice") && is_dev_uri("//Bob//stash"));
        assert!(
            !is_dev_uri(phrase)
                && !is_dev_uri("0x1234")
                && !is_dev_uri(&format!("{phrase}//Alice"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dreamster-suri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("suri");
        std::fs::write(&path, "//Alice\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        match signer(None, Some(&path)) {
            Err(AccountError::Exposed { mode, .. }) => assert_eq!(mode, 0o644),
            other => panic!("not refused: {:?}", other.map(|k| k.public_key().0)),
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(signer(None, Some(&path)).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
