//! The command line, as clap reads it. Values are checked here (addresses, amounts,
//! times, ranges) so a bad one is a one-line usage error before anything is signed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use subxt::utils::AccountId32;

use crate::units;

#[derive(Parser, Debug)]
#[command(
    name = "dreamster",
    version,
    about = "Perks attached to music releases, guaranteed by escrow on chain",
    long_about = "Artists attach perks to their releases; each edition a fan buys holds part of the price in escrow \
                  until the perk is delivered, and refunds it if the deadline passes. Every command that changes \
                  the chain is dry-run first, so a call the contract would refuse costs no fee."
)]
pub struct Cli {
    /// Node websocket endpoint.
    #[arg(
        long,
        global = true,
        env = "DREAMSTER_RPC_URL",
        default_value = "ws://127.0.0.1:9944"
    )]
    pub rpc_url: String,
    /// Send to a ws:// (unencrypted) node that is not on this machine anyway.
    #[arg(long, global = true)]
    pub allow_insecure_ws: bool,
    /// Secret URI of the signing account: //Alice, a mnemonic, or a 0x seed (with optional
    /// //derivations). On the command line it shows in `ps` and your shell history: prefer
    /// --suri-file, DREAMSTER_SURI, or neither (you are asked, without echo).
    #[arg(long, global = true, env = "DREAMSTER_SURI", hide_env_values = true)]
    pub suri: Option<String>,
    /// File whose first line is the secret URI; it must be readable by you alone (chmod 600).
    #[arg(long, global = true, value_name = "PATH")]
    pub suri_file: Option<PathBuf>,
    /// Deployment config written by `deploy` [default: ~/.config/dreamster/config.json].
    #[arg(long, global = true, env = "DREAMSTER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Upload both contracts, create the registry, and write the config file.
    Deploy(DeployArgs),
    /// Print the signing account's address.
    Address,
    /// List the perk templates the wizard offers.
    Templates,
    /// Registry owner: add an arbiter who may resolve disputes.
    Arbiter(ArbiterArgs),
    /// Artist: register a profile.
    #[command(subcommand)]
    Artist(ArtistCommand),
    /// Artist: create a release (its own contract); anyone: show one.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Artist: attach perks to a release.
    #[command(subcommand)]
    Perk(PerkCommand),
    /// Artist: mark a physical or event perk delivered for one edition.
    Deliver(DeliverArgs),
    /// Artist: withdraw what the release has released to you.
    Withdraw(ReleaseOnly),
    /// Fan: buy an edition of a release at its price.
    Buy(ReleaseOnly),
    /// Fan: your editions and the state of each perk.
    Perks(PerksArgs),
    /// Fan: unlock an automatic perk (releases its escrow to the artist).
    Unlock(EntitlementArgs),
    /// Fan: confirm a delivered perk (releases its escrow to the artist).
    Confirm(EntitlementArgs),
    /// Fan: rate a confirmed perk, 1 to 5 stars.
    Rate(RateArgs),
    /// Fan: dispute a delivery within the dispute window.
    Dispute(DisputeArgs),
    /// Fan: take back a perk's escrow (deadline passed, or dispute won).
    Refund(EntitlementArgs),
    /// Fan: give an edition (and its perks) to another account.
    Transfer(TransferArgs),
    /// Arbiter: rule on a disputed perk.
    Resolve(ResolveArgs),
    /// Anyone: re-derive a release's or artist's books from the chain alone.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Seed the chain with artists, releases, perks and fans' histories.
    Demo(DemoArgs),
}

pub fn address(s: &str) -> Result<AccountId32, String> {
    dreamster_client::parse_address(s)
}

pub fn amount(s: &str) -> Result<u128, String> {
    units::parse_amount(s).map_err(|e| e.to_string())
}

pub fn positive_amount(s: &str) -> Result<u128, String> {
    match amount(s)? {
        0 => Err("must be more than zero".into()),
        v => Ok(v),
    }
}

pub fn time(s: &str) -> Result<u64, String> {
    units::parse_time(s, units::now_ms()).map_err(|e| e.to_string())
}

