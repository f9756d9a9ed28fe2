//! The fan's commands (and the arbiter's `resolve`).

use anyhow::Context as _;
use dreamster_calls::release;
use dreamster_types::entitlement::{Clock, Entitlement, PerkStatus};
use dreamster_types::events::{DreamsterEvent, EntitlementAction};
use dreamster_types::perk::{DeliveryMethod, Perk};
use dreamster_types::release::SaleTerms;
use serde_json::json;
use subxt::utils::AccountId32;

use crate::args::{
    DisputeArgs, EntitlementArgs, PerksArgs, RateArgs, ReleaseOnly, ResolveArgs, Ruling,
    TransferArgs,
};
use crate::artist::{ink_id, read_release, subxt_id};
use crate::chain::Session;
use crate::report::{landed, landed_text, Report};
use crate::units::{fmt_amount, fmt_time, now_ms};

/// Buys an edition expecting the perks a new edition carries now: if one of them is gone
/// by the time the purchase is included (the last limited one sold, a deadline passed),
/// the contract refuses it and nothing is paid.
pub async fn buy(s: &Session, a: &ReleaseOnly) -> anyhow::Result<Report> {
    let terms: SaleTerms = s.query(&a.release, release::sale_terms()).await?;
    let perks: Vec<Perk> = s.perks(&a.release).await?;
    let now = now_ms();
    let expected = dreamster_types::perk::grantable_ids(&perks, now);
    let (sold, done) = buy_expecting(s, &a.release, terms.price, expected).await?;
    let (edition, granted) = (
        sold.edition,
        sold.entitlements
            .iter()
            .map(|(perk, _)| *perk)
            .collect::<Vec<_>>(),
    );
    Ok(Report::new(
        format!(
            "bought edition {edition} of {:?} for {} with perks {granted:?}, {}",
            terms.title,
            fmt_amount(sold.price),
            landed_text(&done)
        ),
        json!({ "release": a.release.to_string(), "edition": edition, "price": sold.price.to_string(),
                "perks": granted, "tx": landed(&done) }),
    ))
}

/// Buys an edition of `release` at `price` expecting the perks `expected`; the sale as
/// the included transaction's `EditionSold` says it (another fan's purchase in between
/// makes the dry run's edition wrong).
pub async fn buy_expecting(
    s: &Session,
    release: &AccountId32,
    price: u128,
    expected: Vec<u32>,
) -> anyhow::Result<(
    dreamster_types::events::EditionSold,
    dreamster_client::Submitted,
)> {
    let (_, done) = s
        .release::<u32>(release, price, release::buy(expected))
        .await?;
    let buyer = ink_id(&s.me()?);
    let sold = done.find(release, "EditionSold", |e| match e {
        DreamsterEvent::EditionSold(sold) if sold.buyer == buyer => Some(sold),
        _ => None,
    })?;
    Ok((sold, done))
}

/// Every release of the configured registry, at the node's best block.
pub async fn all_releases(s: &Session) -> anyhow::Result<Vec<AccountId32>> {
    let registry = s.registry()?;
    let at = s.node.best_block().await?;
    dreamster_audit::registry_releases(&s.node, at, &registry)
        .await
        .with_context(|| format!("listing the releases of registry {registry}"))
}

/// Editions of `release` owned by `owner`.
pub async fn editions_of(
    s: &Session,
    rel: &AccountId32,
    owner: &AccountId32,
) -> anyhow::Result<Vec<u32>> {
    let supply: u32 = s.query(rel, release::total_supply()).await?;
    let mut mine = Vec::new();
    for edition in 0..supply {
        let who: Option<dreamster_types::AccountId> =
            s.query(rel, release::owner_of(edition)).await?;
        if who.map(|w| subxt_id(&w)) == Some(owner.clone()) {
            mine.push(edition);
        }
    }
    Ok(mine)
}

/// How the holder gets to a perk in its current state.
fn access(perk: &Perk, e: &Entitlement, status: PerkStatus) -> String {
    match (status, &perk.terms.delivery) {
        (PerkStatus::Refundable | PerkStatus::Overdue | PerkStatus::Cancelled, _) => {
            format!("refund {} with `dreamster refund`", fmt_amount(e.escrow))
        }
        (PerkStatus::DeliveredLate, _) => format!(
            "delivered after the deadline: `dreamster confirm` it if you want it, or refund {} \
             with `dreamster refund`",
            fmt_amount(e.escrow)
        ),
        (PerkStatus::Refunded, _) => "refunded".into(),
        (PerkStatus::Pending, DeliveryMethod::Automatic { .. }) => {
            "unlock it with `dreamster unlock` to get the secret".into()
        }
        (_, DeliveryMethod::Automatic { content_hash }) => {
            format!(
                "unlocked: the secret matching hash 0x{} is served by the artist",
                hex::encode(&content_hash[..8])
            )
        }
        (PerkStatus::Pending, DeliveryMethod::Physical) => {
            "the artist ships it; send your address by private message".into()
        }
        (PerkStatus::Pending, DeliveryMethod::Event) => {
            "the artist sends the event details by private message".into()
        }
        (PerkStatus::Delivered, _) => "delivered: confirm it, or dispute within the window".into(),
        (PerkStatus::Disputed, _) => "under dispute: an arbiter will rule".into(),
        (PerkStatus::Confirmed, _) => "confirmed".into(),
    }
}

