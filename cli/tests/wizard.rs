//! The perk wizard driven through a pseudo-terminal, as an artist would use it: a template
//! chosen by typing, prefilled fields accepted or changed, the preview shown, the
//! confirmation given — and the perk then read back from the contract.

mod common;

use std::time::Duration;

use common::Cli;
use expectrl::Session;

const ENTER: &str = "\r";

fn step(p: &mut Session, wait_for: &str, send: &str) {
    p.expect(wait_for)
        .unwrap_or_else(|e| panic!("waiting for {wait_for:?}: {e}"));
    p.send(send).expect("send keys");
}

#[tokio::test]
async fn wizard_from_template_to_signed_add_perk() {
    let cli = Cli::start().await;
    cli.json(Some("//Alice"), &["deploy"]);
    cli.run(
        Some("//Bob"),
        &["artist", "register", "--name", "Nova Lights"],
    )
    .ok();
    let rel = cli.json(
        Some("//Bob"),
        &[
            "release",
            "create",
            "--title",
            "Night Drive",
            "--price",
            "10",
        ],
    );
    let rel = rel["release"].as_str().expect("release").to_string();

    let mut command = cli.command(Some("//Bob"));
    command.args(["perk", "wizard", "--release", &rel]);
    let mut p = Session::spawn(command).expect("pty session");
    p.set_expect_timeout(Some(Duration::from_secs(60)));
    step(&mut p, "Start from a template", "vinyl");
    step(&mut p, "Signed limited vinyl", ENTER);
    step(&mut p, "Title:", ENTER); // the template's title, kept
    step(&mut p, "Description:", ENTER);
    step(&mut p, "How is it delivered?", ENTER); // physical, preselected
    step(&mut p, "Deadline", ENTER); // +60d
    step(&mut p, "Estimated value", ENTER); // 40 UNIT
    step(&mut p, "escrow for this perk", "\u{7f}\u{7f}25\r"); // 30 → 25 %
    step(&mut p, "Only the first N editions", "50\r");
    p.expect("As a fan will see it").expect("preview");
    p.expect("2.5 UNIT of the price held in escrow")
        .expect("preview shows the escrow");
    step(&mut p, "Sign and add this perk?", "y\r");
    p.expect("added to").expect("signed");
    drop(p);

    let shown = cli.json(None, &["release", "show", "--release", &rel]);
    let perk = &shown["perks"][0];
    assert_eq!(perk["kind"], "limited_vinyl", "{shown}");
    assert_eq!(perk["category"], "physical_merchandise");
    assert_eq!(perk["title"], "Signed limited vinyl");
    assert_eq!(perk["delivery"], "physical");
    assert_eq!(perk["escrow_bps"], 2_500);
    assert_eq!(perk["quantity_limit"], 50);
    assert_eq!(perk["estimated_value"], "40000000000000");
}