/// "20" or "12.5" or "12.5%" → basis points.
pub fn percent(s: &str) -> Result<u16, String> {
    let t = s.trim().trim_end_matches('%');
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let bad = || format!("{s:?} is not a percentage from 0 to 100 with at most two decimals");
    if frac.len() > 2
        || whole.is_empty()
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bps = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    if bps > 10_000 {
        return Err(bad());
    }
    u16::try_from(bps).map_err(|_| bad())
}

pub fn hash32(s: &str) -> Result<[u8; 32], String> {
    let hex = s.trim().strip_prefix("0x").unwrap_or(s.trim());
    let bytes = hex::decode(hex).map_err(|_| format!("{s:?} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| format!("{s:?} is not 32 bytes"))
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Keep the configured deployment if its registry answers on this chain.
    #[arg(long)]
    pub reuse: bool,
    /// Folder with the built `.contract` bundles [default: $DREAMSTER_CONTRACTS_DIR, else $CARGO_TARGET_DIR/ink].
    #[arg(long, value_name = "PATH")]
    pub contracts_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ArbiterArgs {
    #[arg(value_parser = address)]
    pub account: AccountId32,
}

#[derive(Subcommand, Debug)]
pub enum ArtistCommand {
    /// Register the signing account as an artist.
    Register {
        #[arg(long)]
        name: String,
        /// Link to a profile (image, bio), e.g. ipfs://…
        #[arg(long, default_value = "")]
        metadata_uri: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Create a release: a contract of its own, selling editions at a fixed price.
    Create(ReleaseCreateArgs),
    /// Show a release's terms, perks and books.
    Show(ReleaseOnly),
}

#[derive(Args, Debug)]
pub struct ReleaseCreateArgs {
    #[arg(long)]
    pub title: String,
    /// The release code you expect the registry to create it from (0x + 64 hex digits)
    /// [default: the one recorded by `dreamster deploy`]; if the registry's code has
    /// changed since, nothing is created.
    #[arg(long, value_parser = hash32)]
    pub code_hash: Option<[u8; 32]>,
    /// Price of an edition, in tokens (e.g. 10 or 2.5).
    #[arg(long, value_parser = positive_amount)]
    pub price: u128,
    /// Most editions that can be sold [default: unlimited].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_editions: Option<u32>,
    /// When the sale opens [default: now].
    #[arg(long, value_parser = time)]
    pub sale_start: Option<u64>,
    /// When the sale closes [default: never].
    #[arg(long, value_parser = time)]
    pub sale_end: Option<u64>,
    /// How long a fan may dispute a delivery, in days (counted from the perk's deadline
    /// for deliveries made before it): 7 to 90, the contract's bounds.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(7..=90))]
    pub dispute_days: u64,
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
}

#[derive(Subcommand, Debug)]
// Parsed once per run; boxing the flags would only obscure the derive.
#[allow(clippy::large_enum_variant)]
pub enum PerkCommand {
    /// Add a perk with flags (see `dreamster templates` for the kinds).
    Add(PerkAddArgs),
    /// Add a perk step by step from a template, with a preview before signing.
    Wizard(ReleaseOnly),
    /// Cancel a perk (the event is off): every holder still waiting for it may take the
    /// refund at once, and new editions no longer carry it.
    Cancel(PerkCancelArgs),
}

#[derive(Args, Debug)]
pub struct PerkCancelArgs {
    #[arg(long, value_parser = address)]
    pub release: AccountId32,
    #[arg(long)]
    pub perk: u32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Delivery {
    /// A secret (link, invite, code) the fan unlocks; its salted hash goes on chain now.
    Automatic,
    /// Shipped; the artist marks it delivered.
    Physical,
    /// An event or experience; the artist marks it delivered.
    Event,
}

#[derive(Args, Debug)]
pub struct PerkAddArgs {
    #[arg(long, value_parser = address)]
    pub release: AccountId32,
    /// Perk kind, e.g. unreleased_music, limited_vinyl, meet_and_greet, custom.
    #[arg(long)]
    pub kind: String,
    /// Category, needed only for `custom` (event_access, exclusive_content, physical_merchandise, creative_collaboration, community).
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub title: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// What the perk is worth to a fan, in tokens (shown on the release page).
    #[arg(long, value_parser = amount)]
    pub value: u128,
    /// Share of the price held in escrow for this perk, in percent (e.g. 20 or 12.5).
    #[arg(long, value_parser = percent)]
    pub escrow: u16,
    #[arg(long, value_enum)]
    pub delivery: Delivery,
    /// The secret of an automatic perk; only its hash, salted with a random salt that is
    /// printed, is published. A guessable secret is refused. On the command line it shows
    /// in `ps` and your shell history: prefer --secret-file.
    #[arg(long, conflicts_with_all = ["content_hash", "codes_file", "secret_file"])]
    pub secret: Option<String>,
    /// File whose first line is the automatic perk's secret (chmod 600); the salt is kept
    /// beside it, in `<PATH>.salt`.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["content_hash", "codes_file"])]
    pub secret_file: Option<PathBuf>,
    /// An automatic perk with one code per edition: a file of codes, one per line; the
    /// Merkle root of the salted codes is published (the pool key kept in `<PATH>.salt`),
    /// and the API later hands each holder one code with its salt and proof.
    #[arg(long, value_name = "PATH", conflicts_with = "content_hash")]
    pub codes_file: Option<PathBuf>,
    /// The hash of an automatic perk's secret, if you computed it yourself (salt it:
    /// `dreamster_types::commitment::secret_commitment`).
    #[arg(long, value_parser = hash32)]
    pub content_hash: Option<[u8; 32]>,
    /// Deadline: 2026-12-01, 2026-12-01T14:00:00Z, or +30d.
    #[arg(long, value_parser = time)]
    pub deadline: u64,
    /// Only the first N editions get it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub quantity: Option<u32>,
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
}

#[derive(Args, Debug)]
pub struct ReleaseOnly {
    #[arg(long, value_parser = address)]
    pub release: AccountId32,
}

#[derive(Args, Debug)]
pub struct EntitlementArgs {
    #[arg(long, value_parser = address)]
    pub release: AccountId32,
    #[arg(long)]
    pub edition: u32,
    #[arg(long)]
    pub perk: u32,
}

#[derive(Args, Debug)]
pub struct DeliverArgs {
    #[command(flatten)]
    pub at: EntitlementArgs,
    /// Proof of delivery (a tracking number, a photo's hash…); its hash goes on chain.
    #[arg(long)]
    pub proof: String,
}

#[derive(Args, Debug)]
pub struct RateArgs {
    #[command(flatten)]
    pub at: EntitlementArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stars: u8,
}

#[derive(Args, Debug)]
pub struct DisputeArgs {
    #[command(flatten)]
    pub at: EntitlementArgs,
    /// What went wrong; its hash goes on chain as evidence.
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct TransferArgs {
    #[arg(long, value_parser = address)]
    pub release: AccountId32,
    #[arg(long)]
    pub edition: u32,
    #[arg(long, value_parser = address)]
    pub to: AccountId32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Ruling {
    /// The fan is right: the escrow is owed back.
    Refund,
    /// The artist delivered: the escrow goes to the artist.
    Artist,
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub at: EntitlementArgs,
    #[arg(long, value_enum)]
    pub ruling: Ruling,
}

#[derive(Args, Debug)]
pub struct PerksArgs {
    /// Only this release [default: every release of the registry].
    #[arg(long, value_parser = address)]
    pub release: Option<AccountId32>,
    /// Whose editions [default: the signing account].
    #[arg(long, value_parser = address)]
    pub owner: Option<AccountId32>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Audit one release: perks' states, escrow, refunds, overdue perks, solvency.
    Release(AuditArgs),
    /// Audit an artist: reputation and every release of theirs.
    Artist(AuditArgs),
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[arg(value_parser = address)]
    pub address: AccountId32,
    /// Also compare with the indexer's read model and list every difference.
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Seconds until the demo's short-deadline perk expires (it is then refunded).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(5..=600))]
    pub overdue_after: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(percent("20"), Ok(2_000));
        assert_eq!(percent("12.5"), Ok(1_250));
        assert_eq!(percent("12.5%"), Ok(1_250));
        assert_eq!(percent("0.01"), Ok(1));
        assert_eq!(percent("100"), Ok(10_000));
        for bad in ["100.01", "-1", "", "1.234", "a", "1e2", ".5"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