pub async fn perks(s: &Session, a: &PerksArgs) -> anyhow::Result<Report> {
    let owner = match &a.owner {
        Some(o) => o.clone(),
        None => s.me()?,
    };
    let releases = match &a.release {
        Some(r) => vec![r.clone()],
        None => all_releases(s).await?,
    };
    let now = now_ms();
    let mut text = String::new();
    let mut items = Vec::new();
    for rel in releases {
        let editions = editions_of(s, &rel, &owner).await?;
        if editions.is_empty() {
            continue;
        }
        let (terms, perk_list) = read_release(s, &rel).await?;
        for edition in editions {
            text.push_str(&format!("{} ({rel}) edition {edition}\n", terms.title));
            let entitlements: Vec<Entitlement> =
                s.query(&rel, release::entitlements_of(edition)).await?;
            for e in entitlements {
                let Some(perk) = perk_list.get(e.perk as usize) else {
                    continue;
                };
                let status = e.status(Clock::of(now, &terms, perk));
                let how = access(perk, &e, status);
                text.push_str(&format!(
                    "  perk {} {:<28} {:<10} escrow {:<12} deadline {}  — {how}\n",
                    e.perk,
                    perk.terms.title,
                    status.slug(),
                    fmt_amount(e.escrow),
                    fmt_time(e.deadline)
                ));
                items.push(json!({
                    "release": rel.to_string(), "release_title": terms.title, "edition": edition, "perk": e.perk,
                    "title": perk.terms.title, "kind": perk.terms.kind.slug(), "status": status.slug(),
                    "state": e.state.slug(), "escrow": e.escrow.to_string(), "deadline": e.deadline,
                    "deadline_utc": fmt_time(e.deadline), "access": how,
                }));
            }
        }
    }
    if text.is_empty() {
        text = format!("{owner} holds no editions");
    }
    Ok(Report::new(
        text.trim_end().to_string(),
        json!({ "owner": owner.to_string(), "perks": items }),
    ))
}

async fn simple(
    s: &Session,
    at: &EntitlementArgs,
    input: Vec<u8>,
    verb: &str,
) -> anyhow::Result<Report> {
    let (_, done) = s.release::<()>(&at.release, 0, input).await?;
    Ok(Report::new(
        format!(
            "perk {} of edition {} {verb}, {}",
            at.perk,
            at.edition,
            landed_text(&done)
        ),
        json!({ "release": at.release.to_string(), "edition": at.edition, "perk": at.perk, "tx": landed(&done) }),
    ))
}

pub async fn unlock(s: &Session, a: &EntitlementArgs) -> anyhow::Result<Report> {
    simple(s, a, release::unlock(a.edition, a.perk), "unlocked").await
}

pub async fn confirm(s: &Session, a: &EntitlementArgs) -> anyhow::Result<Report> {
    simple(s, a, release::confirm(a.edition, a.perk), "confirmed").await
}

pub async fn rate(s: &Session, a: &RateArgs) -> anyhow::Result<Report> {
    let verb = format!(
        "rated {} star{}",
        a.stars,
        if a.stars == 1 { "" } else { "s" }
    );
    simple(
        s,
        &a.at,
        release::rate(a.at.edition, a.at.perk, a.stars),
        &verb,
    )
    .await
}

pub async fn dispute(s: &Session, a: &DisputeArgs) -> anyhow::Result<Report> {
    let evidence = dreamster_types::content_hash(a.reason.as_bytes());
    simple(
        s,
        &a.at,
        release::dispute(a.at.edition, a.at.perk, evidence),
        "disputed",
    )
    .await
}

pub async fn resolve(s: &Session, a: &ResolveArgs) -> anyhow::Result<Report> {
    let refund = matches!(a.ruling, Ruling::Refund);
    let verb = if refund {
        "resolved for the fan (refund owed)"
    } else {
        "resolved for the artist"
    };
    simple(
        s,
        &a.at,
        release::resolve(a.at.edition, a.at.perk, refund),
        verb,
    )
    .await
}

pub async fn refund(s: &Session, a: &EntitlementArgs) -> anyhow::Result<Report> {
    let (_, done) = s
        .release::<u128>(&a.release, 0, release::claim_refund(a.edition, a.perk))
        .await?;
    let amount = done.find(&a.release, "EntitlementChanged (refunded)", |e| match e {
        DreamsterEvent::EntitlementChanged(c) if (c.edition, c.perk) == (a.edition, a.perk) => {
            match c.action {
                EntitlementAction::Refunded { amount, .. } => Some(amount),
                _ => None,
            }
        }
        _ => None,
    })?;
    Ok(Report::new(
        format!(
            "refunded {} for perk {} of edition {}, {}",
            fmt_amount(amount),
            a.perk,
            a.edition,
            landed_text(&done)
        ),
        json!({ "release": a.release.to_string(), "edition": a.edition, "perk": a.perk, "amount": amount.to_string(), "tx": landed(&done) }),
    ))
}

pub async fn transfer(s: &Session, a: &TransferArgs) -> anyhow::Result<Report> {
    let (_, done) = s
        .release::<()>(&a.release, 0, release::transfer(ink_id(&a.to), a.edition))
        .await?;
    Ok(Report::new(
        format!(
            "edition {} now belongs to {}, {}",
            a.edition,
            a.to,
            landed_text(&done)
        ),
        json!({ "release": a.release.to_string(), "edition": a.edition, "to": a.to.to_string(), "tx": landed(&done) }),
    ))
}
