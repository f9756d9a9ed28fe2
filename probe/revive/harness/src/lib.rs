//! What the probe's two programs share — the in-process harness (src/main.rs) and the node
//! driver (src/bin/node.rs) — so both walk the same scenario with the same bytes.
pub mod artifact;
pub mod runtime;

use codec::Decode;
use dreamster_types::Balance;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::{MIN_DISPUTE_WINDOW, SaleTerms};

/// One DOT: 10 decimals, as on Polkadot.
pub const UNIT: Balance = 10_000_000_000;
/// An edition's price in the scenario.
pub const PRICE: Balance = 10 * UNIT;
/// A day in the contracts' clock (milliseconds).
pub const DAY: u64 = 86_400_000;

/// A release of up to 100 editions at [`PRICE`], on sale from `sale_start`.
pub fn sale_terms(title: String, metadata_uri: String, sale_start: u64) -> SaleTerms {
    SaleTerms {
        title,
        metadata_uri,
        price: PRICE,
        max_editions: Some(100),
        sale_start,
        sale_end: None,
        dispute_window: MIN_DISPUTE_WINDOW,
    }
}

pub fn perk(
    title: &str,
    description: &str,
    delivery: DeliveryMethod,
    escrow_bps: u16,
    deadline: u64,
) -> PerkTerms {
    let (category, kind) = match delivery {
        DeliveryMethod::Automatic { .. } => {
            (PerkCategory::ExclusiveContent, PerkKind::UnreleasedMusic)
        }
        DeliveryMethod::Physical => (PerkCategory::PhysicalMerchandise, PerkKind::LimitedVinyl),
        DeliveryMethod::Event => (PerkCategory::EventAccess, PerkKind::PrivateConcert),
    };
    PerkTerms {
        category,
        kind,
        title: title.into(),
        description: description.into(),
        metadata_uri: String::new(),
        estimated_value: UNIT,
        escrow_bps,
        delivery,
        quantity_limit: None,
        deadline,
    }
}

/// The scenario's automatic perk: stems, 30 % of the price in escrow.
pub fn stems(deadline: u64) -> PerkTerms {
    perk(
        "Stems",
        "A",
        DeliveryMethod::Automatic {
            content_hash: [7; 32],
        },
        3_000,
        deadline,
    )
}

/// The scenario's physical perk: a vinyl, 20 % of the price in escrow.
pub fn vinyl(deadline: u64) -> PerkTerms {
    perk("Vinyl", "B", DeliveryMethod::Physical, 2_000, deadline)
}

pub fn units(planck: Balance) -> String {
    format!("{}.{:010} DOT", planck / UNIT, planck % UNIT)
}

pub fn signed(after: Balance, before: Balance) -> String {
    if after >= before {
        format!("+{}", units(after - before))
    } else {
        format!("-{}", units(before - after))
    }
}

/// The message's own answer, if it decodes and ink! did not refuse the call.
pub fn answer<T: Decode, E: Decode>(data: &[u8]) -> Option<Result<T, E>> {
    envelope(data)?.ok()
}

/// What an ink! message returns: `Result<Result<T, E>, LangError>`.
pub fn envelope<T: Decode, E: Decode>(data: &[u8]) -> Option<Result<Result<T, E>, ink::LangError>> {
    Decode::decode(&mut &data[..]).ok()
}
