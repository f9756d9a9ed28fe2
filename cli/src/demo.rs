//! `dreamster demo`: a believable catalogue on the configured deployment — three artists,
//! releases with perks in all five categories, and fans who bought, unlocked, confirmed,
//! rated, disputed (won and lost), transferred and took refunds — through the same calls
//! the other commands make.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use dreamster_calls::{registry, release};
use dreamster_types::perk::{DeliveryMethod, PerkKind, PerkTerms};
use dreamster_types::release::SaleTerms;
use dreamster_types::templates::PerkTemplate;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use subxt::dynamic::Value;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;
use subxt_signer::SecretUri;

use crate::args::DemoArgs;
use crate::artist::ink_id;
use crate::chain::Session;
use crate::report::Report;
use crate::units::{now_ms, UNIT};

fn dev(name: &str) -> anyhow::Result<Keypair> {
    let uri = SecretUri::from_str(&format!("//{name}")).context("dev account URI")?;
    Keypair::from_uri(&uri).context("dev account")
}

fn id(k: &Keypair) -> AccountId32 {
    k.public_key().to_account_id()
}

/// A perk from its kind's template, with the demo's deadline and, for automatic perks,
/// the hash of a made-up secret.
fn perk(kind: PerkKind, deadline: u64) -> anyhow::Result<PerkTerms> {
    let t = PerkTemplate::for_kind(kind).context("every demo kind has a template")?;
    Ok(PerkTerms {
        category: t.category(),
        kind,
        title: t.title.to_string(),
        description: t.description.to_string(),
        metadata_uri: String::new(),
        estimated_value: u128::from(t.value_units) * UNIT,
        escrow_bps: t.escrow_bps,
        delivery: match t.delivery {
            dreamster_types::templates::DeliveryKind::Automatic => DeliveryMethod::Automatic {
                content_hash: dreamster_types::content_hash(
                    format!("https://dreamster.invalid/secret/{}", kind.slug()).as_bytes(),
                ),
            },
            dreamster_types::templates::DeliveryKind::Physical => DeliveryMethod::Physical,
            dreamster_types::templates::DeliveryKind::Event => DeliveryMethod::Event,
        },
        quantity_limit: None,
        deadline,
    })
}

fn sale(title: &str, price_units: u128, max: Option<u32>) -> SaleTerms {
    SaleTerms {
        title: title.to_string(),
        metadata_uri: format!("ipfs://demo/{}", title.to_lowercase().replace(' ', "-")),
        price: price_units * UNIT,
        max_editions: max,
        sale_start: 0,
        sale_end: None,
        dispute_window: 7 * 86_400_000,
    }
}

struct Demo<'a> {
    root: &'a Session,
    bar: ProgressBar,
}

impl Demo<'_> {
    fn step(&self, what: &str) {
        self.bar.set_message(what.to_string());
        self.bar.inc(1);
    }

    fn who(&self, k: &Keypair) -> Session {
        self.root.as_signer(k.clone())
    }

    async fn fund(&self, accounts: &[&Keypair]) -> anyhow::Result<()> {
        self.step("funding the fans' and arbiter's accounts");
        let calls = accounts
            .iter()
            .map(|k| {
                Value::unnamed_variant(
                    "Balances",
                    [Value::named_variant(
                        "transfer_keep_alive",
                        [
                            (
                                "dest",
                                Value::unnamed_variant("Id", [Value::from_bytes(id(k).0)]),
                            ),
                            ("value", Value::u128(1_000 * UNIT)),
                        ],
                    )],
                )
            })
            .collect();
        self.root
            .node
            .submit_batch(self.root.signer()?, calls)
            .await?;
        Ok(())
    }

    async fn release(&self, artist: &Keypair, terms: SaleTerms) -> anyhow::Result<AccountId32> {
        self.step(&format!("creating release {:?}", terms.title));
        let code = self.root.expected_release_code(None)?;
        let (address, _) = crate::artist::create(&self.who(artist), terms, code).await?;
        Ok(address)
    }

    async fn perks(
        &self,
        artist: &Keypair,
        rel: &AccountId32,
        perks: Vec<PerkTerms>,
    ) -> anyhow::Result<()> {
        for p in perks {
            self.step(&format!("adding perk {:?}", p.title));
            self.who(artist)
                .release::<u32>(rel, 0, release::add_perk(p))
                .await?;
        }
        Ok(())
    }

    async fn buy(&self, fan: &Keypair, rel: &AccountId32) -> anyhow::Result<u32> {
        self.step("a fan buys an edition");
        let terms: SaleTerms = self.root.query(rel, release::sale_terms()).await?;
        let perks: Vec<dreamster_types::perk::Perk> = self.root.perks(rel).await?;
        let expected = dreamster_types::perk::grantable_ids(&perks, now_ms());
        let (sold, _) =
            crate::fan::buy_expecting(&self.who(fan), rel, terms.price, expected).await?;
        Ok(sold.edition)
    }

    async fn act(
        &self,
        who: &Keypair,
        rel: &AccountId32,
        what: &str,
        input: Vec<u8>,
    ) -> anyhow::Result<()> {
        self.step(what);
        self.who(who).release::<()>(rel, 0, input).await?;
        Ok(())
    }

    async fn refund(
        &self,
        fan: &Keypair,
        rel: &AccountId32,
        edition: u32,
        perk: u32,
    ) -> anyhow::Result<()> {
        self.step("a fan takes a refund");
        self.who(fan)
            .release::<u128>(rel, 0, release::claim_refund(edition, perk))
            .await?;
        Ok(())
    }
}

