//! Server-rendered pages: plain HTML, a little CSS for phones, no build step.

use axum::extract::State;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::address::Address;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::forms::{action, entitlement, field};
use crate::releases::{self, ReleaseFilter};
use crate::AppState;

/// The pages (HTML for people; the JSON routes are `crate::api`).
pub fn router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(home))
        .route("/releases/{address}", get(release))
        .route("/releases/{address}/deliveries", get(deliveries))
        .route("/releases/{address}/messages", get(messages))
        .route("/fans/{address}", get(fan))
        .route("/artists/{address}", get(artist))
        .route("/audit", get(audit))
        .route("/signin", get(signin))
        .route("/me", get(me))
        .route("/docs", get(docs))
        .route("/assets/devwallet.js", get(dev_wallet_script))
}

/// A decimal string of the smallest unit → "2.5 UNIT".
fn amount(text: &str) -> String {
    dreamster_client::units::fmt_amount(text.parse().unwrap_or(0))
}

/// Milliseconds since the epoch → the UTC date.
fn date(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map_or_else(|| "—".to_string(), |t| t.format("%Y-%m-%d").to_string())
}

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Dreamster" }
                    style { (CSS) }
                }
                body {
                    header {
                        nav aria-label="Site" { a href="/" { "Dreamster" } " — perks guaranteed by escrow · " a href="/audit" { "Audit" } " · " a href="/me" { "My perks" } " · " a href="/docs" { "API" } }
                        div #wallet aria-live="polite" {}
                    }
                    p #tx-status role="status" aria-live="polite" {}
                    main { (body) }
                    script type="module" src="/assets/js/app.js" {}
                }
            }
        }
        .into_string(),
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#faf8f5;color:#222}
header{padding:1rem;background:#2b1d3a;color:#fff}header a{color:#fff;font-weight:bold;text-decoration:none}
main{max-width:46rem;margin:auto;padding:1rem;overflow-wrap:anywhere}.card{background:#fff;border-radius:.6rem;padding:1rem;margin:.8rem 0;
box-shadow:0 1px 3px #0002}.perk{display:flex;gap:.8rem;align-items:flex-start}.icon{font-size:2rem}
button{font-size:1.1rem;padding:.6rem 1.2rem;border:0;border-radius:.5rem;background:#6b3fa0;color:#fff}
.muted{color:#595959;font-size:.9rem}.total{font-weight:bold;font-size:1.1rem}
#wallet{margin-top:.5rem;font-size:.95rem}#wallet select{max-width:100%;font-size:1rem}#wallet a{font-weight:normal}
button.small{font-size:.9rem;padding:.3rem .7rem;margin-left:.4rem;background:#fff;color:#2b1d3a}
.card button.small{margin-left:0;border:1px solid #6b3fa0}
#tx-status{margin:0;padding:0 1rem}#tx-status:not(:empty){padding:.6rem 1rem;background:#efe7f7}
#tx-status[data-kind=refused]{background:#fdecea;color:#8a1c1c}#tx-status[data-kind=done]{background:#e8f5e9;color:#1b5e20}
form.action{margin:.5rem 0}form.action button{margin-top:.3rem}input,select,textarea{font-size:1rem;max-width:100%}
textarea{width:100%}.field{margin:.4rem 0}.past{background:#8a1c1c;color:#fff;border-radius:.3rem;padding:.1rem .4rem;font-size:.85rem}
table{border-collapse:collapse;width:100%}.table-wrap{overflow-x:auto}#perk-stats td,#perk-stats th{font-size:.8rem;padding:.25rem}
figure.chart{margin:.8rem 0}figure.chart svg{max-width:100%;height:auto;display:block}figcaption{font-weight:bold;margin-bottom:.3rem}td,th{padding:.3rem .4rem;border-bottom:1px solid #ddd;text-align:left;font-size:.9rem}
details{margin:.8rem 0}summary{cursor:pointer;font-weight:bold}dialog{max-width:30rem}.secret{word-break:break-all}
@media (max-width:30rem){main{padding:.5rem}button{width:100%}}";

async fn home(State(s): State<AppState>) -> Result<Html<axum::body::Bytes>, ApiError> {
    let db = &s.db;
    let html = s.memos.home_page.get(db, (), |_| home_answer(db)).await?;
    Ok(Html(html))
}

/// The home page, kept as rendered: every visit starts here, and nothing it shows depends
/// on the clock (whether a release is on sale now is not on it), so it holds until the
/// read model changes.
pub async fn home_answer(
    db: &sqlx::PgPool,
) -> Result<crate::memo::Answer<axum::body::Bytes>, ApiError> {
    let filter = ReleaseFilter {
        limit: Some(100),
        ..ReleaseFilter::default()
    };
    let releases = releases::releases(db, &filter).await?;
    let Html(html) = home_page(&releases.items);
    Ok(crate::memo::Answer::unchanged(html.into()))
}

fn home_page(releases: &[releases::Release]) -> Html<String> {
    page(
        "Releases",
        html! {
            h1 { "Releases" }
            details #artist-start {
                summary { "For artists: register, create a release" }
                div.card {
                    h2 { "Become an artist" }
                    (action("register_artist", &[], html! {
                        (field("Artist name (1–64 characters)", html! { input name="name" required maxlength="64" autocomplete="off"; }))
                    }, "Register"))
                }
                div.card {
                    h2 { "Create a release" }
                    (action("create_release", &[], html! {
                        (field("Title", html! { input name="title" required maxlength="96"; }))
                        (field("Price (UNIT)", html! { input name="price" required inputmode="decimal" pattern="[0-9]*[.]?[0-9]*" value="5"; }))
                        (field("Editions (empty: open edition)", html! { input name="max_editions" type="number" min="1"; }))
                        (field("Days a holder may dispute a delivery", html! { input name="dispute_days" type="number" min="7" max="90" value="7" required; }))
                    }, "Create release"))
                }
            }
            @if releases.is_empty() { p { "No releases indexed yet." } }
            @for r in releases {
                div.card {
                    h2 { a href={ "/releases/" (r.address) } { (r.title) } }
                    p { "by " a href={ "/artists/" (r.artist) } { (r.artist_name.clone().unwrap_or_else(|| r.artist.to_string())) } " · " (amount(&r.price))
                        " · " (r.perk_count) " perks worth " (amount(&r.total_perk_value)) " · " (r.editions_sold) " sold" }
                }
            }
        },
    )
}

async fn release(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Html<String>, ApiError> {
    // Not kept (measured, session 14): kept, the first request for each of 1 000 releases
    // after every write is a miss that costs more than the page uncached (load bench: p99
    // 37 ms kept, 4.7 ms for its bare SQL).
    let rp = releases::perks(&s.db, address).await?;
    Ok(release_page(&rp, crate::read::now_ms()))
}

/// `?offset=` of the deliveries to mark.
#[derive(Debug, Default, serde::Deserialize)]
struct DueQuery {
    offset: Option<i64>,
}

/// The artist tools' "Deliveries to mark", a page at a time: loaded when the tools open, so
/// a fan's release page carries none of the artist's forms (up to 200 of them were a
/// quarter of its time: load bench, session 15).
async fn deliveries(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<Html<String>, ApiError> {
    // Checked before any turn is taken (`deliveries_due` checks it too).
    let (_, offset) = crate::read::page_bounds(Some(releases::DUE_PAGE), q.offset)?;
    let (due, more) = if offset == 0 {
        releases::deliveries_due(&s.db, address, 0).await?
    } else {
        // A later page reads the release's pending rows up to it, as far as anyone asks:
        // computed at its turn, with every other rare page (`memo::Rooms`).
        let _turn = s.memos.rooms.few.turn().await?;
        releases::deliveries_due(&s.db, address, offset).await?
    };
    Ok(Html(
        deliveries_card(&address.to_string(), &due, offset, more).into_string(),
    ))
}

/// The card of deliveries `offset..` (its forms name the release, spelt once by the caller).
fn deliveries_card(
    release: &str,
    due: &[releases::DueDelivery],
    offset: i64,
    more: bool,
) -> Markup {
    let shown = i64::try_from(due.len()).unwrap_or(0);
    html! {
        div.card #deliveries data-release=(release) {
            h2 { "Deliveries to mark" }
            @if due.is_empty() {
                p.muted { @if offset == 0 { "No physical or event perk is waiting for delivery." }
                    @else { "No more deliveries waiting." } }
            } @else {
                p.muted { "Waiting, soonest due first: " (offset + 1) "–" (offset + shown) @if more { ", more after them" } "." }
            }
            @for d in due {
                (action("mark_delivered", &entitlement(release, d.edition, d.perk), html! {
                    p { (d.icon) " " (d.title) " · edition " (d.edition) " · due " (date(d.deadline)) }
                    (field("How it was delivered (a tracking number, the event's date and place): its hash goes on chain", html! { input name="proof" required; }))
                }, "Mark delivered"))
            }
            @if offset > 0 || more {
                p {
                    @if offset > 0 { button.small.earlier type="button" data-offset=((offset - releases::DUE_PAGE).max(0)) { "Earlier" } }
                    @if more { button.small.next type="button" data-offset=(offset + shown) { "Next " (releases::DUE_PAGE) } }
                }
            }
        }
    }
}

fn release_page(rp: &releases::ReleasePerks, now: i64) -> Html<String> {
    let r = &rp.release;
    // Spelt in SS58 once: the page names the release in every delivery's form.
    let release = r.address.to_string();
    let templates = serde_json::to_string(&releases::template_list()).unwrap_or_default();
    page(
        &r.title,
        html! {
            h1 { (r.title) }
            p { "by " a href={ "/artists/" (r.artist) } { (r.artist_name.clone().unwrap_or_else(|| r.artist.to_string())) }
                " · " a #messages-link href={ "/releases/" (release) "/messages" } { "Messages (artist and holders)" } }
            div.card {
                p { "Price " strong { (amount(&r.price)) } " · " (r.editions_sold) " sold"
                    @if let Some(m) = r.max_editions { " of " (m) } }
                p.muted { "Escrow held now: " (amount(&r.escrow_held)) ". Each perk's share of the price waits in the release contract "
                    "until the perk is delivered, and is refunded to the holder if its deadline passes." }
                // Toggled by app.js: the pages' policy runs no inline handler.
                button #view-perks type="button" aria-controls="perks" aria-expanded="false"
                    { "View Perks" }
            }
            section #perks hidden {
                @for p in &rp.perks {
                    div.card.perk data-perk=(p.perk) {
                        span.icon aria-hidden="true" { (p.icon) }
                        div {
                            h3 { (p.title) " " @if p.deadline < now { span.past { "deadline passed" } } }
                            p { (p.description) }
                            p.muted { (p.category.replace('_', " ")) " · worth " (amount(&p.estimated_value))
                                " · " (amount(&p.escrow_amount)) " in escrow · by " (date(p.deadline))
                                @if let Some(left) = p.remaining { " · " (left) " left" } }
                        }
                    }
                }
                p.total #total-value { "Total perk value: " (amount(&r.total_perk_value)) }
                div.card #buy {
                    h2 { "Buy an edition" }
                    p { "The price, " strong { (amount(&r.price)) } ", buys an edition and these promises, each backed by its escrowed share:" }
                    ul #price-buys {
                        @for p in &rp.perks {
                            @if p.cancelled_at.is_some() || p.deadline <= now || p.remaining == Some(0) {
                                // A new edition does not carry it: say so, not as part of the deal.
                                li.unavailable { s { (p.icon) " " (p.title) } " — " strong {
                                    @if p.cancelled_at.is_some() { "cancelled by the artist" }
                                    @else if p.deadline <= now { "its deadline has passed" }
                                    @else { "none left" }
                                } ": not part of a new edition" }
                            } @else {
                                li { (p.icon) " " (p.title) ": " (amount(&p.escrow_amount)) " held in escrow until delivery, due by " (date(p.deadline)) }
                            }
                        }
                        li { "the rest goes to the artist for the music itself" }
                    }
                    (action("buy", &[("release", release.clone())], html! {}, &format!("Buy for {}", amount(&r.price))))
                }
            }
            details #artist-tools {
                summary { "Artist tools for this release" }
                div.card {
                    h2 { "Add a perk" }
                    script #perk-templates type="application/json" { (maud::PreEscaped(templates.replace("</", "<\\/"))) }
                    form.action.wizard data-kind="add_perk" {
                        input type="hidden" name="release" value=(release);
                        fieldset data-step="1" {
                            legend { "Step 1 of 3: pick a template" }
                            (field("Kind", html! { select name="kind" {
                                @for t in dreamster_types::templates::TEMPLATES.iter() {
                                    option value=(t.kind.slug()) { (t.icon) " " (t.title) }
                                }
                                option value="custom" { "✨ Custom perk" }
                            } }))
                            button type="button" data-goto="2" { "Next" }
                        }
                        fieldset data-step="2" hidden {
                            legend { "Step 2 of 3: the details (every field editable)" }
                            (field("Category", html! { select name="category" {
                                @for c in ["event_access", "exclusive_content", "physical_merchandise", "creative_collaboration", "community"] {
                                    option value=(c) { (c.replace('_', " ")) }
                                }
                            } }))
                            (field("Title", html! { input name="title" required maxlength="96"; }))
                            (field("Description", html! { textarea name="description" maxlength="600" rows="3" {} }))
                            (field("Estimated value (UNIT)", html! { input name="value" required inputmode="decimal" pattern="[0-9]*[.]?[0-9]*"; }))
                            (field("Escrow share (basis points of the price, 100 = 1 %)", html! { input name="escrow_bps" type="number" min="0" max="10000" required; }))
                            (field("Delivery", html! { select name="delivery" {
                                option value="automatic" { "automatic (digital: a link, an invite, a code)" }
                                option value="physical" { "physical (you ship it)" }
                                option value="event" { "event or session" }
                            } }))
                            div.automatic {
                                (field("What holders get on unlock (automatic delivery)", html! { select #secret-kind {
                                    option value="secret" { "one secret for every holder (a link, an invite)" }
                                    option value="codes" { "a code of their own for each edition" }
                                } }))
                                (field("The secret (its salted hash goes on chain; a link needs a long random part)", html! { input name="secret" autocomplete="off"; }))
                                (field("The codes, one per line (their Merkle root goes on chain; each holder gets one)", html! {
                                    textarea name="codes" rows="4" data-list="lines" disabled autocomplete="off" {} }))
                            }
                            (field("Only the first N editions (empty: all)", html! { input name="quantity_limit" type="number" min="1"; }))
                            (field("Deadline, in days from now", html! { input name="deadline" type="number" min="1" max="3650" required data-time="days-from-now"; }))
                            button type="button" data-goto="1" { "Back" } " "
                            button type="button" data-goto="3" { "Next" }
                        }
                        fieldset data-step="3" hidden {
                            legend { "Step 3 of 3: preview, as fans will see it" }
                            div.card.perk.preview { span.icon aria-hidden="true" {} div { h3 {} p.description {} p.muted.terms {} } }
                            button type="button" data-goto="2" { "Back" } " "
                            button type="submit" data-action="add_perk" { "Sign and add the perk" }
                        }
                    }
                }
                @let automatic: Vec<&releases::Perk> = rp.perks.iter().filter(|p| p.delivery == "automatic").collect();
                @if !automatic.is_empty() {
                    div.card {
                        h2 { "Store an automatic perk's secret" }
                        p.muted { "The wizard stores it right after the perk is on chain; if that did not happen, give it here. It is accepted only if it matches the hash on chain." }
                        form #secret-upload data-release=(release) {
                            (field("Perk", html! { select name="perk" { @for p in &automatic { option value=(p.perk) { (p.icon) " " (p.title) } } } }))
                            (field("The secret (a link, an invite)", html! { input name="secret" autocomplete="off"; }))
                            (field("Or, for a perk with a code per edition, the codes in the same order, one per line", html! {
                                textarea name="codes" rows="3" autocomplete="off" {} }))
                            (field("The salt it was added with (0x…; empty: the one this browser kept)", html! {
                                input name="salt" autocomplete="off" spellcheck="false"; }))
                            button type="submit" { "Store the secret" }
                            p.outcome aria-live="polite" {}
                        }
                    }
                }
                // Filled when the tools open (`deliveries`); app.js loads it.
                div.card #deliveries data-release=(release) {
                    h2 { "Deliveries to mark" }
                    p.muted { "Loading the deliveries waiting…" }
                }
                div.card {
                    h2 { "Withdraw" }
                    p.muted { "What the release owes you: the music's share of every sale, and every perk share once delivered and past its dispute window." }
                    (action("withdraw", &[("release", release.clone())], html! {}, "Withdraw"))
                }
            }
        },
    )
}

fn state_badge(state: &str) -> Markup {
    let color = match state {
        "confirmed" | "unlocked" | "delivered" => "#2e7d32",
        "overdue" | "refundable" | "disputed" | "cancelled" | "delivered_late" => "#c62828",
        "refunded" => "#6d4c41",
        _ => "#555",
    };
    html! { span style={ "background:" (color) ";color:#fff;border-radius:.3rem;padding:.1rem .4rem;font-size:.85rem" } { (state) } }
}

fn origin_link(explorer: &str, at: &crate::read::Origin) -> Markup {
    let ext = at.extrinsic.map(|x| format!("-{x}")).unwrap_or_default();
    html! { a.muted href={ (explorer) "#/explorer/query/" (at.block) } title="the block this figure came from" { "#" (at.block) (ext) } }
}

async fn fan(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Html<String>, ApiError> {
    let filter = crate::fans::BenefitFilter {
        state: None,
        limit: Some(100),
        offset: Some(0),
    };
    let d = crate::fans::fan(&s.db, address, &filter).await?;
    // Each release in SS58 once: its cards name it in links and forms, and an edition's
    // perks share it (spelt at each use, encoding was a sixth of this page's CPU).
    let mut spelt: std::collections::HashMap<Address, String> = std::collections::HashMap::new();
    for b in &d.benefits.items {
        spelt
            .entry(b.release)
            .or_insert_with(|| b.release.to_string());
    }
    let spell = |a: &Address| spelt.get(a).map_or_else(|| a.to_string(), String::clone);
    Ok(page(
        "My perks",
        html! {
            h1 { "My perks" }
            p.muted { (d.fan) " · " (d.editions) " edition(s)" }
            @if d.benefits.items.is_empty() { p { "No editions held yet." } }
            @for b in &d.benefits.items {
                @let release = spell(&b.release);
                div.card.perk.benefit data-state=(b.state) data-release=(release) data-edition=(b.edition) data-perk=(b.perk) {
                    span.icon aria-hidden="true" { (b.icon) }
                    div {
                        h3 { (b.title) " " (state_badge(&b.state)) }
                        p { a href={ "/releases/" (release) } { (b.release_title) } " · edition " (b.edition)
                            " · " (amount(&b.escrow)) " in escrow · due " (date(b.deadline)) }
                        p.muted { (b.access) " · " (origin_link(&s.explorer, &b.last_change))
                            " · " a href={ "/releases/" (release) "/messages" } { "message the artist" } }
                        (benefit_actions(b, &release))
                    }
                }
            }
            @let editions = held_editions(&d.benefits.items);
            @if !editions.is_empty() {
                h2 { "Give an edition away" }
                p.muted { "The perks follow the edition: the new holder gets everything not yet delivered." }
                @for (release, title, edition) in &editions {
                    div.card {
                        (action("transfer", &[("release", spell(release)), ("edition", edition.to_string())], html! {
                            (field(&format!("{title}, edition {edition}: to (SS58 address)"), html! { input name="to" required autocomplete="off"; }))
                        }, "Transfer"))
                    }
                }
            }
        },
    ))
}

/// The editions behind a fan's benefits, each once: (release, title, edition).
fn held_editions(items: &[crate::fans::Benefit]) -> Vec<(Address, String, i32)> {
    let mut out: Vec<(Address, String, i32)> = Vec::new();
    for b in items {
        if !out
            .iter()
            .any(|(r, _, e)| *r == b.release && *e == b.edition)
        {
            out.push((b.release, b.release_title.clone(), b.edition));
        }
    }
    out
}

/// What the holder can do with a perk in its state. The contract has the last word: a
/// button the contract would refuse is explained in a sentence before any signature.
fn benefit_actions(b: &crate::fans::Benefit, release: &str) -> Markup {
    let at = entitlement(release, b.edition, b.perk);
    html! {
        @match (b.state.as_str(), b.delivery.as_str()) {
            ("pending", "automatic") => (action("unlock", &at, html! {}, "Unlock")),
            ("overdue" | "refundable" | "cancelled", _) => (action("claim_refund", &at, html! {}, &format!("Claim refund of {}", amount(&b.escrow)))),
            ("delivered_late", _) => {
                p.muted { "Delivered after the deadline: it counts only if you accept it." }
                (action("confirm", &at, html! {}, "Accept the late delivery"))
                (action("claim_refund", &at, html! {}, &format!("Take the refund of {}", amount(&b.escrow))))
            }
            ("unlocked" | "confirmed", "automatic") => {
                button.reveal type="button" data-release=(release) data-edition=(b.edition) data-perk=(b.perk) { "Reveal" }
                p.secret aria-live="polite" {}
            }
            _ => {}
        }
        @if matches!(b.state.as_str(), "delivered" | "unlocked") {
            (action("confirm", &at, html! {}, "Confirm delivery"))
            details.dispute {
                summary { "Dispute this delivery" }
                (action("dispute", &at, html! {
                    (field("What went wrong (kept by Dreamster for the arbiter; its hash goes on chain)", html! { textarea name="evidence" required maxlength="4000" rows="3" {} }))
                }, "Open a dispute"))
            }
        }
        @if matches!(b.state.as_str(), "delivered" | "unlocked" | "confirmed") && b.rating.is_none() {
            (action("rate", &at, html! {
                (field("Your rating", html! { select name="stars" { @for n in (1..=5).rev() { option value=(n) { (n) " ★" } } } }))
            }, "Rate"))
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.0} %"))
}

async fn artist(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Html<axum::body::Bytes>, ApiError> {
    let state = &s;
    let html = s
        .memos
        .artist_page
        .get_for_artist(&s.db, address, |now| artist_answer(state, address, now))
        .await?;
    Ok(Html(html))
}

/// An artist's page at `now`, kept as rendered until the read model changes or one of the
/// artist's commitments falls overdue (the overdue count and its flag are the only things
/// on it the clock moves). It runs in a `memo::Room`, one statement at a time: the
/// profile's reads one by one, and its analytics computed here, not taken from their own
/// kept answers (a computation waiting on another's turn while holding its own could, a
/// few at once, hold every turn).
pub async fn artist_answer(
    s: &AppState,
    address: Address,
    now: i64,
) -> Result<crate::memo::Answer<axum::body::Bytes>, ApiError> {
    let a = crate::artists::artist_at(&s.db, address, now, crate::artists::Reads::OneByOne).await?;
    let until = crate::audit::overdue_of_changes_at(&s.db, address, now).await?;
    let stats = crate::artists::analytics(&s.db, address).await?;
    let Html(html) = artist_page(&a, &stats);
    Ok(crate::memo::Answer {
        value: html.into(),
        until,
    })
}

fn artist_page(a: &crate::artists::Artist, stats: &crate::artists::Analytics) -> Html<String> {
    let r = &a.reputation;
    page(
        &a.name,
        html! {
            h1 { (a.name) }
            div.card {
                p { "On time " strong { (pct(r.on_time_percent)) } " · rating "
                    strong { (r.average_rating.map_or("—".into(), |v| format!("{v:.1} ★"))) } " (" (r.rating_count) ")"
                    " · refunded overdue " (r.refunded_overdue) " · disputes won " (r.disputes_won) " / lost " (r.disputes_lost) }
                p.muted { "Refunds of cancelled perks " (r.cancelled) " · automatic perks their fans never unlocked " (r.unclaimed)
                    " · disputes no arbiter ruled on in time " (r.rulings_expired) }
                @if r.self_dealt > 0 {
                    p.self-dealt { "Not counted above: " strong { (r.self_dealt) } " outcomes from editions the artist bought or held themself"
                        " (" (r.self_rating_count) " ratings)." }
                }
                p { (stats.sales) " editions sold · revenue " (amount(&stats.revenue)) }
                (crate::charts::sales_per_day(&stats.by_day.iter().map(|d| (d.day.clone(), d.sales)).collect::<Vec<_>>()))
            }
            @if a.flagged {
                div.card #overdue-flag role="alert" {
                    strong { "⚠ " (a.overdue_now) " commitments overdue" }
                    " — perks past their deadline, neither delivered nor refunded. Each holder can take their refund now; after the grace anyone, Dreamster's keeper included, can trigger it for them."
                }
            }
            @if !a.undeliverable.is_empty() {
                div.card #undeliverable {
                    h2 { "Perks fans can unlock but not receive yet" }
                    p.muted { "These automatic perks have no secret (or code pool) on Dreamster yet: holders who unlock them get nothing until the artist uploads it." }
                    ul { @for u in &a.undeliverable {
                        li { a href={ "/releases/" (u.release) } { (u.title) } " (perk " (u.perk) ") · " (u.unlocked) " holder(s) waiting" }
                    } }
                }
            }
            h2 { "Which perks drive sales, engagement and satisfaction" }
            div.card.charts {
                (crate::charts::bars("perk-sales", "Sales: editions sold after the perk was added", "editions", None,
                    &stats.perks.iter().map(|p| crate::charts::Bar { label: format!("{} {}", p.icon, p.title), value: Some(p.sales_after as f64) }).collect::<Vec<_>>()))
                (crate::charts::bars("perk-engagement", "Engagement: holders who got the perk (delivered or unlocked)", "% of holders", Some(100.0),
                    &stats.perks.iter().map(|p| crate::charts::Bar { label: format!("{} {}", p.icon, p.title), value: p.delivery_rate }).collect::<Vec<_>>()))
                (crate::charts::bars("perk-rating", "Satisfaction: average rating", "stars (1–5)", Some(5.0),
                    &stats.perks.iter().map(|p| crate::charts::Bar { label: format!("{} {}", p.icon, p.title), value: p.average_rating }).collect::<Vec<_>>()))
                (crate::charts::bars("perk-trouble", "Trouble: disputes and refunds", "disputes + refunds", None,
                    &stats.perks.iter().map(|p| crate::charts::Bar { label: format!("{} {}", p.icon, p.title), value: Some((p.disputes + p.refunds) as f64) }).collect::<Vec<_>>()))
            }
            h2 { "Perks in figures" }
            div.table-wrap {
                table #perk-stats {
                    tr { th { "Perk" } th { "Granted" } th { "Delivered" } th { "On time" } th { "Hours to deliver" }
                         th { "Confirmed" } th { "Rating" } th { "Disputes" } th { "Refunds" } th { "Sales before / after" } }
                    @for p in &stats.perks {
                        tr { td { (p.icon) " " (p.title) } td { (p.granted) } td { (p.delivered) " (" (pct(p.delivery_rate)) ")" }
                             td { (pct(p.on_time_percent)) } td { (p.avg_hours_to_delivery.map_or("—".into(), |h| format!("{h:.1}"))) }
                             td { (p.confirmations) } td { (p.average_rating.map_or("—".into(), |v| format!("{v:.1}"))) }
                             td { (p.disputes) } td { (p.refunds) } td { (p.sales_before) " / " (p.sales_after) } }
                    }
                }
            }
            details #webhook {
                summary { "Webhook: unlock notifications for your own automation" }
                div.card {
                    p.muted { "Each unlock of your perks is POSTed to this URL (public addresses only; redirects are not followed), signed with an HMAC key over its timestamp, delivery id and body. Failed calls are retried; after 20 failures in a row the hook turns off until you save it again. Signing in with your wallet is asked first." }
                    form #webhook-form {
                        (field("Webhook URL", html! { input name="url" type="url" required placeholder="https://…"; }))
                        button type="submit" { "Save webhook" } " "
                        button #webhook-refresh type="button" { "Show deliveries" }
                    }
                    p #webhook-result.secret aria-live="polite" {}
                    ul #webhook-deliveries {}
                }
            }
            script type="module" src="/assets/js/webhook.js" {}
            h2 { "Releases" }
            @for rel in &a.releases {
                p { a href={ "/releases/" (rel.address) } { (rel.title) } " · " (rel.editions_sold) " sold" }
            }
        },
    )
}

