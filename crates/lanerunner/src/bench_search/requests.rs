//! What brokers and carriers send, made from the generator's postings and searches: a
//! generated load becomes a `LoadInput` (stops as points, windows in each stop's local
//! time), a generated search becomes the query string of `GET /v1/loads/search`.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use lanerunner_geo::{LatLon, MarketId};
use lanerunner_loads::bench::Posting;
use lanerunner_loads::domain::{
    Contact, Equipment, Geo, Handling, LoadInput, LocationInput, Rate, RateKind, SearchParams,
    StopInput, StopKind, TempRange, Visibility, WindowInput,
};
use lanerunner_loadsearch::{
    equipment as bits, DestFilter, IndexedLoad, LoadSize, SearchQuery, SortBy,
};

use super::HOUR;

/// The service's equipment for a generated load: its first type the service knows;
/// conestogas post as flatbeds, box trucks as dry vans.
fn equipment(mask: u16) -> Equipment {
    Equipment::ALL
        .into_iter()
        .find(|e| mask & e.bit() != 0)
        .unwrap_or(if mask & bits::CONESTOGA != 0 {
            Equipment::Flatbed
        } else {
            Equipment::DryVan
        })
}

fn local(ts: i64, tz: Tz) -> NaiveDateTime {
    tz.from_utc_datetime(
        &DateTime::<Utc>::from_timestamp(ts, 0)
            .unwrap_or_default()
            .naive_utc(),
    )
    .naive_local()
}

/// What a broker would send for the generated load `l` (its `seq`-th posting).
pub(super) fn posting(
    l: &IndexedLoad,
    seq: usize,
    posted_shift: i64,
    geo: &Geo,
) -> anyhow::Result<Posting> {
    let tz_of = |p: LatLon| -> anyhow::Result<Tz> {
        let m = geo.geocoder.reverse(p)?;
        Ok(m.timezone
            .as_deref()
            .unwrap_or("UTC")
            .parse()
            .unwrap_or(Tz::UTC))
    };
    // Bits of the random id stand in for choices the generator does not make.
    let r = (l.id >> 64) as u64;
    let e = equipment(l.equipment);
    let pickup_tz = tz_of(l.origin)?;
    let pickup = if l.pickup_end == l.pickup_start {
        (Some(local(l.pickup_start, pickup_tz)), None)
    } else {
        (
            None,
            Some(WindowInput {
                start: local(l.pickup_start, pickup_tz),
                end: local(l.pickup_end, pickup_tz),
            }),
        )
    };
    // Delivery: after the pickup window plus the drive at 50 mph (rounded up to the hour),
    // in a 4-hour window, or an appointment for a third of the loads.
    let drive = ((f64::from(l.loaded_miles) / 50.0).ceil() as i64 + 1) * HOUR;
    let deliver = l.pickup_end + drive;
    let dest_tz = tz_of(l.dest)?;
    let delivery = if r % 3 == 0 {
        (Some(local(deliver, dest_tz)), None)
    } else {
        (
            None,
            Some(WindowInput {
                start: local(deliver, dest_tz),
                end: local(deliver + 4 * HOUR, dest_tz),
            }),
        )
    };
    let handling = |bit: u64| {
        if e == Equipment::DryVan && (r >> bit) % 10 < 3 {
            Handling::Drop
        } else {
            Handling::Live
        }
    };
    let point = |p: LatLon| LocationInput {
        place: None,
        lat: Some(p.lat),
        lon: Some(p.lon),
    };
    let (trailer_length_ft, commodity) = match e {
        Equipment::DryVan => (
            53,
            ["general merchandise", "paper products", "beverages"][(r >> 8) as usize % 3],
        ),
        Equipment::Reefer => (
            53,
            ["produce", "frozen food", "dairy"][(r >> 8) as usize % 3],
        ),
        Equipment::Flatbed | Equipment::StepDeck => (
            48,
            ["steel coils", "lumber", "machinery"][(r >> 8) as usize % 3],
        ),
        Equipment::Hotshot => (40, "equipment parts"),
        Equipment::Tanker => (42, "liquid chemicals"),
        Equipment::PowerOnly | Equipment::Container => (53, "freight all kinds"),
    };
    let weight_lbs = if e == Equipment::Hotshot {
        l.weight_lbs
            .min(lanerunner_loads::domain::MAX_HOTSHOT_CARGO_LBS)
    } else {
        l.weight_lbs
    };
    let input = LoadInput {
        reference: format!("BENCH-{seq:07}"),
        stops: vec![
            StopInput {
                kind: StopKind::Pickup,
                location: point(l.origin),
                facility: None,
                appointment: pickup.0,
                window: pickup.1,
                handling: handling(16),
            },
            StopInput {
                kind: StopKind::Delivery,
                location: point(l.dest),
                facility: None,
                appointment: delivery.0,
                window: delivery.1,
                handling: handling(24),
            },
        ],
        equipment: e,
        trailer_length_ft,
        weight_lbs,
        full_load: l.full,
        commodity: commodity.into(),
        temperature_f: (e == Equipment::Reefer).then(|| {
            if commodity == "frozen food" {
                TempRange {
                    min_f: -10,
                    max_f: 0,
                }
            } else {
                TempRange {
                    min_f: 34,
                    max_f: 38,
                }
            }
        }),
        hazmat: e == Equipment::Tanker && r % 2 == 0,
        team: l.loaded_miles > 1_500.0 && (r >> 32) % 10 == 0,
        rate: Some(Rate {
            kind: RateKind::AllIn,
            amount_cents: l.rate_cents,
        }),
        target_rate_cents: Some(l.rate_cents),
        max_rate_cents: Some((l.rate_cents * 11 / 10).min(5_000_000)),
        notes: None,
        contact: Some(Contact {
            name: Some("Bench Dispatch".into()),
            phone: Some("+1 555 0100".into()),
            email: None,
        }),
        visibility: Visibility::Public,
    };
    Ok(Posting {
        input,
        posted_at: DateTime::<Utc>::from_timestamp(l.posted_at + posted_shift, 0)
            .unwrap_or_default(),
    })
}

