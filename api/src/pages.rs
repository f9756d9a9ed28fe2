//! Server-rendered pages: plain HTML, a little CSS for phones, no build step.

use axum::extract::State;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::error::{ApiError, ApiPath};
use crate::read::{self, ReleaseFilter};
use crate::AppState;

const UNIT: u128 = 1_000_000_000_000;

fn amount(text: &str) -> String {
    let v: u128 = text.parse().unwrap_or(0);
    let (whole, frac) = (v / UNIT, v % UNIT);
    if frac == 0 {
        format!("{whole} UNIT")
    } else {
        format!(
            "{whole}.{} UNIT",
            format!("{frac:012}").trim_end_matches('0')
        )
    }
}

fn date(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
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
                    header { a href="/" { "Dreamster" } " — perks guaranteed by escrow" }
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
                    p { "by " (r.artist_name.clone().unwrap_or_else(|| r.artist.clone())) " · " (amount(&r.price))
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
            p { "by " (r.artist_name.clone().unwrap_or_else(|| r.artist.clone())) }
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
