//! What clients see of a load: the owner's full view and the board's public view. They
//! are separate types so that a carrier's response cannot carry a private field by
//! accident: [`PublicLoadView`] has no target rate, maximum rate or visibility at all.
//!
//! Units on the wire: money and rates per mile in whole cents (a rate per mile is rounded
//! to the nearest cent, half away from zero: `289`, not `289.31183697229903`); miles to one
//! decimal. Sorting and filtering use the unrounded values.

use chrono::{DateTime, Utc};
use lanerunner_core::distance::{miles, optional_miles};
use lanerunner_core::Cents;
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::domain::{
    Contact, Equipment, Geo, LoadSpec, Rate, Stop, TempRange, TruckSpec, Visibility,
};
use crate::store::{HistoryRow, LoadRow, TruckRow};

/// Origin market → destination market.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LaneView {
    pub origin_market: String,
    pub dest_market: String,
}

fn lane(spec: &LoadSpec, geo: &Geo) -> Option<LaneView> {
    let code = |p| {
        geo.market_of(p)
            .and_then(|m| geo.markets.get(lanerunner_geo::MarketId(m)))
            .map(|m| m.code.clone())
    };
    Some(LaneView {
        origin_market: code(spec.first_pickup().location.point())?,
        dest_market: code(spec.last_delivery().location.point())?,
    })
}

/// The all-in rate per loaded mile; a load shorter than a mile counts as one mile.
fn per_mile(spec: &LoadSpec) -> Option<Cents> {
    spec.all_in_rate_cents()
        .and_then(|c| Cents(c).per_mile(spec.loaded_miles.max(1.0)))
}

/// The owning broker's view: what the board shows, plus the lifecycle and the private
/// rates (flattened into one JSON object).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoadView {
    #[serde(flatten)]
    pub public: PublicLoadView,
    pub status: String,
    pub truck_ordered_not_used: bool,
    /// Also the ETag; send it back as If-Match to change the load.
    pub version: i64,
    pub target_rate_cents: Option<i64>,
    pub max_rate_cents: Option<i64>,
    /// What the load was covered at; absent until it is covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking: Option<BookingView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BookingView {
    pub carrier_org_id: Option<Uuid>,
    /// The agreed all-in rate, when known.
    pub rate_cents: Option<i64>,
    pub booked_at: DateTime<Utc>,
}

