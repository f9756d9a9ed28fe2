//! The dev chain's token as people read it: 12 decimals, shown as "UNIT".

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
