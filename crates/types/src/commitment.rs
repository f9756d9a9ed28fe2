//! What an automatic perk commits to on chain, and what a secret must be to be committed.
//!
//! The hash in `PerkAdded` is public the moment the perk is added. Unsalted, it let anyone
//! try guesses offline (a short or predictable link found without buying), and a code
//! pool's Merkle proof handed each holder the bare hashes of its neighbours' codes. So
//! every commitment is salted with 32 random bytes the artist picks:
//! - one secret: `H("dreamster/secret/v1" ‖ salt ‖ secret)`; the salt is handed over with
//!   the secret, to its holders only;
//! - a code pool: the artist picks one pool key; code `i`'s salt is
//!   `H("dreamster/code-salt/v1" ‖ key ‖ i)` and its leaf `H("dreamster/code/v1" ‖ salt ‖ code)`.
//!   A holder gets their own code's salt, never the key, so the sibling hashes in their
//!   proof cannot be tested against guesses.
//!
//! Salting stops offline guessing; it cannot make a guessable link safe where it is
//! served, so [`judge_secret`] refuses secrets with too little in them to guess.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{content_hash, Hash32};

/// 32 random bytes mixed into a commitment (or, for a pool, the key code salts come from).
pub type Salt = [u8; 32];

const SECRET_TAG: &[u8] = b"dreamster/secret/v1";
const CODE_SALT_TAG: &[u8] = b"dreamster/code-salt/v1";
const CODE_TAG: &[u8] = b"dreamster/code/v1";

fn tagged(tag: &[u8], salt: &Salt, rest: &[u8]) -> Hash32 {
    let mut all = Vec::with_capacity(tag.len().saturating_add(32).saturating_add(rest.len()));
    all.extend_from_slice(tag);
    all.extend_from_slice(salt);
    all.extend_from_slice(rest);
    content_hash(&all)
}

/// The commitment to one secret every holder gets.
pub fn secret_commitment(salt: &Salt, secret: &[u8]) -> Hash32 {
    tagged(SECRET_TAG, salt, secret)
}

/// The salt of the code at `index` (from 0, in the pool's order) under `pool_key`.
pub fn code_salt(pool_key: &Salt, index: u32) -> Salt {
    tagged(CODE_SALT_TAG, pool_key, &index.to_le_bytes())
}

/// A code's leaf in its pool's Merkle tree.
pub fn code_leaf(salt: &Salt, code: &[u8]) -> Hash32 {
    tagged(CODE_TAG, salt, code)
}

/// The fewest guesses a secret must need, as zxcvbn estimates them: 10^8, the bar of its
/// score 3 ("safely unguessable"). Salting already stops offline guessing, so this is about
/// guessing where the secret is used (a download host, an invite service), online and slow;
/// a higher bar would refuse ordinary 8-character invite codes, which zxcvbn rates at 10^9.
pub const MIN_GUESSES_LOG10: f64 = 8.0;

/// At most this many codes of a pool are judged (the first, the last, and evenly spaced
/// between): a pool made by a pattern (`CODE-0001`, `CODE-0002`…) fails on any of them,
/// and judging 100 000 codes would take seconds.
pub const CODES_JUDGED: usize = 16;

/// Why a secret is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct WeakSecret {
    /// The part that was judged (a link's path and query; else the whole secret).
    pub judged: String,
    /// log10 of the guesses zxcvbn estimates for it.
    pub guesses_log10: f64,
    /// For a pool: the 1-based position of the code.
    pub code: Option<usize>,
}

impl core::fmt::Display for WeakSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.code {
            Some(i) => alloc::format!("code {i}"),
            None => "the secret".into(),
        };
        write!(
            f,
            "{what} is too easy to guess ({:?} takes about 10^{:.1} guesses; at least 10^{MIN_GUESSES_LOG10:.0} are needed): \
             add random characters, e.g. a link with a long random token",
            self.judged, self.guesses_log10
        )
    }
}

/// The part of a secret a guesser does not know: for a link, everything after its host
/// (the scheme and host are usually public: the artist's download site, discord.gg…);
/// for anything else, all of it.
fn unknown_part(secret: &str) -> &str {
    let Some((_, rest)) = secret.split_once("://") else {
        return secret;
    };
    match rest.find(['/', '?', '#']) {
        Some(at) => &rest[at..],
        None => "",
    }
}

/// log10 of the guesses zxcvbn estimates for `text` (0 for empty text).
fn guesses_log10(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    // zxcvbn caps its count at u64::MAX; log10 of that (19.3) is far above the bar.
    (zxcvbn::zxcvbn(text, &[]).guesses() as f64).log10()
}