/// The query string a carrier would send for `q`.
pub(super) fn params(q: &SearchQuery, geo: &Geo) -> SearchParams {
    let instant = |t: Option<i64>| {
        t.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
            .map(|d| d.to_rfc3339())
    };
    let mut p = SearchParams {
        origin_lat: Some(q.origin_point.lat),
        origin_lon: Some(q.origin_point.lon),
        origin_radius_miles: Some(q.origin_radius_miles),
        equipment: (q.equipment != 0).then(|| {
            Equipment::ALL
                .iter()
                .filter(|e| q.equipment & e.bit() != 0)
                .map(|e| e.code())
                .collect::<Vec<_>>()
                .join(",")
        }),
        pickup_from: instant(q.pickup_from),
        pickup_to: instant(q.pickup_to),
        min_rate_per_mile_cents: q.min_rate_per_mile_cents.map(f64::from),
        max_weight_lbs: q.max_weight_lbs,
        load_size: match q.load_size {
            LoadSize::Any => None,
            LoadSize::Full => Some("full".into()),
            LoadSize::Partial => Some("partial".into()),
        },
        sort: Some(
            match q.sort {
                SortBy::Age => "age",
                SortBy::RatePerMile => "rate_per_mile",
                SortBy::Deadhead => "deadhead",
                SortBy::PickupDate => "pickup_date",
            }
            .into(),
        ),
        limit: Some(q.limit),
        ..Default::default()
    };
    match &q.dest {
        DestFilter::Anywhere => {}
        DestFilter::Radius {
            point,
            radius_miles,
        } => {
            p.dest_lat = Some(point.lat);
            p.dest_lon = Some(point.lon);
            p.dest_radius_miles = Some(*radius_miles);
        }
        DestFilter::States(states) => {
            let codes: Vec<&str> = states
                .iter()
                .filter_map(|s| std::str::from_utf8(s).ok())
                .collect();
            p.dest_states = Some(codes.join(","));
        }
        DestFilter::Markets(ids) => {
            let codes: Vec<&str> = ids
                .iter()
                .filter_map(|id| geo.markets.get(MarketId(*id)))
                .map(|m| m.code.as_str())
                .collect();
            p.dest_markets = Some(codes.join(","));
        }
    }
    p
}