impl LoadView {
    pub fn new(row: &LoadRow, geo: &Geo) -> Self {
        let s = &row.spec;
        LoadView {
            public: PublicLoadView::new(row, geo),
            status: row.status.as_str().into(),
            truck_ordered_not_used: row.status.truck_ordered_not_used(),
            version: row.version,
            target_rate_cents: s.target_rate_cents,
            max_rate_cents: s.max_rate_cents,
            booking: row.booking.map(|b| BookingView {
                carrier_org_id: b.carrier_org_id.map(|o| o.0),
                rate_cents: b.rate_cents,
                booked_at: b.booked_at,
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    pub fn id(&self) -> Uuid {
        self.public.id
    }
}

/// What the board shows any carrier (and other brokers) of a posted public load.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicLoadView {
    pub id: Uuid,
    /// The posting broker's organization.
    pub broker_org_id: Uuid,
    pub reference: String,
    pub stops: Vec<Stop>,
    pub equipment: Equipment,
    pub trailer_length_ft: u32,
    pub weight_lbs: u32,
    pub full_load: bool,
    pub commodity: String,
    pub temperature_f: Option<TempRange>,
    pub hazmat: bool,
    pub team: bool,
    pub rate: Option<Rate>,
    pub all_in_rate_cents: Option<i64>,
    /// The all-in rate per loaded mile, in whole cents.
    pub rate_per_mile_cents: Option<Cents>,
    #[serde(serialize_with = "miles")]
    pub loaded_miles: f64,
    pub notes: Option<String>,
    pub contact: Option<Contact>,
    pub lane: Option<LaneView>,
    /// `public` on the board; `private` loads reach only the broker's carrier network.
    pub visibility: Visibility,
    pub posted_at: Option<DateTime<Utc>>,
}

impl PublicLoadView {
    pub fn new(row: &LoadRow, geo: &Geo) -> Self {
        let s = &row.spec;
        PublicLoadView {
            id: row.id.0,
            broker_org_id: row.org_id.0,
            reference: s.reference.clone(),
            stops: s.stops.clone(),
            equipment: s.equipment,
            trailer_length_ft: s.trailer_length_ft,
            weight_lbs: s.weight_lbs,
            full_load: s.full_load,
            commodity: s.commodity.clone(),
            temperature_f: s.temperature_f.clone(),
            hazmat: s.hazmat,
            team: s.team,
            rate: s.rate,
            all_in_rate_cents: s.all_in_rate_cents(),
            rate_per_mile_cents: per_mile(s),
            loaded_miles: s.loaded_miles,
            notes: s.notes.clone(),
            contact: s.contact.clone(),
            lane: lane(s, geo),
            visibility: s.visibility,
            posted_at: row.posted_at,
        }
    }
}

/// A load as the caller may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AnyLoadView {
    Owner(Box<LoadView>),
    Public(Box<PublicLoadView>),
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<HistoryRow> for HistoryView {
    fn from(h: HistoryRow) -> Self {
        HistoryView {
            event: h.event,
            from_status: h.from_status,
            to_status: h.to_status,
            actor_id: h.actor_id,
            reason: h.reason,
            occurred_at: h.occurred_at,
        }
    }
}

/// A [`PublicLoadView`] as JSON, as the board rendered it (and kept it, compressed).
#[derive(Debug, Clone)]
pub struct Rendered(pub Box<str>);

impl Serialize for Rendered {
    /// For callers serializing a page themselves; the API writes pages with
    /// [`SearchPageView::to_json`], which copies the view without parsing it again.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.to_string())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// One search hit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    #[schema(value_type = PublicLoadView)]
    pub load: Rendered,
    /// The load's id (it is also in `load`), for callers in this process.
    #[serde(skip)]
    pub load_id: Uuid,
    /// Road miles from the search origin to the first pickup.
    #[serde(serialize_with = "miles")]
    pub deadhead_miles: f64,
    #[serde(serialize_with = "miles")]
    pub loaded_miles: f64,
    /// All-in rate per loaded mile, in whole cents (0 when the load has no posted rate).
    pub rate_per_mile_cents: Cents,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchPageView {
    pub items: Vec<SearchHit>,
    /// Loads matching the filters over all pages.
    pub total_matches: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A hit without its view: what [`SearchPageView::to_json`] serializes after the view's bytes.
#[derive(Serialize)]
struct HitFigures {
    #[serde(serialize_with = "miles")]
    deadhead_miles: f64,
    #[serde(serialize_with = "miles")]
    loaded_miles: f64,
    rate_per_mile_cents: Cents,
}

impl SearchPageView {
    /// The page as its `Serialize` writes it, except that each view's JSON is copied as
    /// the board rendered it: serializing through serde would parse all fifty views again
    /// (a `RawValue` must be checked), which cost more than the search itself.
    pub fn to_json(&self) -> Vec<u8> {
        let views: usize = self.items.iter().map(|h| h.load.0.len() + 96).sum();
        let mut out = Vec::with_capacity(views + 128);
        out.extend_from_slice(b"{\"items\":[");
        for (i, hit) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"load\":");
            out.extend_from_slice(hit.load.0.as_bytes());
            let figures = HitFigures {
                deadhead_miles: hit.deadhead_miles,
                loaded_miles: hit.loaded_miles,
                rate_per_mile_cents: hit.rate_per_mile_cents,
            };
            // `{"deadhead_miles":…}` continues the hit's object after a comma.
            out.push(b',');
            let start = out.len();
            serde_json::to_writer(&mut out, &figures).expect("numbers serialize");
            out.remove(start);
        }
        out.extend_from_slice(b"],\"total_matches\":");
        out.extend_from_slice(self.total_matches.to_string().as_bytes());
        if let Some(cursor) = &self.next_cursor {
            out.extend_from_slice(b",\"next_cursor\":");
            serde_json::to_writer(&mut out, cursor).expect("a string serializes");
        }
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_written_by_hand_is_the_page_serde_writes() {
        let hit = |i: u128, view: &str| SearchHit {
            load: Rendered(view.into()),
            load_id: Uuid::from_u128(i),
            deadhead_miles: 12.345 * i as f64,
            loaded_miles: 781.04,
            rate_per_mile_cents: Cents(289 + i as i64),
        };
        for page in [
            SearchPageView {
                items: vec![
                    hit(1, r#"{"id":"a","notes":"\"quoted\" é","stops":[{"x":1}]}"#),
                    hit(2, r#"{"id":"b","rate":null}"#),
                ],
                total_matches: 4_211,
                next_cursor: Some("c2.AAAA\"x".into()),
            },
            SearchPageView {
                items: vec![],
                total_matches: 0,
                next_cursor: None,
            },
        ] {
            let by_hand: serde_json::Value = serde_json::from_slice(&page.to_json()).unwrap();
            assert_eq!(by_hand, serde_json::to_value(&page).unwrap());
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TruckView {
    pub id: Uuid,
    pub carrier_org_id: Uuid,
    pub equipment: Equipment,
    pub trailer_length_ft: Option<u32>,
    pub available_at: crate::domain::Location,
    pub available_from: DateTime<Utc>,
    pub available_until: DateTime<Utc>,
    pub destination: crate::domain::TruckDestination,
    pub max_deadhead_miles: u32,
    pub min_rate_per_mile_cents: Option<i64>,
    pub team: bool,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set in truck search results: road miles from the search origin.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_miles"
    )]
    pub deadhead_miles: Option<f64>,
}

impl From<&TruckRow> for TruckView {
    fn from(t: &TruckRow) -> Self {
        let s: &TruckSpec = &t.spec;
        TruckView {
            id: t.id.0,
            carrier_org_id: t.org_id.0,
            equipment: s.input.equipment,
            trailer_length_ft: s.input.trailer_length_ft,
            available_at: s.location.clone(),
            available_from: s.available_from,
            available_until: s.available_until,
            destination: s.input.destination.clone(),
            max_deadhead_miles: s.input.max_deadhead_miles,
            min_rate_per_mile_cents: s.input.min_rate_per_mile_cents,
            team: s.input.team,
            notes: s.input.notes.clone(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            deadhead_miles: None,
        }
    }
}