pub async fn run(root: &Session, args: &DemoArgs) -> anyhow::Result<Report> {
    root.registry()?;
    let (nova, tide, mira) = (dev("Bob")?, dev("Charlie")?, dev("Dave")?);
    let (eve, ferdie) = (dev("Eve")?, dev("Ferdie")?);
    let fans: Vec<Keypair> = (1..=4)
        .map(|i| dev(&format!("Fan{i}")))
        .collect::<anyhow::Result<_>>()?;
    let arbiter = dev("Arbiter")?;
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(62)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let d = Demo { root, bar };

    let mut to_fund: Vec<&Keypair> = fans.iter().collect();
    to_fund.push(&arbiter);
    d.fund(&to_fund).await?;
    d.step("adding an arbiter");
    root.registry_call::<()>(registry::add_arbiter(ink_id(&id(&arbiter))))
        .await?;
    for (artist, name) in [
        (&nova, "Nova Lights"),
        (&tide, "The Tidewater"),
        (&mira, "Mira Sol"),
    ] {
        d.step(&format!("registering {name}"));
        let uri = format!("ipfs://demo/{}", name.to_lowercase().replace(' ', "-"));
        d.who(artist)
            .registry_call::<()>(registry::register_artist(name, &uri))
            .await?;
    }
    let day = 86_400_000;
    let now = now_ms();

    // Nova Lights: the short-deadline meet & greet is bought at once and left undelivered.
    let night = d.release(&nova, sale("Night Drive", 10, Some(500))).await?;
    d.perks(
        &nova,
        &night,
        vec![
            perk(PerkKind::UnreleasedMusic, now + 14 * day)?,
            perk(PerkKind::LimitedVinyl, now + 60 * day)?,
            perk(PerkKind::PrivateChat, now + 7 * day)?,
            perk(PerkKind::MeetAndGreet, now_ms() + args.overdue_after * 1000)?,
        ],
    )
    .await?;
    let n_eve = d.buy(&eve, &night).await?;
    let n_ferdie = d.buy(&ferdie, &night).await?;
    let n_fan1 = d.buy(&fans[0], &night).await?;
    let overdue_at = now_ms() + args.overdue_after * 1000;

    let low = d.release(&tide, sale("Low Tide", 25, None)).await?;
    d.perks(
        &tide,
        &low,
        vec![
            perk(PerkKind::SongStems, now + 14 * day)?,
            perk(PerkKind::CoWritingSession, now + 90 * day)?,
            perk(PerkKind::SignedMerch, now + 45 * day)?,
        ],
    )
    .await?;
    let l_fan2 = d.buy(&fans[1], &low).await?;
    let l_fan3 = d.buy(&fans[2], &low).await?;

    let glass = d
        .release(&mira, sale("Glass Orchard", 15, Some(100)))
        .await?;
    d.perks(
        &mira,
        &glass,
        vec![
            perk(PerkKind::PrivateConcert, now + 90 * day)?,
            perk(PerkKind::BehindTheScenes, now + 30 * day)?,
            perk(PerkKind::ExclusiveArtwork, now + 45 * day)?,
            perk(PerkKind::FanEvent, now + 90 * day)?,
        ],
    )
    .await?;
    let g_eve = d.buy(&eve, &glass).await?;
    let g_fan4 = d.buy(&fans[3], &glass).await?;
    let _g_fan1 = d.buy(&fans[0], &glass).await?;

    // Deliveries, confirmations and ratings.
    d.act(
        &eve,
        &night,
        "a fan unlocks an unreleased track",
        release::unlock(n_eve, 0),
    )
    .await?;
    d.act(
        &eve,
        &night,
        "a fan confirms it",
        release::confirm(n_eve, 0),
    )
    .await?;
    d.act(&eve, &night, "a fan rates it", release::rate(n_eve, 0, 5))
        .await?;
    d.act(
        &ferdie,
        &night,
        "a fan unlocks an unreleased track",
        release::unlock(n_ferdie, 0),
    )
    .await?;
    d.act(
        &eve,
        &night,
        "a fan joins the holders' chat",
        release::unlock(n_eve, 2),
    )
    .await?;
    d.act(
        &nova,
        &night,
        "the artist ships a vinyl",
        release::mark_delivered(n_eve, 1, dreamster_types::content_hash(b"tracking DE-1001")),
    )
    .await?;
    d.act(
        &nova,
        &night,
        "the artist ships a vinyl",
        release::mark_delivered(
            n_ferdie,
            1,
            dreamster_types::content_hash(b"tracking DE-1002"),
        ),
    )
    .await?;
    d.act(
        &eve,
        &night,
        "a fan confirms the vinyl",
        release::confirm(n_eve, 1),
    )
    .await?;
    d.act(
        &eve,
        &night,
        "a fan rates the vinyl",
        release::rate(n_eve, 1, 4),
    )
    .await?;
    d.act(
        &ferdie,
        &night,
        "a fan disputes a broken vinyl",
        release::dispute(
            n_ferdie,
            1,
            dreamster_types::content_hash(b"arrived broken"),
        ),
    )
    .await?;
    d.act(
        &arbiter,
        &night,
        "the arbiter rules for the fan",
        release::resolve(n_ferdie, 1, true),
    )
    .await?;
    d.refund(&ferdie, &night, n_ferdie, 1).await?;

    d.act(
        &fans[1],
        &low,
        "a fan unlocks the stems",
        release::unlock(l_fan2, 0),
    )
    .await?;
    d.act(
        &fans[1],
        &low,
        "a fan confirms the stems",
        release::confirm(l_fan2, 0),
    )
    .await?;
    d.act(
        &fans[1],
        &low,
        "a fan rates the stems",
        release::rate(l_fan2, 0, 5),
    )
    .await?;
    d.act(
        &tide,
        &low,
        "the artist ships signed merch",
        release::mark_delivered(l_fan3, 2, dreamster_types::content_hash(b"tracking NL-77")),
    )
    .await?;
    d.act(
        &fans[2],
        &low,
        "a fan disputes the merch",
        release::dispute(l_fan3, 2, dreamster_types::content_hash(b"never arrived")),
    )
    .await?;
    d.act(
        &arbiter,
        &low,
        "the arbiter rules for the artist (tracking shows delivery)",
        release::resolve(l_fan3, 2, false),
    )
    .await?;

    d.act(
        &mira,
        &glass,
        "the artist ships an artwork print",
        release::mark_delivered(g_eve, 2, dreamster_types::content_hash(b"tracking FR-5")),
    )
    .await?;
    d.act(
        &eve,
        &glass,
        "a fan confirms the print",
        release::confirm(g_eve, 2),
    )
    .await?;
    d.act(
        &eve,
        &glass,
        "a fan rates the print",
        release::rate(g_eve, 2, 3),
    )
    .await?;
    d.act(
        &mira,
        &glass,
        "the artist holds the private concert",
        release::mark_delivered(
            g_eve,
            0,
            dreamster_types::content_hash(b"concert 2026-11-20"),
        ),
    )
    .await?;
    d.act(
        &fans[3],
        &glass,
        "a fan gives an edition to a friend",
        release::transfer(ink_id(&id(&fans[0])), g_fan4),
    )
    .await?;

    // The meet & greet never happened: two fans take their escrow back, one waits.
    d.step("waiting for the meet & greet's deadline to pass");
    let wait = overdue_at.saturating_sub(now_ms()) + 1_500;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    d.refund(&eve, &night, n_eve, 3).await?;
    d.refund(&fans[0], &night, n_fan1, 3).await?;

    for (artist, rel) in [(&nova, &night), (&tide, &low), (&mira, &glass)] {
        d.step("an artist withdraws");
        d.who(artist)
            .release::<u128>(rel, 0, release::withdraw())
            .await?;
    }
    d.bar.finish_and_clear();
    let releases = [
        ("Night Drive", &night),
        ("Low Tide", &low),
        ("Glass Orchard", &glass),
    ];
    let mut text = String::from("demo data seeded:\n");
    for (title, rel) in releases {
        text.push_str(&format!("  {title:<14} {rel}\n"));
    }
    text.push_str(&format!(
        "  artists: Nova Lights {}, The Tidewater {}, Mira Sol {}\n  fans: //Eve, //Ferdie, //Fan1…//Fan4; arbiter //Arbiter",
        id(&nova), id(&tide), id(&mira)
    ));
    Ok(Report::new(
        text,
        json!({
            "releases": releases.iter().map(|(t, r)| json!({ "title": t, "release": r.to_string() })).collect::<Vec<_>>(),
            "artists": [id(&nova).to_string(), id(&tide).to_string(), id(&mira).to_string()],
            "arbiter": id(&arbiter).to_string(),
        }),
    ))
}
