//! Inline SVG charts for the pages: every chart has labelled axes, a title a screen reader
//! reads (`role="img"` + `aria-label`), and a value on each bar.

use maud::{html, Markup};

const ROW: i64 = 26;
const LABEL_W: i64 = 190;
const PLOT_W: i64 = 360;
const BAR_COLOR: &str = "#6b3fa0";

/// A "nice" upper bound for an axis and its tick step (1, 2 or 5 × 10ⁿ); counts get whole
/// steps.
fn axis(max: f64, counts: bool) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if counts {
        step = step.max(1.0);
    }
    ((max / step).ceil() * step, step)
}

fn fmt(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One bar of a horizontal bar chart: a label, a value (None: no data), its text.
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
}

/// Horizontal bars, one per item, with the value axis (ticks, unit) below.
pub fn bars(id: &str, title: &str, unit: &str, fixed_max: Option<f64>, items: &[Bar]) -> Markup {
    let data_max = items.iter().filter_map(|b| b.value).fold(0.0, f64::max);
    let counts = items
        .iter()
        .filter_map(|b| b.value)
        .all(|v| v.fract() == 0.0);
    let (max, step) = axis(fixed_max.unwrap_or(data_max), counts);
    let height = ROW * items.len().max(1) as i64 + 44;
    let x = |v: f64| LABEL_W + ((v / max) * PLOT_W as f64).round() as i64;
    let ticks: Vec<f64> = (0..=((max / step).round() as i64))
        .map(|i| i as f64 * step)
        .collect();
    html! {
        figure.chart {
            figcaption { (title) }
            svg id=(id) viewBox={ "0 0 " (LABEL_W + PLOT_W + 50) " " (height) } width=(LABEL_W + PLOT_W + 50) role="img"
                aria-label={ (title) ", " (unit) } {
                @for t in &ticks {
                    line x1=(x(*t)) x2=(x(*t)) y1="4" y2=(height - 34) stroke="#ddd" {}
                    text x=(x(*t)) y=(height - 20) font-size="11" text-anchor="middle" fill="#444" { (fmt(*t)) }
                }
                line x1=(LABEL_W) x2=(LABEL_W) y1="4" y2=(height - 34) stroke="#444" {}
                text x=(LABEL_W + PLOT_W / 2) y=(height - 4) font-size="11" text-anchor="middle" fill="#444" { (unit) }
                @for (i, b) in items.iter().enumerate() {
                    @let y = 8 + i as i64 * ROW;
                    text x=(LABEL_W - 6) y=(y + 14) font-size="12" text-anchor="end" fill="#222" {
                        (b.label.chars().take(28).collect::<String>())
                    }
                    @match b.value {
                        Some(v) => {
                            rect x=(LABEL_W) y=(y) width=((x(v) - LABEL_W).max(1)) height="18" fill=(BAR_COLOR) {
                                title { (b.label) ": " (fmt(v)) " " (unit) }
                            }
                            text x=(x(v) + 4) y=(y + 14) font-size="11" fill="#222" { (fmt(v)) }
                        }
                        None => { text x=(LABEL_W + 4) y=(y + 14) font-size="11" fill="#666" { "no data yet" } }
                    }
                }
            }
        }
    }
}

/// Editions sold per day: vertical bars, the days on the x axis, counts on the y axis.
pub fn sales_per_day(days: &[(String, i64)]) -> Markup {
    let (max, step) = axis(days.iter().map(|d| d.1).max().unwrap_or(0) as f64, true);
    let left = 40i64;
    let col = 44i64;
    let plot_h = 120i64;
    // Room for a week at least, so a young release does not get one giant bar.
    let width = left + col * days.len().max(8) as i64 + 10;
    let y = |v: f64| 10 + plot_h - ((v / max) * plot_h as f64).round() as i64;
    let ticks: Vec<f64> = (0..=((max / step).round() as i64))
        .map(|i| i as f64 * step)
        .collect();
    html! {
        figure.chart {
            figcaption { "Editions sold per day" }
            svg #sales-chart viewBox={ "0 0 " (width) " " (plot_h + 50) } width=(width) role="img"
                aria-label="Editions sold per day (UTC dates), editions" {
                @for t in &ticks {
                    line x1=(left) x2=(width - 10) y1=(y(*t)) y2=(y(*t)) stroke="#ddd" {}
                    text x=(left - 6) y=(y(*t) + 4) font-size="11" text-anchor="end" fill="#444" { (fmt(*t)) }
                }
                line x1=(left) x2=(left) y1="10" y2=(plot_h + 10) stroke="#444" {}
                text x="10" y=(plot_h / 2 + 10) font-size="11" fill="#444" transform={ "rotate(-90 10 " (plot_h / 2 + 10) ")" }
                    text-anchor="middle" { "editions" }
                @for (i, (day, sales)) in days.iter().enumerate() {
                    @let x0 = left + 8 + i as i64 * col;
                    rect x=(x0) y=(y(*sales as f64)) width="28" height=((plot_h + 10 - y(*sales as f64)).max(0)) fill=(BAR_COLOR) {
                        title { (day) ": " (sales) " sold" }
                    }
                    text x=(x0 + 14) y=(plot_h + 26) font-size="10" text-anchor="middle" fill="#444" { (day.get(5..).unwrap_or(day)) }
                }
                text x=(left + (width - left) / 2) y=(plot_h + 44) font-size="11" text-anchor="middle" fill="#444" { "day (UTC)" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::axis;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis(0.0, false), (1.0, 0.5));
        assert_eq!(axis(0.0, true), (1.0, 1.0));
        assert_eq!(axis(2.0, true), (2.0, 1.0));
        assert_eq!(axis(7.0, true), (8.0, 2.0));
        assert_eq!(axis(100.0, false), (100.0, 50.0));
        assert_eq!(axis(4.5, false), (6.0, 2.0));
    }
}
