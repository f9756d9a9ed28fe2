//! Server-rendered pages: plain HTML, a little CSS for phones, no build step.

use axum::extract::State;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::error::{ApiError, ApiPath};
use crate::read::{self, ReleaseFilter};
use crate::AppState;

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
                    header { a href="/" { "Dreamster" } " — perks guaranteed by escrow · " a href="/audit" { "Audit" } " · " a href="/me" { "My perks" } " · " a href="/docs" { "API" } }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#faf8f5;color:#222}
header{padding:1rem;background:#2b1d3a;color:#fff}header a{color:#fff;font-weight:bold;text-decoration:none}
main{max-width:46rem;margin:auto;padding:1rem}.card{background:#fff;border-radius:.6rem;padding:1rem;margin:.8rem 0;
box-shadow:0 1px 3px #0002}.perk{display:flex;gap:.8rem;align-items:flex-start}.icon{font-size:2rem}
button{font-size:1.1rem;padding:.6rem 1.2rem;border:0;border-radius:.5rem;background:#6b3fa0;color:#fff}
.muted{color:#666;font-size:.9rem}.total{font-weight:bold;font-size:1.1rem}";

pub async fn home(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let filter = ReleaseFilter {
        artist: None,
        category: None,
        on_sale: None,
        limit: Some(100),
        offset: Some(0),
    };
    let releases = read::releases(&s.db, &filter).await?;
    Ok(page(
        "Releases",
        html! {
            h1 { "Releases" }
            @if releases.items.is_empty() { p { "No releases indexed yet." } }
            @for r in &releases.items {
                div.card {
                    h2 { a href={ "/releases/" (r.address) } { (r.title) } }
                    p { "by " a href={ "/artists/" (r.artist) } { (r.artist_name.clone().unwrap_or_else(|| r.artist.clone())) } " · " (amount(&r.price))
                        " · " (r.perk_count) " perks worth " (amount(&r.total_perk_value)) " · " (r.editions_sold) " sold" }
                }
            }
        },
    ))
}

pub async fn release(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Html<String>, ApiError> {
    let rp = read::perks(&s.db, &address).await?;
    let r = &rp.release;
    Ok(page(
        &r.title,
        html! {
            h1 { (r.title) }
            p { "by " a href={ "/artists/" (r.artist) } { (r.artist_name.clone().unwrap_or_else(|| r.artist.clone())) } }
            div.card {
                p { "Price " strong { (amount(&r.price)) } " · " (r.editions_sold) " sold"
                    @if let Some(m) = r.max_editions { " of " (m) } }
                p.muted { "Escrow held now: " (amount(&r.escrow_held)) ". Each perk's share of the price waits in the release contract "
                    "until the perk is delivered, and is refunded to the holder if its deadline passes." }
                button #view-perks type="button" aria-controls="perks" aria-expanded="false"
                    onclick="var p=document.getElementById('perks');p.hidden=!p.hidden;this.setAttribute('aria-expanded',!p.hidden);this.textContent=p.hidden?'View Perks':'Hide Perks';"
                    { "View Perks" }
            }
            section #perks hidden {
                @for p in &rp.perks {
                    div.card.perk {
                        span.icon { (p.icon) }
                        div {
                            h3 { (p.title) }
                            p { (p.description) }
                            p.muted { (p.category.replace('_', " ")) " · worth " (amount(&p.estimated_value))
                                " · " (amount(&p.escrow_amount)) " in escrow · by " (date(p.deadline))
                                @if let Some(left) = p.remaining { " · " (left) " left" } }
                        }
                    }
                }
                p.total #total-value { "Total perk value: " (amount(&r.total_perk_value)) }
            }
        },
    ))
}

fn state_badge(state: &str) -> Markup {
    let color = match state {
        "confirmed" | "unlocked" | "delivered" => "#2e7d32",
        "overdue" | "refundable" | "disputed" => "#c62828",
        "refunded" => "#6d4c41",
        _ => "#555",
    };
    html! { span style={ "background:" (color) ";color:#fff;border-radius:.3rem;padding:.1rem .4rem;font-size:.85rem" } { (state) } }
}

fn origin_link(explorer: &str, at: &crate::read::Origin) -> Markup {
    let ext = at.extrinsic.map(|x| format!("-{x}")).unwrap_or_default();
    html! { a.muted href={ (explorer) "#/explorer/query/" (at.block) } title="the block this figure came from" { "#" (at.block) (ext) } }
}

pub async fn fan(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Html<String>, ApiError> {
    let filter = crate::dashboards::BenefitFilter {
        state: None,
        limit: Some(100),
        offset: Some(0),
    };
    let d = crate::dashboards::fan(&s.db, &address, &filter).await?;
    Ok(page(
        "My perks",
        html! {
            h1 { "My perks" }
            p.muted { (d.fan) " · " (d.editions) " edition(s)" }
            @if d.benefits.items.is_empty() { p { "No editions held yet." } }
            @for b in &d.benefits.items {
                div.card.perk.benefit data-state=(b.state) {
                    span.icon { (b.icon) }
                    div {
                        h3 { (b.title) " " (state_badge(&b.state)) }
                        p { a href={ "/releases/" (b.release) } { (b.release_title) } " · edition " (b.edition)
                            " · " (amount(&b.escrow)) " in escrow · due " (date(b.deadline)) }
                        p.muted { (b.access) " · " (origin_link(&s.explorer, &b.last_change)) }
                    }
                }
            }
        },
    ))
}

/// Sales per day as an inline SVG bar chart.
fn sales_chart(days: &[crate::dashboards::DayFigures]) -> Markup {
    let max = days.iter().map(|d| d.sales).max().unwrap_or(1).max(1);
    let width = (days.len().max(1) * 40) as i64;
    html! {
        svg #sales-chart viewBox={ "0 0 " (width) " 120" } width="100%" height="140" role="img" aria-label="editions sold per day" {
            @for (i, d) in days.iter().enumerate() {
                @let h = d.sales * 100 / max;
                rect x=((i * 40 + 8) as i64) y=(105 - h) width="24" height=(h) fill="#6b3fa0" { title { (d.day) ": " (d.sales) " sold" } }
                text x=((i * 40 + 20) as i64) y="118" font-size="8" text-anchor="middle" { (d.day.get(5..).unwrap_or(&d.day)) }
            }
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.0} %"))
}

pub async fn artist(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Html<String>, ApiError> {
    let a = crate::dashboards::artist(&s.db, &address).await?;
    let stats = crate::dashboards::analytics(&s.db, &address).await?;
    let r = &a.reputation;
    Ok(page(
        &a.name,
        html! {
            h1 { (a.name) }
            div.card {
                p { "On time " strong { (pct(r.on_time_percent)) } " · rating "
                    strong { (r.average_rating.map_or("—".into(), |v| format!("{v:.1} ★"))) } " (" (r.rating_count) ")"
                    " · refunded overdue " (r.refunded_overdue) " · disputes won " (r.disputes_won) " / lost " (r.disputes_lost) }
                p { (stats.sales) " editions sold · revenue " (amount(&stats.revenue)) }
                (sales_chart(&stats.by_day))
            }
            h2 { "Perks" }
            div style="overflow-x:auto" {
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
            h2 { "Releases" }
            @for rel in &a.releases {
                p { a href={ "/releases/" (rel.address) } { (rel.title) } " · " (rel.editions_sold) " sold" }
            }
        },
    ))
}

pub async fn audit(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let all = crate::dashboards::AuditFilter {
        artist: None,
        limit: Some(100),
        offset: Some(0),
    };
    let overdue = crate::dashboards::audit_items(&s.db, "overdue", &all).await?;
    let disputes = crate::dashboards::audit_items(&s.db, "disputes", &all).await?;
    let refunds = crate::dashboards::audit_items(&s.db, "refunds", &all).await?;
    let league = crate::dashboards::league(&s.db, Some(100), Some(0)).await?;
    let list = |title: &str, id: &str, items: &crate::read::Page<crate::dashboards::AuditItem>| {
        html! {
            h2 { (title) " (" (items.total) ")" }
            ul id=(id) {
                @for i in &items.items {
                    li { a href={ "/releases/" (i.release) } { (i.release_title) } " · edition " (i.edition) " · " (i.perk_title)
                         " · " (amount(&i.amount)) " · " (origin_link(&s.explorer, &i.at)) }
                }
            }
        }
    };
    Ok(page(
        "Audit",
        html! {
            h1 { "Audit" }
            p.muted { "Every figure links to the block it came from; `dreamster audit` re-derives them from the chain alone." }
            h2 { "Reputation league" }
            ol #league {
                @for row in &league.items {
                    li { a href={ "/artists/" (row.artist) } { (row.name) } " — on time " (pct(row.reputation.on_time_percent))
                         ", rating " (row.reputation.average_rating.map_or("—".into(), |v| format!("{v:.1}")))
                         ", overdue refunds " (row.reputation.refunded_overdue) }
                }
            }
            (list("Overdue perks", "overdue", &overdue))
            (list("Open disputes", "disputes", &disputes))
            (list("Refunds", "refunds", &refunds))
        },
    ))
}

/// Sign-In with Substrate in the browser: the wallet signs the challenge's message; the
/// token is kept in this browser's storage for /me.
pub async fn signin() -> Html<String> {
    page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p { "Ask for a message, sign it with your Substrate wallet (polkadot.js: “Sign message”), paste the signature." }
            div.card {
                p { label for="address" { "Your address" } br; input #address type="text" size="50" placeholder="5…" autocomplete="off"; }
                button #challenge type="button" { "Get the message to sign" }
                pre #message style="white-space:pre-wrap" {}
                p { label for="signature" { "Signature" } br; input #signature type="text" size="50" placeholder="0x…" autocomplete="off"; }
                button #verify type="button" { "Sign in" }
                p #status role="status" {}
            }
            script { (maud::PreEscaped(SIGNIN_JS)) }
        },
    )
}

const SIGNIN_JS: &str = r#"
let nonce = null;
const $ = (id) => document.getElementById(id);
async function call(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) { $('status').textContent = j.message; throw new Error(j.message); }
  return j;
}
$('challenge').onclick = async () => {
  const j = await call('/auth/challenge', { address: $('address').value.trim() });
  nonce = j.nonce;
  $('message').textContent = j.message;
};
$('verify').onclick = async () => {
  const j = await call('/auth/verify', { address: $('address').value.trim(), nonce, signature: $('signature').value.trim() });
  localStorage.setItem('dreamster.token', j.token);
  localStorage.setItem('dreamster.address', j.address);
  location.href = '/me';
};
"#;

/// The signed-in fan's benefits, with the secrets of unlocked perks fetched on demand.
pub async fn me() -> Html<String> {
    page(
        "My perks",
        html! {
            h1 { "My perks" }
            p #who.muted { "Loading…" }
            section #benefits {}
            script { (maud::PreEscaped(ME_JS)) }
        },
    )
}

const ME_JS: &str = r#"
const token = localStorage.getItem('dreamster.token');
const me = localStorage.getItem('dreamster.address');
const who = document.getElementById('who');
const list = document.getElementById('benefits');
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
async function load() {
  if (!token || !me) { who.textContent = ''; const a = el('a', null, 'Sign in first'); a.href = '/signin'; who.append(a); return; }
  const r = await fetch('/api/fans/' + encodeURIComponent(me) + '/perks?limit=100');
  const d = await r.json();
  who.textContent = me + ' · ' + d.editions + ' edition(s)';
  for (const b of d.benefits.items) {
    const card = el('div', 'card perk benefit');
    card.dataset.state = b.state;
    card.append(el('span', 'icon', b.icon));
    const body = el('div');
    body.append(el('h3', null, b.title + ' — ' + b.state));
    body.append(el('p', null, b.release_title + ' · edition ' + b.edition));
    body.append(el('p', 'muted', b.access));
    if (b.delivery === 'automatic' && (b.state === 'unlocked' || b.state === 'confirmed')) {
      const btn = el('button', 'reveal', 'Get it');
      const out = el('p', 'secret');
      btn.onclick = async () => {
        const s = await fetch('/api/releases/' + b.release + '/editions/' + b.edition + '/perks/' + b.perk + '/secret',
                              { headers: { authorization: 'Bearer ' + token } });
        const j = await s.json();
        out.textContent = s.ok ? j.secret : j.message;
      };
      body.append(btn, out);
    }
    card.append(body);
    list.append(card);
  }
}
load();
"#;

/// Swagger UI over `/openapi.json`, from the static files setup.sh fetched.
pub async fn docs(State(s): State<AppState>) -> Html<String> {
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
                    script { (maud::PreEscaped("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });")) }
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
}
