//! `dreamster perk wizard`: a perk from a template, step by step, every field prefilled
//! and editable, a preview as a fan will see it, and a confirmation before signing.

use anyhow::bail;
use dreamster_calls::release;
use dreamster_types::commitment::{self, Salt};
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::SaleTerms;
use dreamster_types::templates::{DeliveryKind, PerkTemplate, TEMPLATES};
use inquire::{Confirm, Select, Text};
use serde_json::json;
use subxt::utils::AccountId32;

use crate::artist::add_perk;
use crate::chain::Session;
use crate::report::Report;
use crate::units::{fmt_amount, fmt_time, now_ms, parse_amount, parse_time, UNIT};

/// One line as a fan sees a perk before buying.
pub fn preview_line(t: &PerkTerms, price: u128) -> String {
    let escrow = price.saturating_mul(u128::from(t.escrow_bps)) / 10_000;
    format!(
        "{} {} [{}] worth {}, {} of the price held in escrow until delivered, by {} ({}){}",
        PerkTemplate::icon_of(t.kind),
        t.title,
        t.category.label(),
        fmt_amount(t.estimated_value),
        fmt_amount(escrow),
        fmt_time(t.deadline),
        match t.delivery {
            DeliveryMethod::Automatic { .. } => "unlocked instantly",
            DeliveryMethod::Physical => "shipped",
            DeliveryMethod::Event => "event",
        },
        t.quantity_limit
            .map(|q| format!(", first {q} editions only"))
            .unwrap_or_default(),
    )
}

pub fn templates_report() -> Report {
    let mut text = String::new();
    for t in &TEMPLATES {
        text.push_str(&format!(
            "{} {:<20} {:<24} {:<28} {:<9} {:>3} days  {:>4} UNIT  {:>5.1} %\n",
            t.icon,
            t.kind.slug(),
            t.category().slug(),
            t.title,
            t.delivery.slug(),
            t.deadline_days,
            t.value_units,
            f64::from(t.escrow_bps) / 100.0
        ));
    }
    let json = TEMPLATES
        .iter()
        .map(|t| {
            json!({ "kind": t.kind.slug(), "category": t.category().slug(), "icon": t.icon, "title": t.title,
                    "description": t.description, "delivery": t.delivery.slug(), "deadline_days": t.deadline_days,
                    "estimated_value": (u128::from(t.value_units) * UNIT).to_string(), "escrow_bps": t.escrow_bps })
        })
        .collect::<Vec<_>>();
    Report::new(text.trim_end().to_string(), json!({ "templates": json }))
}

fn validator<F: Fn(&str) -> Result<(), String> + Clone + 'static>(
    check: F,
) -> impl inquire::validator::StringValidator {
    move |input: &str| {
        Ok(match check(input) {
            Ok(()) => inquire::validator::Validation::Valid,
            Err(e) => inquire::validator::Validation::Invalid(e.into()),
        })
    }
}

/// How the perk is delivered, and the salt an automatic perk's secret is committed with.
fn ask_delivery(default: DeliveryKind) -> anyhow::Result<(DeliveryMethod, Option<Salt>)> {
    let options = vec!["automatic", "physical", "event"];
    let start = options
        .iter()
        .position(|o| *o == default.slug())
        .unwrap_or(0);
    let chosen = Select::new("How is it delivered?", options)
        .with_starting_cursor(start)
        .with_help_message(
            "automatic: a secret the fan unlocks · physical: shipped · event: an experience",
        )
        .prompt()?;
    Ok(match chosen {
        "automatic" => {
            let secret = Text::new(
                "The secret (link, invite or code) — only its salted hash goes on chain:",
            )
            .with_validator(validator(|s: &str| {
                if s.trim().is_empty() {
                    Err("the secret cannot be empty".into())
                } else {
                    commitment::judge_secret(s).map_err(|e| e.to_string())
                }
            }))
            .prompt()?;
            let salt = commitment::new_salt()
                .map_err(|e| anyhow::anyhow!("no random salt from the system: {e}"))?;
            // Shown before anything is signed: no failure after signing can lose it.
            eprintln!(
                "salt {}: keep it with the secret, whose upload needs both",
                commitment::salt_hex(&salt)
            );
            (
                DeliveryMethod::Automatic {
                    content_hash: commitment::secret_commitment(&salt, secret.trim().as_bytes()),
                },
                Some(salt),
            )
        }
        "physical" => (DeliveryMethod::Physical, None),
        _ => (DeliveryMethod::Event, None),
    })
}