async fn audit(State(s): State<AppState>) -> Result<Html<axum::body::Bytes>, ApiError> {
    let (db, explorer) = (&s.db, s.explorer.as_str());
    let html = s
        .memos
        .audit_page
        .get(db, (), |now| audit_answer(db, explorer, now))
        .await?;
    Ok(Html(html))
}

/// The audit page at `now`, kept as rendered: with its 200 arbiter's cases and their
/// forms it takes longer to render (each address spelt in SS58 several times) than its
/// kept answers take to read, so it is kept whole, until the first of their `until`s.
pub async fn audit_answer(
    db: &sqlx::PgPool,
    explorer: &str,
    now: i64,
) -> Result<crate::memo::Answer<axum::body::Bytes>, ApiError> {
    use crate::audit::{items_answer, league_answer, AuditList, AuditQuery};
    let overdue = items_answer(db, &AuditQuery::first(AuditList::Overdue, 100), now).await?;
    let disputes = items_answer(db, &AuditQuery::first(AuditList::Disputes, 100), now).await?;
    let refunds = items_answer(db, &AuditQuery::first(AuditList::Refunds, 100), now).await?;
    let league = league_answer(db, 100, 0, now).await?;
    let cases = crate::disputes::queue_answer(db, now).await?;
    let until = [
        overdue.until,
        disputes.until,
        refunds.until,
        league.until,
        cases.until,
    ]
    .into_iter()
    .flatten()
    .min();
    let Html(html) = audit_page(
        explorer,
        &overdue.value,
        &disputes.value,
        &refunds.value,
        &league.value,
        &cases.value,
    );
    Ok(crate::memo::Answer {
        value: html.into(),
        until,
    })
}

