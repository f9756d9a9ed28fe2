//! The artist's commands (and the registry owner's `arbiter`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use dreamster_calls::{registry, release};
use dreamster_types::commitment::{self, Salt};
use dreamster_types::events::DreamsterEvent;
use dreamster_types::perk::{DeliveryMethod, Perk, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::SaleTerms;
use serde_json::json;
use subxt::utils::AccountId32;

use crate::args::{
    ArbiterArgs, ArtistCommand, DeliverArgs, Delivery, PerkAddArgs, PerkCancelArgs, PerkCommand,
    ReleaseCommand, ReleaseCreateArgs, ReleaseOnly,
};
use crate::chain::Session;
use crate::report::{landed, landed_text, Report};
use crate::units::{fmt_amount, fmt_duration, fmt_time, now_ms};
use crate::wizard;

pub use dreamster_client::{ink_id, subxt_id};

/// Creates a release through the registry as the signer; its address is the one the
/// included transaction's `ReleaseCreated` names (not the dry run's guess).
pub async fn create(
    s: &Session,
    terms: SaleTerms,
    code: [u8; 32],
) -> anyhow::Result<(AccountId32, dreamster_client::Submitted)> {
    let (_, done) = s
        .registry_call::<dreamster_types::AccountId>(registry::create_release(terms, code))
        .await?;
    let artist = ink_id(&s.me()?);
    let release = done.find(&s.registry()?, "ReleaseCreated", |e| match e {
        DreamsterEvent::ReleaseCreated(c) if c.artist == artist => Some(c.release),
        _ => None,
    })?;
    Ok((subxt_id(&release), done))
}

pub async fn arbiter(s: &Session, a: &ArbiterArgs) -> anyhow::Result<Report> {
    let (_, done) = s
        .registry_call::<()>(registry::add_arbiter(ink_id(&a.account)))
        .await?;
    Ok(Report::new(
        format!("{} is now an arbiter, {}", a.account, landed_text(&done)),
        json!({ "arbiter": a.account.to_string(), "tx": landed(&done) }),
    ))
}

pub async fn artist(s: &Session, a: &ArtistCommand) -> anyhow::Result<Report> {
    let ArtistCommand::Register { name, metadata_uri } = a;
    let (_, done) = s
        .registry_call::<()>(registry::register_artist(name, metadata_uri))
        .await?;
    let me = s.me()?;
    Ok(Report::new(
        format!("registered {me} as artist {name:?}, {}", landed_text(&done)),
        json!({ "artist": me.to_string(), "name": name, "tx": landed(&done) }),
    ))
}

pub async fn release(s: &Session, a: &ReleaseCommand) -> anyhow::Result<Report> {
    match a {
        ReleaseCommand::Create(c) => create_release(s, c).await,
        ReleaseCommand::Show(r) => show_release(s, &r.release).await,
    }
}

pub async fn create_release(s: &Session, c: &ReleaseCreateArgs) -> anyhow::Result<Report> {
    let terms = SaleTerms {
        title: c.title.clone(),
        metadata_uri: c.metadata_uri.clone(),
        price: c.price,
        max_editions: c.max_editions,
        sale_start: c.sale_start.unwrap_or(0),
        sale_end: c.sale_end,
        dispute_window: c.dispute_days * 86_400_000,
    };
    let code = s.expected_release_code(c.code_hash)?;
    let pending: Option<([u8; 32], u64)> = s
        .query(&s.registry()?, registry::pending_release_code())
        .await?;
    let (address, done) = create(s, terms, code).await?;
    let announced = pending.map_or(String::new(), |(next, at)| {
        format!(
            "\nnote: {}",
            dreamster_client::explain::announced_code(&next, at)
        )
    });
    Ok(Report::new(
        format!(
            "release {:?} created at {address} from release code 0x{}, {}{announced}",
            c.title,
            hex::encode(code),
            landed_text(&done)
        ),
        json!({ "release": address.to_string(), "title": c.title, "tx": landed(&done) }),
    ))
}

/// Sale terms and perks of a release, read from its contract.
pub async fn read_release(
    s: &Session,
    rel: &AccountId32,
) -> anyhow::Result<(SaleTerms, Vec<Perk>)> {
    let terms: SaleTerms = s.query(rel, release::sale_terms()).await?;
    let perks: Vec<Perk> = s.perks(rel).await?;
    Ok((terms, perks))
}

pub async fn show_release(s: &Session, rel: &AccountId32) -> anyhow::Result<Report> {
    let (terms, perks) = read_release(s, rel).await?;
    let sold: u32 = s.query(rel, release::total_supply()).await?;
    let escrow: u128 = s.query(rel, release::escrow_held()).await?;
    let mut text = format!(
        "{} — {} per edition, {sold} sold{}\nescrow held {}, dispute window {}\n",
        terms.title,
        fmt_amount(terms.price),
        terms
            .max_editions
            .map(|m| format!(" of {m}"))
            .unwrap_or_default(),
        fmt_amount(escrow),
        fmt_duration(terms.dispute_window),
    );
    let total: u128 = perks.iter().map(|p| p.terms.estimated_value).sum();
    for (i, p) in perks.iter().enumerate() {
        text.push_str(&format!(
            "  perk {i}: {}\n",
            wizard::preview_line(&p.terms, terms.price)
        ));
    }
    text.push_str(&format!("total perk value {}", fmt_amount(total)));
    Ok(Report::new(
        text,
        json!({
            "release": rel.to_string(), "title": terms.title, "price": terms.price.to_string(),
            "sold": sold, "escrow_held": escrow.to_string(), "total_perk_value": total.to_string(),
            "perks": perks.iter().enumerate().map(|(i, p)| perk_json(i as u32, &p.terms)).collect::<Vec<_>>(),
        }),
    ))
}

pub fn perk_json(id: u32, t: &PerkTerms) -> serde_json::Value {
    json!({
        "perk": id, "category": t.category.slug(), "kind": t.kind.slug(), "title": t.title,
        "description": t.description, "estimated_value": t.estimated_value.to_string(),
        "escrow_bps": t.escrow_bps, "delivery": t.delivery.slug(), "deadline": t.deadline,
        "deadline_utc": fmt_time(t.deadline), "quantity_limit": t.quantity_limit,
    })
}

pub async fn perk(s: &Session, a: &PerkCommand) -> anyhow::Result<Report> {
    match a {
        PerkCommand::Add(p) => {
            let (terms, salt) = terms_from_flags(p)?;
            add_perk(s, &p.release, terms, salt.as_ref()).await
        }
        PerkCommand::Wizard(r) => wizard::run(s, &r.release).await,
        PerkCommand::Cancel(c) => cancel_perk(s, c).await,
    }
}

async fn cancel_perk(s: &Session, c: &PerkCancelArgs) -> anyhow::Result<Report> {
    let (_, done) = s
        .release::<()>(&c.release, 0, release::cancel_perk(c.perk))
        .await?;
    Ok(Report::new(
        format!(
            "perk {} cancelled: its holders may take their refunds now, {}",
            c.perk,
            landed_text(&done)
        ),
        json!({ "release": c.release.to_string(), "perk": c.perk, "tx": landed(&done) }),
    ))
}

/// What clap cannot say: an automatic perk needs something to commit to.
pub fn check_flags(p: &PerkAddArgs) -> anyhow::Result<()> {
    if matches!(p.delivery, Delivery::Automatic)
        && p.secret.is_none()
        && p.secret_file.is_none()
        && p.content_hash.is_none()
        && p.codes_file.is_none()
    {
        bail!("an automatic perk needs --secret-file, --secret, --content-hash or --codes-file");
    }
    Ok(())
}

/// The perk's terms, and the salt its secret (or pool) is committed with, if any.
fn terms_from_flags(p: &PerkAddArgs) -> anyhow::Result<(PerkTerms, Option<Salt>)> {
    let kind = PerkKind::from_slug(&p.kind)
        .ok_or_else(|| anyhow!("unknown perk kind {:?}: see `dreamster templates`", p.kind))?;
    let category = match (&p.category, kind.category()) {
        (Some(c), _) => {
            PerkCategory::from_slug(c).ok_or_else(|| anyhow!("unknown category {c:?}"))?
        }
        (None, Some(c)) => c,
        (None, None) => bail!("a custom perk needs --category"),
    };
    let mut quantity_limit = p.quantity;
    let mut salt = None;
    let delivery = match p.delivery {
        Delivery::Automatic => {
            let (content_hash, s) = commitment(p, &mut quantity_limit)?;
            salt = s;
            DeliveryMethod::Automatic { content_hash }
        }
        Delivery::Physical => DeliveryMethod::Physical,
        Delivery::Event => DeliveryMethod::Event,
    };
    let terms = PerkTerms {
        category,
        kind,
        title: p.title.clone(),
        description: p.description.clone(),
        metadata_uri: p.metadata_uri.clone(),
        estimated_value: p.value,
        escrow_bps: p.escrow,
        delivery,
        quantity_limit,
        deadline: p.deadline,
    };
    Ok((terms, salt))
}

/// The salt for a secret that passed `commitment::judge_secret` (or a pool's codes that
/// passed `judge_codes`), made known before anything is signed, so no failure after signing
/// can lose it (the upload needs it). Beside a file it is kept in `<file>.salt` (0600) and
/// reused when that is there already: a retry, or a second perk from the same file, commits
/// with the salt the file holds, and no salt is ever overwritten.
fn salt_for(secret_file: Option<&Path>) -> anyhow::Result<Salt> {
    let Some(path) = secret_file else {
        let salt = new_salt()?;
        eprintln!(
            "salt {}: keep it with the secret, whose upload needs both",
            commitment::salt_hex(&salt)
        );
        return Ok(salt);
    };
    let mut kept = path.as_os_str().to_owned();
    kept.push(".salt");
    let kept = PathBuf::from(kept);
    if kept.exists() {
        let text = dreamster_client::account::read_private(&kept)?;
        return commitment::parse_salt(&text).map_err(|e| anyhow!("{}: {e}", kept.display()));
    }
    let salt = new_salt()?;
    write_new_private(&kept, &format!("{}\n", commitment::salt_hex(&salt)))
        .with_context(|| format!("keeping the salt in {}", kept.display()))?;
    eprintln!("the salt is kept in {}", kept.display());
    Ok(salt)
}

fn new_salt() -> anyhow::Result<Salt> {
    commitment::new_salt().map_err(|e| anyhow!("no random salt from the system: {e}"))
}

/// Creates a file only its owner can read (0600); never replaces one.
fn write_new_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The hash an automatic perk commits to, and its salt: of its secret (judged first), given,
/// or of its code pool (whose size then bounds the editions the perk binds, `quantity_limit`).
fn commitment(
    p: &PerkAddArgs,
    quantity_limit: &mut Option<u32>,
) -> anyhow::Result<([u8; 32], Option<Salt>)> {
    if let Some(h) = p.content_hash {
        return Ok((h, None));
    }
    let weak = |e: commitment::WeakSecret| anyhow!("{e}");
    if let Some(secret) = &p.secret {
        commitment::judge_secret(secret).map_err(weak)?;
        let salt = salt_for(None)?;
        return Ok((
            commitment::secret_commitment(&salt, secret.as_bytes()),
            Some(salt),
        ));
    }
    if let Some(path) = &p.secret_file {
        let secret = dreamster_client::account::read_private(path)?;
        if secret.is_empty() {
            bail!("{} holds no secret on its first line", path.display());
        }
        commitment::judge_secret(&secret).map_err(weak)?;
        let salt = salt_for(Some(path))?;
        return Ok((
            commitment::secret_commitment(&salt, secret.as_bytes()),
            Some(salt),
        ));
    }
    let Some(path) = &p.codes_file else {
        bail!("an automatic perk needs --secret-file, --secret, --content-hash or --codes-file");
    };
    // Per-fan codes are secrets too: the file must be the artist's alone.
    let text = dreamster_client::account::read_private_text(path)?;
    let codes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let pool = |e: dreamster_types::merkle::PoolError| anyhow!("{}: {e}", path.display());
    *quantity_limit =
        Some(dreamster_types::merkle::pool_limit(codes.len(), *quantity_limit).map_err(pool)?);
    // The pool's shape first (its errors name the file), then whether its codes are guessable.
    dreamster_types::merkle::pool_root(&codes, None).map_err(pool)?;
    commitment::judge_codes(&codes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let key = salt_for(Some(path))?;
    Ok((
        dreamster_types::merkle::pool_root(&codes, Some(&key)).map_err(pool)?,
        Some(key),
    ))
}

/// Adds a perk; `salt` is what its secret or pool was committed with, reported so the
/// artist can upload the secret with it.
pub async fn add_perk(
    s: &Session,
    rel: &AccountId32,
    terms: PerkTerms,
    salt: Option<&Salt>,
) -> anyhow::Result<Report> {
    if terms.deadline <= now_ms() {
        bail!("the deadline {} is in the past", fmt_time(terms.deadline));
    }
    let (_, done) = s
        .release::<u32>(rel, 0, release::add_perk(terms.clone()))
        .await?;
    let id = done.find(rel, "PerkAdded", |e| match e {
        DreamsterEvent::PerkAdded(added) => Some(added.perk),
        _ => None,
    })?;
    let salt = salt.map(commitment::salt_hex);
    let keep = salt.as_deref().map_or(String::new(), |s| {
        format!("\nits salt is {s}: keep it with the secret, whose upload needs both")
    });
    Ok(Report::new(
        format!(
            "perk {id} {:?} added to {rel}, {}{keep}",
            terms.title,
            landed_text(&done)
        ),
        json!({ "release": rel.to_string(), "perk": perk_json(id, &terms), "salt": salt, "tx": landed(&done) }),
    ))
}

pub async fn deliver(s: &Session, a: &DeliverArgs) -> anyhow::Result<Report> {
    let proof = dreamster_types::content_hash(a.proof.as_bytes());
    let at = &a.at;
    let (_, done) = s
        .release::<()>(
            &at.release,
            0,
            release::mark_delivered(at.edition, at.perk, proof),
        )
        .await?;
    Ok(Report::new(
        format!(
            "perk {} of edition {} marked delivered (proof hash 0x{}), {}",
            at.perk,
            at.edition,
            hex::encode(proof),
            landed_text(&done)
        ),
        json!({ "release": at.release.to_string(), "edition": at.edition, "perk": at.perk,
                "proof_hash": format!("0x{}", hex::encode(proof)), "tx": landed(&done) }),
    ))
}

pub async fn withdraw(s: &Session, a: &ReleaseOnly) -> anyhow::Result<Report> {
    let (_, done) = s
        .release::<u128>(&a.release, 0, release::withdraw())
        .await?;
    let amount = done.find(&a.release, "ArtistWithdrew", |e| match e {
        DreamsterEvent::ArtistWithdrew(w) => Some(w.amount),
        _ => None,
    })?;
    Ok(Report::new(
        format!("withdrew {}, {}", fmt_amount(amount), landed_text(&done)),
        json!({ "release": a.release.to_string(), "amount": amount.to_string(), "tx": landed(&done) }),
    ))
}