/// Asks for every field, starting from the chosen template; with the salt of an automatic
/// perk's secret.
fn ask_terms() -> anyhow::Result<(PerkTerms, Option<Salt>)> {
    let mut labels: Vec<String> = TEMPLATES
        .iter()
        .map(|t| format!("{} {} — {}", t.icon, t.title, t.category().label()))
        .collect();
    labels.push("⭐ Custom perk".to_string());
    let choice = Select::new("Start from a template:", labels.clone())
        .with_page_size(10)
        .with_help_message("type to filter, ↑↓ to move, enter to choose")
        .prompt()?;
    let index = labels
        .iter()
        .position(|l| *l == choice)
        .unwrap_or(labels.len() - 1);
    let template = TEMPLATES.get(index);
    let (kind, category) = match template {
        Some(t) => (t.kind, t.category()),
        None => {
            let names: Vec<&str> = PerkCategory::ALL.iter().map(|c| c.label()).collect();
            let picked = Select::new("Category:", names).prompt()?;
            let category = PerkCategory::ALL
                .into_iter()
                .find(|c| c.label() == picked)
                .unwrap_or(PerkCategory::Community);
            (PerkKind::Custom, category)
        }
    };
    let title = Text::new("Title:")
        .with_initial_value(template.map_or("", |t| t.title))
        .with_validator(validator(|s: &str| match s.trim().len() {
            0 => Err("the title cannot be empty".into()),
            n if n > dreamster_types::perk::MAX_TITLE_LEN => Err("at most 96 characters".into()),
            _ => Ok(()),
        }))
        .prompt()?;
    let description = Text::new("Description:")
        .with_initial_value(template.map_or("", |t| t.description))
        .with_validator(validator(|s: &str| {
            if s.len() > dreamster_types::perk::MAX_DESCRIPTION_LEN {
                Err("at most 600 characters".into())
            } else {
                Ok(())
            }
        }))
        .prompt()?;
    let (delivery, salt) = ask_delivery(template.map_or(DeliveryKind::Event, |t| t.delivery))?;
    let deadline = Text::new("Deadline (2026-12-01, 2026-12-01T14:00:00Z or +30d):")
        .with_initial_value(&format!("+{}d", template.map_or(30, |t| t.deadline_days)))
        .with_validator(validator(|s: &str| match parse_time(s, now_ms()) {
            Ok(t) if t > now_ms() => Ok(()),
            Ok(_) => Err("the deadline must be in the future".into()),
            Err(e) => Err(e.to_string()),
        }))
        .prompt()?;
    let value = Text::new("Estimated value to a fan, in UNIT:")
        .with_initial_value(&template.map_or(10, |t| t.value_units).to_string())
        .with_validator(validator(|s: &str| {
            parse_amount(s).map(drop).map_err(|e| e.to_string())
        }))
        .prompt()?;
    let escrow = Text::new("Share of the price held in escrow for this perk, in %:")
        .with_initial_value(&format!(
            "{}",
            f64::from(template.map_or(1_000, |t| t.escrow_bps)) / 100.0
        ))
        .with_validator(validator(|s: &str| crate::args::percent(s).map(drop)))
        .prompt()?;
    let quantity = Text::new("Only the first N editions get it (empty: every edition):")
        .with_validator(validator(|s: &str| {
            if s.trim().is_empty() || s.trim().parse::<u32>().is_ok_and(|n| n > 0) {
                Ok(())
            } else {
                Err("a whole number ≥ 1, or empty".into())
            }
        }))
        .prompt()?;
    let terms = PerkTerms {
        category,
        kind,
        title: title.trim().to_string(),
        description: description.trim().to_string(),
        metadata_uri: String::new(),
        estimated_value: parse_amount(&value)?,
        escrow_bps: crate::args::percent(&escrow).map_err(anyhow::Error::msg)?,
        delivery,
        quantity_limit: quantity.trim().parse().ok(),
        deadline: parse_time(&deadline, now_ms())?,
    };
    Ok((terms, salt))
}

pub async fn run(s: &Session, rel: &AccountId32) -> anyhow::Result<Report> {
    // Fail before the questions if the release cannot be read or the signer is missing.
    let sale: SaleTerms = s.query(rel, release::sale_terms()).await?;
    s.signer()?;
    let (terms, salt) = ask_terms()?;
    terms
        .validate()
        .map_err(|e| anyhow::anyhow!("the perk is not valid: {e:?}"))?;
    eprintln!(
        "\nAs a fan will see it on {:?}:\n  {}\n",
        sale.title,
        preview_line(&terms, sale.price)
    );
    if !Confirm::new("Sign and add this perk?")
        .with_default(true)
        .prompt()?
    {
        bail!("cancelled: nothing was signed");
    }
    add_perk(s, rel, terms, salt.as_ref()).await
}