fn audit_page(
    explorer: &str,
    overdue: &crate::read::Page<crate::audit::AuditItem>,
    disputes: &crate::read::Page<crate::audit::AuditItem>,
    refunds: &crate::read::Page<crate::audit::AuditItem>,
    league: &crate::read::Page<crate::audit::LeagueRow>,
    cases: &[crate::disputes::DisputeCase],
) -> Html<String> {
    let list = |title: &str, id: &str, items: &crate::read::Page<crate::audit::AuditItem>| {
        html! {
            h2 { (title) " (" (items.total) ")" }
            ul id=(id) {
                @for i in &items.items {
                    li { a href={ "/releases/" (i.release) } { (i.release_title) } " · edition " (i.edition) " · " (i.perk_title)
                         " · " (amount(&i.amount)) " · " (origin_link(explorer, &i.at)) }
                }
            }
        }
    };
    page(
        "Audit",
        html! {
            h1 { "Audit" }
            p.muted { "Every figure links to the block it came from; `dreamster audit` re-derives them from the chain alone." }
            h2 { "Reputation league" }
            ol #league {
                @for row in &league.items {
                    li { a href={ "/artists/" (row.artist) } { (row.name) }
                         @if row.flagged { " " span.flag title="commitments overdue now" { "⚠ " (row.overdue_now) " overdue" } }
                         " — on time " (pct(row.reputation.on_time_percent))
                         ", rating " (row.reputation.average_rating.map_or("—".into(), |v| format!("{v:.1}")))
                         ", overdue refunds " (row.reputation.refunded_overdue)
                         @if row.reputation.self_dealt > 0 { ", " (row.reputation.self_dealt) " self-dealt" } }
                }
            }
            (list("Overdue perks", "overdue", overdue))
            (list("Open disputes", "disputes", disputes))
            h2 { "Arbiter's queue" }
            p.muted { "Arbiters of the registry rule on open disputes: refund the holder, or let the delivery stand." }
            @if cases.is_empty() { p #no-disputes { "No dispute is waiting for a ruling." } }
            @for c in cases {
                div.card.case data-release=(c.release) data-edition=(c.edition) data-perk=(c.perk) {
                    h3 { (c.perk_title) " · " a href={ "/releases/" (c.release) } { (c.release_title) } " · edition " (c.edition) }
                    p { (amount(&c.escrow)) " in escrow" }
                    p.muted { "Evidence hash on chain: " (c.evidence_hash.clone().unwrap_or_default()) }
                    button.read-evidence.small type="button" data-release=(c.release) data-edition=(c.edition) data-perk=(c.perk)
                        { "Read the holder's evidence (arbiters and the parties)" }
                    blockquote.evidence aria-live="polite" {}
                    (action("resolve", &[("release", c.release.to_string()), ("edition", c.edition.to_string()), ("perk", c.perk.to_string()), ("refund", "true".into())], html! {}, "Rule for the holder: refund"))
                    (action("resolve", &[("release", c.release.to_string()), ("edition", c.edition.to_string()), ("perk", c.perk.to_string()), ("refund", "false".into())], html! {}, "Rule for the artist: the delivery stands"))
                }
            }
            (list("Refunds", "refunds", refunds))
        },
    )
}

