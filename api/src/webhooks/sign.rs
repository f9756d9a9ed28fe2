//! How a receiver knows a call is ours, and new. Each call carries
//! `X-Dreamster-Delivery: <id>`, `X-Dreamster-Timestamp: <unix seconds>` and
//! `X-Dreamster-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<id>.<body>">` under the
//! hook's key. Signing the time and the id with the body means a captured call cannot be
//! replayed later (the receiver refuses old timestamps) nor as another delivery (the id is
//! part of what is signed, and receivers keep the ids they have handled).

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const DELIVERY: &str = "x-dreamster-delivery";
pub const TIMESTAMP: &str = "x-dreamster-timestamp";
pub const SIGNATURE: &str = "x-dreamster-signature";

/// How old a call a receiver should still accept (our own calls time out in seconds).
pub const TOLERANCE_SECS: u64 = 300;

fn mac(secret: &str, timestamp: u64, delivery: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{delivery}.").as_bytes());
    mac.update(body);
    mac
}

/// The `X-Dreamster-Signature` value of a call.
pub fn signature(secret: &str, timestamp: u64, delivery: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(
            mac(secret, timestamp, delivery, body)
                .finalize()
                .into_bytes()
        )
    )
}

/// Why a receiver must not act on a call.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("the signature is not sha256=<64 hex digits>")]
    Malformed,
    #[error("the signature does not match the body, delivery id and timestamp")]
    Mismatch,
    #[error("the call was signed {age} s from now, outside ±{TOLERANCE_SECS} s: a replay or a wrong clock")]
    Stale { age: i64 },
}

/// What a receiver checks (this is what our tests' receivers run): the signature over the
/// timestamp, the delivery id and the body, in constant time, and the timestamp within
/// `TOLERANCE_SECS` of `now`. Deduplicating delivery ids is the receiver's own part.
pub fn verify(
    secret: &str,
    signature: &str,
    timestamp: u64,
    delivery: i64,
    body: &[u8],
    now: u64,
) -> Result<(), Rejected> {
    let hex_sig = signature
        .strip_prefix("sha256=")
        .ok_or(Rejected::Malformed)?;
    let given = hex::decode(hex_sig).map_err(|_| Rejected::Malformed)?;
    mac(secret, timestamp, delivery, body)
        .verify_slice(&given)
        .map_err(|_| Rejected::Mismatch)?;
    let age = i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(timestamp).unwrap_or(i64::MAX);
    if age.unsigned_abs() > TOLERANCE_SECS {
        return Err(Rejected::Stale { age });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y";
    const BODY: &[u8] = br#"{"event":"perk.unlocked"}"#;

    #[test]
    fn a_fresh_call_verifies() {
        let sig = signature(KEY, 1_000, 7, BODY);
        assert_eq!(verify(KEY, &sig, 1_000, 7, BODY, 1_010), Ok(()));
    }

    #[test]
    fn a_captured_call_cannot_be_replayed_or_relabelled() {
        let sig = signature(KEY, 1_000, 7, BODY);
        // The same call an hour later.
        assert_eq!(
            verify(KEY, &sig, 1_000, 7, BODY, 4_600),
            Err(Rejected::Stale { age: 3_600 })
        );
        // Re-sent with a fresh timestamp or as another delivery: the signature no longer fits.
        assert_eq!(
            verify(KEY, &sig, 4_600, 7, BODY, 4_600),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(KEY, &sig, 1_000, 8, BODY, 1_000),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(KEY, &sig, 1_000, 7, b"{}", 1_000),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify("other", &sig, 1_000, 7, BODY, 1_000),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(KEY, "md5=00", 1_000, 7, BODY, 1_000),
            Err(Rejected::Malformed)
        );
    }
}
