//! Trailer types and which freight each can carry.

use serde::{Deserialize, Serialize};

/// The trailer a truck pulls, or the trailer type a load asks for. Codes are the load
/// boards' (V, R, F, SD, PO, HS, TNK, CONT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trailer {
    #[serde(rename = "V")]
    DryVan,
    #[serde(rename = "R")]
    Reefer,
    #[serde(rename = "F")]
    Flatbed,
    #[serde(rename = "SD")]
    StepDeck,
    #[serde(rename = "PO")]
    PowerOnly,
    #[serde(rename = "HS")]
    Hotshot,
    #[serde(rename = "TNK")]
    Tanker,
    #[serde(rename = "CONT")]
    Container,
}

impl Trailer {
    pub const ALL: [Trailer; 8] = [
        Trailer::DryVan,
        Trailer::Reefer,
        Trailer::Flatbed,
        Trailer::StepDeck,
        Trailer::PowerOnly,
        Trailer::Hotshot,
        Trailer::Tanker,
        Trailer::Container,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Trailer::DryVan => "V",
            Trailer::Reefer => "R",
            Trailer::Flatbed => "F",
            Trailer::StepDeck => "SD",
            Trailer::PowerOnly => "PO",
            Trailer::Hotshot => "HS",
            Trailer::Tanker => "TNK",
            Trailer::Container => "CONT",
        }
    }

    /// Can a truck with this trailer haul a load that asks for `wanted`?
    ///
    /// - A reefer is an insulated van: with the unit off it hauls dry freight, so it covers
    ///   van loads (shippers accept it; brokers post "V or R" for that reason). A dry van
    ///   cannot keep temperature, so it never covers a reefer load.
    /// - A step deck carries everything a flatbed does (it has more legal height), not the
    ///   reverse: a flatbed cannot take a load that needs the step deck's clearance.
    /// - Power only means the shipper provides the trailer: any tractor can pull it, but a
    ///   power-only truck has no trailer for anything else.
    /// - Hotshot loads are small flatbed loads: a flatbed or step deck covers them too.
    pub fn can_haul(self, wanted: Trailer) -> bool {
        use Trailer::*;
        self == wanted
            || matches!(
                (self, wanted),
                (Reefer, DryVan)
                    | (StepDeck, Flatbed)
                    | (Flatbed, Hotshot)
                    | (StepDeck, Hotshot)
                    | (DryVan, PowerOnly)
                    | (Reefer, PowerOnly)
                    | (Flatbed, PowerOnly)
                    | (StepDeck, PowerOnly)
                    | (Tanker, PowerOnly)
                    | (Container, PowerOnly)
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trailer_hauls_its_own_kind() {
        for t in Trailer::ALL {
            assert!(t.can_haul(t), "{t:?}");
        }
    }

    #[test]
    fn a_reefer_hauls_dry_freight_but_a_van_never_hauls_reefer_freight() {
        assert!(Trailer::Reefer.can_haul(Trailer::DryVan));
        assert!(!Trailer::DryVan.can_haul(Trailer::Reefer));
    }

    #[test]
    fn open_deck_and_enclosed_never_mix() {
        for open in [Trailer::Flatbed, Trailer::StepDeck, Trailer::Hotshot] {
            for closed in [
                Trailer::DryVan,
                Trailer::Reefer,
                Trailer::Tanker,
                Trailer::Container,
            ] {
                assert!(!open.can_haul(closed), "{open:?} hauling {closed:?}");
                assert!(!closed.can_haul(open), "{closed:?} hauling {open:?}");
            }
        }
        assert!(Trailer::StepDeck.can_haul(Trailer::Flatbed));
        assert!(!Trailer::Flatbed.can_haul(Trailer::StepDeck));
    }

    #[test]
    fn codes_are_the_load_board_codes() {
        let codes: Vec<&str> = Trailer::ALL.iter().map(|t| t.code()).collect();
        assert_eq!(codes, ["V", "R", "F", "SD", "PO", "HS", "TNK", "CONT"]);
        assert_eq!(serde_json::to_string(&Trailer::StepDeck).unwrap(), "\"SD\"");
    }
}