/// Sign-In with Substrate in the browser: the wallet signs the challenge's message; the
/// token is kept in this browser's storage for /me.
async fn signin() -> Html<String> {
    page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p { "With a wallet extension, pick your account at the top of the page and press " strong { "Sign in" } ". "
                "Without one, ask for the message here, sign it with any Substrate signer, and paste the signature." }
            div.card {
                p { label for="address" { "Your address" } br; input #address type="text" size="50" placeholder="5…" autocomplete="off"; }
                button #challenge type="button" { "Get the message to sign" }
                pre #message style="white-space:pre-wrap" {}
                p { label for="signature" { "Signature" } br; input #signature type="text" size="50" placeholder="0x…" autocomplete="off"; }
                button #verify type="button" { "Sign in" }
                p #status role="status" {}
            }
            script type="module" src="/assets/js/signin-manual.js" {}
        },
    )
}

/// The signed-in fan's benefits, with the secrets of unlocked perks fetched on demand.
async fn me() -> Html<String> {
    page(
        "My perks",
        html! {
            h1 { "My perks" }
            p #who.muted { "Loading…" }
            section #benefits {}
            script type="module" src="/assets/js/me.js" {}
        },
    )
}

/// Private messages of a release: the artist's inbox, or a holder's thread with the
/// artist. The page signs in with the wallet; the threads come from the API, which lets
/// only the two parties read them.
async fn messages(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Html<String>, ApiError> {
    let r = releases::release(&s.db, address).await?;
    Ok(page(
        &format!("Messages · {}", r.title),
        html! {
            h1 { "Messages · " a href={ "/releases/" (r.address) } { (r.title) } }
            p.muted { "Private between the artist and each holder: shipping addresses, invitations, personal experiences." }
            section #inbox data-release=(r.address) data-artist=(r.artist) { "Loading…" }
            script type="module" src="/assets/js/messages.js" {}
        },
    ))
}

/// The dev wallet's bundle, served only where it may be used: the API was started with
/// `--dev-wallet` and the chain is the local dev chain (genesis hash checked).
async fn dev_wallet_script(
    State(s): State<AppState>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    if !crate::chain::dev_wallet_allowed(&s).await {
        return Err(ApiError::not_found(
            "the dev wallet is offered on the local dev chain only",
        ));
    }
    let path = s.web.join("dist/devwallet.js");
    let body = tokio::fs::read(&path).await.map_err(|_| {
        ApiError::not_found(format!(
            "{} is missing: run scripts/setup.sh",
            path.display()
        ))
    })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        body,
    ))
}

