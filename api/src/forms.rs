//! The pages' action forms: each describes one contract action (`transactions::Action`)
//! by its `data-kind` and its fields; `web/src/actions.js` dry-runs, has the wallet sign,
//! submits and follows it.

use maud::{html, Markup};

/// A form for one action: fixed fields as hidden inputs, `body` for what the user enters.
pub fn action(kind: &str, fixed: &[(&str, String)], body: Markup, button: &str) -> Markup {
    html! {
        form.action data-kind=(kind) {
            @for (name, value) in fixed { input type="hidden" name=(name) value=(value); }
            (body)
            button type="submit" data-action=(kind) { (button) }
        }
    }
}

/// The fields that name one entitlement: release (in SS58, spelt once by the caller: a
/// page with many forms for one release would otherwise encode it for each), edition, perk.
pub fn entitlement(release: &str, edition: i32, perk: i32) -> [(&'static str, String); 3] {
    [
        ("release", release.to_string()),
        ("edition", edition.to_string()),
        ("perk", perk.to_string()),
    ]
}

/// A labelled input.
pub fn field(label: &str, input: Markup) -> Markup {
    html! { p.field { label { (label) br; (input) } } }
}