/// Whether a secret is hard enough to guess to be committed (the CLI and the wizard both
/// ask this before a perk goes on chain).
pub fn judge_secret(secret: &str) -> Result<(), WeakSecret> {
    let judged = unknown_part(secret.trim());
    let g = guesses_log10(judged);
    if g < MIN_GUESSES_LOG10 {
        return Err(WeakSecret {
            judged: judged.into(),
            guesses_log10: g,
            code: None,
        });
    }
    Ok(())
}

/// Whether a pool's codes are hard enough to guess, judged on up to [`CODES_JUDGED`] of them.
pub fn judge_codes<S: AsRef<str>>(codes: &[S]) -> Result<(), WeakSecret> {
    let n = codes.len();
    let picks = n.min(CODES_JUDGED);
    for k in 0..picks {
        // Evenly spaced from the first to the last.
        let i = k
            .saturating_mul(n.saturating_sub(1))
            .checked_div(picks.saturating_sub(1))
            .unwrap_or(0);
        if let Some(code) = codes.get(i) {
            judge_secret(code.as_ref()).map_err(|e| WeakSecret {
                code: Some(i.saturating_add(1)),
                ..e
            })?;
        }
    }
    Ok(())
}

/// A salt as text: `0x` and 64 hex digits, as the pages, the API and the CLI write it.
pub fn salt_hex(salt: &Salt) -> String {
    alloc::format!("0x{}", hex::encode(salt))
}

/// A salt from its text (`0x` optional).
pub fn parse_salt(text: &str) -> Result<Salt, String> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let bytes =
        hex::decode(digits).map_err(|e| alloc::format!("a salt is 32 bytes in hex: {e}"))?;
    Salt::try_from(bytes.as_slice())
        .map_err(|_| alloc::format!("a salt is 32 bytes in hex, not {}", bytes.len()))
}

/// A new random salt, from the operating system's generator.
pub fn new_salt() -> Result<Salt, getrandom::Error> {
    let mut salt = [0u8; 32];
    getrandom::getrandom(&mut salt)?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_depend_on_the_salt_and_keep_their_kinds_apart() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_ne!(secret_commitment(&a, b"x"), secret_commitment(&b, b"x"));
        assert_ne!(secret_commitment(&a, b"x"), content_hash(b"x"));
        // A code's leaf is never a secret's commitment under the same salt.
        assert_ne!(secret_commitment(&a, b"x"), code_leaf(&a, b"x"));
        assert_ne!(code_salt(&a, 0), code_salt(&a, 1));
        assert_ne!(code_salt(&a, 0), code_salt(&b, 0));
        assert_eq!(parse_salt(&salt_hex(&a)), Ok(a));
        assert!(parse_salt("0x0102").is_err());
        assert!(parse_salt("zz").is_err());
    }

    #[test]
    fn guessable_secrets_are_refused_and_random_ones_pass() {
        for weak in [
            "x",
            "password123",
            "https://dl.example.com/1",
            "https://dl.example.com/secret",
            "https://discord.gg/",
            "https://dl.example.com/?id=1234",
        ] {
            assert!(judge_secret(weak).is_err(), "{weak}");
        }
        for strong in [
            "https://dl.example.com/s/8f3kq9x2m1p7",
            "https://discord.gg/q7XkPz3vR9tB",
            "K7QF-9XPA-M2ZR-4TLW",
        ] {
            assert_eq!(judge_secret(strong), Ok(()), "{strong}");
        }
        let err = judge_secret("https://dl.example.com/1").expect_err("weak");
        assert_eq!(err.judged, "/1");
        assert!(err.to_string().contains("too easy to guess"), "{err}");
    }

    #[test]
    fn a_pool_made_by_a_pattern_is_refused() {
        let sequential: Vec<String> = (0..1000).map(|i| alloc::format!("CODE-{i:04}")).collect();
        let err = judge_codes(&sequential).expect_err("sequential codes");
        assert_eq!(err.code, Some(1));
        let random: Vec<String> = (0..1000u32)
            .map(|i| hex::encode(content_hash(&i.to_le_bytes()))[..16].into())
            .collect();
        assert_eq!(judge_codes(&random), Ok(()));
        // One weak code among random ones is found when it is among those judged: the last.
        let mut one_weak = random.clone();
        one_weak[999] = "1234".into();
        assert_eq!(judge_codes(&one_weak).map_err(|e| e.code), Err(Some(1000)));
    }
}