/// Swagger UI over `/openapi.json`, from the static files setup.sh fetched.
async fn docs(State(s): State<AppState>) -> Html<String> {
    if s.swagger_ui.is_none() {
        return page(
            "API documentation",
            html! { h1 { "API documentation" } p { "Swagger UI is not installed here (run scripts/setup.sh); the OpenAPI document is at "
            a href="/openapi.json" { "/openapi.json" } "." } },
        );
    }
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Dreamster API" }
                    link rel="stylesheet" href="/docs/assets/swagger-ui.css";
                }
                body {
                    div #swagger-ui {}
                    script src="/docs/assets/swagger-ui-bundle.js" {}
                    // A file, not an inline script: the pages' policy allows no inline script.
                    script src="/assets/js/swagger-init.js" {}
                }
            }
        }
        .into_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_amounts() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_796_133_600_000), "2026-12-01");
        assert_eq!(super::amount("2500000000000"), "2.5 UNIT");
        assert_eq!(super::amount("10000000000000"), "10 UNIT");
    }

    /// The home page is kept until the read model changes (`Answer::unchanged`), so nothing
    /// on it may depend on the clock: a release's sale window and on-sale flag — the fields
    /// of a `Release` that do — leave it as it was.
    #[test]
    fn the_home_page_does_not_depend_on_the_clock() {
        use super::{home_page, releases, Address};
        let release = |on_sale: bool, sale_start: i64, sale_end: Option<i64>| releases::Release {
            address: Address([1; 32]),
            title: "Night Drive".into(),
            artist: Address([2; 32]),
            artist_name: Some("Nova Lights".into()),
            price: "5000000000000".into(),
            max_editions: Some(100),
            editions_sold: 3,
            sale_start,
            sale_end,
            on_sale,
            perk_count: 2,
            total_perk_value: "9000000000000".into(),
            escrow_held: "100".into(),
            created: crate::read::Origin {
                block: 7,
                extrinsic: Some(1),
            },
        };
        let open = home_page(&[release(true, 0, None)]).0;
        let closed = home_page(&[release(false, 5, Some(6))]).0;
        assert!(open.contains("Night Drive"));
        assert_eq!(open, closed);
    }
}
