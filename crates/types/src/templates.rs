//! Ready-made perks for the common kinds: what the CLI's wizard prefills and the API
//! serves, defined once. Every field is a suggestion the artist may change.

use crate::perk::{PerkCategory, PerkKind};

/// How a template's perk reaches the fan (the hash of an automatic perk's secret is
/// only known once the artist provides the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Automatic,
    Physical,
    Event,
}

impl DeliveryKind {
    pub fn slug(self) -> &'static str {
        match self {
            DeliveryKind::Automatic => "automatic",
            DeliveryKind::Physical => "physical",
            DeliveryKind::Event => "event",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerkTemplate {
    pub kind: PerkKind,
    /// An emoji the pages show beside the perk.
    pub icon: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub delivery: DeliveryKind,
    /// Days from now until the deadline.
    pub deadline_days: u32,
    /// Estimated value in whole tokens.
    pub value_units: u32,
    /// Share of the price held in escrow for this perk, in basis points.
    pub escrow_bps: u16,
}

impl PerkTemplate {
    pub fn category(&self) -> PerkCategory {
        self.kind.category().unwrap_or(PerkCategory::Community)
    }

    pub fn for_kind(kind: PerkKind) -> Option<&'static PerkTemplate> {
        TEMPLATES.iter().find(|t| t.kind == kind)
    }

    /// The icon pages and the CLI show for a kind (a star for `Custom`).
    pub fn icon_of(kind: PerkKind) -> &'static str {
        Self::for_kind(kind).map_or("⭐", |t| t.icon)
    }
}

#[allow(clippy::too_many_arguments)]
const fn t(
    kind: PerkKind,
    icon: &'static str,
    title: &'static str,
    description: &'static str,
    delivery: DeliveryKind,
    deadline_days: u32,
    value_units: u32,
    escrow_bps: u16,
) -> PerkTemplate {
    PerkTemplate {
        kind,
        icon,
        title,
        description,
        delivery,
        deadline_days,
        value_units,
        escrow_bps,
    }
}

use DeliveryKind::{Automatic, Event, Physical};
use PerkKind::*;

/// One template per kind, in the categories' order; `Custom` has none.
pub const TEMPLATES: [PerkTemplate; 20] = [
    t(
        PrivateConcert,
        "🎤",
        "Private acoustic concert",
        "An intimate acoustic set for holders, with the date and place sent by private message.",
        Event,
        90,
        120,
        2_500,
    ),
    t(
        MeetAndGreet,
        "🤝",
        "Backstage meet & greet",
        "Meet the artist backstage before a show of the tour; photo included.",
        Event,
        60,
        60,
        1_500,
    ),
    t(
        StudioVisit,
        "🎛️",
        "Studio visit",
        "Spend an afternoon in the studio while the next record is made.",
        Event,
        120,
        150,
        2_000,
    ),
    t(
        VipConcertAccess,
        "🎟️",
        "VIP concert access",
        "Early entry, the best spot and a drink at the next concert.",
        Event,
        60,
        80,
        1_500,
    ),
    t(
        UnreleasedMusic,
        "🎧",
        "Unreleased track",
        "A finished track that will never be released anywhere else.",
        Automatic,
        14,
        10,
        1_000,
    ),
    t(
        BehindTheScenes,
        "🎬",
        "Behind the scenes",
        "Raw footage and voice notes from the making of the release.",
        Automatic,
        30,
        8,
        500,
    ),
    t(
        LiveStreamQa,
        "📺",
        "Live-stream Q&A",
        "A holders-only live stream with questions answered live.",
        Event,
        30,
        15,
        700,
    ),
    t(
        PersonalMessage,
        "💌",
        "Personal message",
        "A voice or video message recorded for you by name.",
        Automatic,
        21,
        20,
        800,
    ),
    t(
        LimitedVinyl,
        "💿",
        "Signed limited vinyl",
        "A numbered, signed vinyl pressing shipped to your door.",
        Physical,
        60,
        40,
        3_000,
    ),
    t(
        SignedMerch,
        "✍️",
        "Signed merch",
        "A signed poster or shirt from the release's artwork.",
        Physical,
        45,
        25,
        1_500,
    ),
    t(
        CustomApparel,
        "👕",
        "Custom apparel",
        "Apparel made only for holders, in your size.",
        Physical,
        60,
        35,
        1_500,
    ),
    t(
        ExclusiveArtwork,
        "🖼️",
        "Exclusive artwork print",
        "A signed print of the cover art, not sold anywhere.",
        Physical,
        45,
        30,
        1_200,
    ),
    t(
        SongStems,
        "🎚️",
        "Song stems",
        "The multitrack stems of the lead single, for your own remix.",
        Automatic,
        14,
        25,
        1_000,
    ),
    t(
        MusicFeedback,
        "📝",
        "Feedback on your music",
        "The artist listens to one of your tracks and answers in writing.",
        Event,
        60,
        50,
        1_500,
    ),
    t(
        MusicVideoCollab,
        "🎥",
        "Appear in a music video",
        "A part in the next music video, on the shooting day.",
        Event,
        120,
        200,
        3_000,
    ),
    t(
        CoWritingSession,
        "🎼",
        "Co-writing session",
        "Write a song with the artist in an online session.",
        Event,
        90,
        250,
        3_500,
    ),
    t(
        PrivateChat,
        "💬",
        "Private holders' chat",
        "An invitation to the holders' Discord with the artist in it.",
        Automatic,
        7,
        10,
        500,
    ),
    t(
        DirectMessages,
        "📨",
        "Direct messages",
        "A year of direct messages answered by the artist.",
        Event,
        30,
        30,
        1_000,
    ),
    t(
        FanEvent,
        "🎉",
        "Fan event",
        "A holders-only listening party with the artist.",
        Event,
        90,
        40,
        1_500,
    ),
    t(
        ExclusiveSocial,
        "📱",
        "Exclusive social posts",
        "Holders-only posts and stories, a year long.",
        Automatic,
        14,
        10,
        500,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_but_custom_has_one_valid_template() {
        for kind in PerkKind::ALL {
            let count = TEMPLATES.iter().filter(|t| t.kind == kind).count();
            assert_eq!(count, usize::from(kind != PerkKind::Custom), "{kind:?}");
        }
        for t in &TEMPLATES {
            assert!(t.kind.fits(t.category()));
            assert!(!t.title.is_empty() && t.title.len() <= crate::perk::MAX_TITLE_LEN);
            assert!(t.description.len() <= crate::perk::MAX_DESCRIPTION_LEN);
            assert!(t.escrow_bps > 0 && t.escrow_bps <= 10_000);
            assert!(t.deadline_days > 0);
        }
    }
}
