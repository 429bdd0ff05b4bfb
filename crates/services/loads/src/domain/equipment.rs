//! Trailer types, with the load boards' short codes.

use std::fmt;
use std::str::FromStr;

use lanerunner_loadsearch::equipment as bits;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A trailer (or power) type. On the wire it is its code (`"V"`); input also accepts
/// the name (`"dry_van"`, `"Dry Van"`), case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Equipment {
    DryVan,
    Reefer,
    Flatbed,
    StepDeck,
    PowerOnly,
    Hotshot,
    Tanker,
    Container,
}

/// On the wire an equipment is its short code, so the schema is a string enum of codes.
impl utoipa::PartialSchema for Equipment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Equipment::ALL.iter().map(|e| e.code())))
            .description(Some("Equipment short code: V dry van, R reefer, F flatbed, SD step deck, PO power only, HS hotshot, TNK tanker, CONT container. Input also accepts the name."))
            .examples(["V"])
            .into()
    }
}

impl utoipa::ToSchema for Equipment {}

impl Equipment {
    pub const ALL: [Equipment; 8] = [
        Equipment::DryVan,
        Equipment::Reefer,
        Equipment::Flatbed,
        Equipment::StepDeck,
        Equipment::PowerOnly,
        Equipment::Hotshot,
        Equipment::Tanker,
        Equipment::Container,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Equipment::DryVan => "V",
            Equipment::Reefer => "R",
            Equipment::Flatbed => "F",
            Equipment::StepDeck => "SD",
            Equipment::PowerOnly => "PO",
            Equipment::Hotshot => "HS",
            Equipment::Tanker => "TNK",
            Equipment::Container => "CONT",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Equipment::DryVan => "dry_van",
            Equipment::Reefer => "reefer",
            Equipment::Flatbed => "flatbed",
            Equipment::StepDeck => "step_deck",
            Equipment::PowerOnly => "power_only",
            Equipment::Hotshot => "hotshot",
            Equipment::Tanker => "tanker",
            Equipment::Container => "container",
        }
    }

    /// The search index's bit for this type.
    pub fn bit(self) -> u16 {
        match self {
            Equipment::DryVan => bits::DRY_VAN,
            Equipment::Reefer => bits::REEFER,
            Equipment::Flatbed => bits::FLATBED,
            Equipment::StepDeck => bits::STEP_DECK,
            Equipment::PowerOnly => bits::POWER_ONLY,
            Equipment::Hotshot => bits::HOTSHOT,
            Equipment::Tanker => bits::TANKER,
            Equipment::Container => bits::CONTAINER,
        }
    }

    /// Longest trailer of this type that is legal without a permit, in feet. Tankers and
    /// containers top out at 53' too (53' domestic containers).
    pub fn max_length_ft(self) -> u32 {
        match self {
            Equipment::Hotshot => 40,
            _ => 53,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown equipment `{0}`; use one of V, R, F, SD, PO, HS, TNK, CONT")]
pub struct UnknownEquipment(pub String);

impl FromStr for Equipment {
    type Err = UnknownEquipment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Equipment::ALL
            .into_iter()
            .find(|e| e.code().eq_ignore_ascii_case(&norm) || e.name() == norm)
            .ok_or_else(|| UnknownEquipment(s.to_string()))
    }
}

impl fmt::Display for Equipment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Equipment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Equipment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for e in Equipment::ALL {
            assert_eq!(e.code().parse::<Equipment>().unwrap(), e);
            assert_eq!(e.name().parse::<Equipment>().unwrap(), e);
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.code()));
            assert_eq!(serde_json::from_str::<Equipment>(&json).unwrap(), e);
        }
        assert_eq!("Dry Van".parse::<Equipment>().unwrap(), Equipment::DryVan);
        assert_eq!("tnk".parse::<Equipment>().unwrap(), Equipment::Tanker);
        assert!("XX".parse::<Equipment>().is_err());
        assert!(serde_json::from_str::<Equipment>("\"box\"").is_err());
    }
}
