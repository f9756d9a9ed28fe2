//! Amounts and times as people type and read them; the dev chain's token has 12 decimals,
//! shown as "UNIT". One definition for the CLI, the API and the pages.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

pub const DECIMALS: u32 = 12;
pub const SYMBOL: &str = "UNIT";
pub const UNIT: u128 = 10u128.pow(DECIMALS);

/// The smallest unit → "2.5 UNIT".
pub fn fmt_amount(value: u128) -> String {
    let whole = value / UNIT;
    let frac = value % UNIT;
    if frac == 0 {
        format!("{whole} {SYMBOL}")
    } else {
        let digits = format!("{frac:0width$}", width = DECIMALS as usize);
        format!("{whole}.{} {SYMBOL}", digits.trim_end_matches('0'))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    #[error("{0:?} is not an amount (e.g. 10 or 2.5)")]
    Amount(String),
    #[error("{0:?} has more than {DECIMALS} decimals")]
    Precision(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
    #[error(
        "{0:?} is not a time: use 2026-12-01, 2026-12-01T14:00:00Z, or +30d / +12h / +15m / +90s"
    )]
    Time(String),
}

/// "10", "2.5", "0.000000000001" → the chain's smallest unit.
pub fn parse_amount(text: &str) -> Result<u128, UnitError> {
    let s = text.trim();
    let bad = || UnitError::Amount(text.to_string());
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > DECIMALS as usize {
        return Err(UnitError::Precision(text.to_string()));
    }
    let too_large = || UnitError::TooLarge(text.to_string());
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        let digits: u128 = frac.parse().map_err(|_| bad())?;
        digits * 10u128.pow(DECIMALS - frac.len() as u32)
    };
    whole
        .checked_mul(UNIT)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(too_large)
}

/// A time as milliseconds since the Unix epoch: absolute (RFC 3339 or a date, taken as
/// midnight UTC) or relative to `now_ms` ("+30d").
pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, UnitError> {
    let s = text.trim();
    let bad = || UnitError::Time(text.to_string());
    if let Some(rel) = s.strip_prefix('+') {
        let (n, unit) = rel.split_at(rel.len().saturating_sub(1));
        let n: u64 = n.parse().map_err(|_| bad())?;
        let ms = match unit {
            "d" => n.checked_mul(86_400_000),
            "h" => n.checked_mul(3_600_000),
            "m" => n.checked_mul(60_000),
            "s" => n.checked_mul(1_000),
            _ => None,
        };
        return ms.and_then(|ms| now_ms.checked_add(ms)).ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return u64::try_from(t.timestamp_millis()).map_err(|_| bad());
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
    let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
    u64::try_from(Utc.from_utc_datetime(&midnight).timestamp_millis()).map_err(|_| bad())
}

/// Milliseconds since the epoch → "2026-12-01 14:00 UTC" (seconds shown when not zero).
pub fn fmt_time(ms: u64) -> String {
    match i64::try_from(ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
    {
        Some(t) if t.timestamp() % 60 == 0 => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{ms} ms after 1970"),
    }
}

/// A duration in milliseconds → "3 days", "2 hours", "45 s".
pub fn fmt_duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3_600 => format!("{} hours", s / 3_600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}

pub fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_and_refuse_nonsense() {
        assert_eq!(parse_amount("10"), Ok(10 * UNIT));
        assert_eq!(parse_amount("2.5"), Ok(2 * UNIT + UNIT / 2));
        assert_eq!(parse_amount(".5"), Ok(UNIT / 2));
        assert_eq!(parse_amount("0.000000000001"), Ok(1));
        assert_eq!(fmt_amount(2 * UNIT + UNIT / 2), "2.5 UNIT");
        assert_eq!(fmt_amount(10 * UNIT), "10 UNIT");
        for bad in ["", ".", "1,5", "-1", "abc", "1.2.3", "1e3"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_amount("0.0000000000001"),
            Err(UnitError::Precision(_))
        ));
        assert!(matches!(
            parse_amount("999999999999999999999999999999"),
            Err(UnitError::TooLarge(_))
        ));
    }

    #[test]
    fn times_absolute_and_relative() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_time("+1d", now), Ok(now + 86_400_000));
        assert_eq!(parse_time("+90s", now), Ok(now + 90_000));
        assert_eq!(parse_time("2026-12-01", now), Ok(1_796_083_200_000));
        assert_eq!(
            parse_time("2026-12-01T14:00:00Z", now),
            Ok(1_796_133_600_000)
        );
        assert_eq!(fmt_time(1_796_133_600_000), "2026-12-01 14:00 UTC");
        for bad in ["tomorrow", "+3w", "+d", "2026-13-01", "+99999999999999999d"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
