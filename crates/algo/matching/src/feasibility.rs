//! Can this truck take this load? Every "no" says why.

use lanerunner_geo::road_miles;
use serde::Serialize;

use crate::hos::{drive, work, HosClock, HosRules};
use crate::model::{LoadFacts, MatchParams, TruckFacts};

/// Why a pair is never suggested.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Infeasible {
    #[error("a {truck} trailer cannot haul a {load} load")]
    Equipment {
        truck: &'static str,
        load: &'static str,
    },
    #[error("the load weighs {load_lbs} lbs; the truck takes {truck_lbs}")]
    Weight { load_lbs: u32, truck_lbs: u32 },
    #[error("the load needs {load_ft} ft; the trailer is {truck_ft} ft")]
    Length { load_ft: u32, truck_ft: u32 },
    #[error("the load needs a team")]
    TeamRequired,
    #[error("the load is hazmat and the truck is not hazmat-qualified")]
    Hazmat,
    #[error("{deadhead_miles:.0} empty miles to the pickup; the carrier accepts {max_miles:.0}")]
    TooFar { deadhead_miles: f64, max_miles: f64 },
    #[error("the truck reaches the pickup at {arrival}, after the window closes at {pickup_end}")]
    MissesPickup { arrival: i64, pickup_end: i64 },
    #[error("the truck would deliver at {arrival}, after the appointment at {delivery_end}")]
    MissesDelivery { arrival: i64, delivery_end: i64 },
    #[error("the pickup window closed at {pickup_end}")]
    Expired { pickup_end: i64 },
    #[error("bad data: {0}")]
    BadData(&'static str),
}

/// What a feasible pair looks like in time and distance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Feasible {
    pub deadhead_miles: f64,
    /// When the truck can be at the pickup.
    pub arrival: i64,
    /// When loading starts: the arrival, or the window's opening if the truck is early.
    pub pickup_at: i64,
    /// Seconds between loading starting and the window closing.
    pub slack_secs: i64,
    /// When the load is delivered and the truck is empty again.
    pub empty_at: i64,
    #[serde(skip)]
    pub clock_after: HosClock,
}

fn valid(t: &TruckFacts, l: &LoadFacts) -> Result<(), Infeasible> {
    if !t.position.is_valid() {
        return Err(Infeasible::BadData(
            "the truck's position is not a valid coordinate",
        ));
    }
    if !l.origin.is_valid() || !l.destination.is_valid() {
        return Err(Infeasible::BadData(
            "a stop of the load is not a valid coordinate",
        ));
    }
    if l.pickup_start > l.pickup_end {
        return Err(Infeasible::BadData(
            "the pickup window ends before it starts",
        ));
    }
    if !t.max_deadhead_miles.is_finite() || t.max_deadhead_miles < 0.0 {
        return Err(Infeasible::BadData(
            "the truck's maximum deadhead is not a distance",
        ));
    }
    if !t.drive_hours_left.is_finite() || !l.loaded_miles.is_finite() || l.loaded_miles < 0.0 {
        return Err(Infeasible::BadData(
            "a duration or distance is not a number",
        ));
    }
    Ok(())
}

/// Checks, cheapest first, whether `truck` can take `load` at `now`.
pub fn check(
    truck: &TruckFacts,
    load: &LoadFacts,
    params: &MatchParams,
    now: i64,
) -> Result<Feasible, Infeasible> {
    valid(truck, load)?;
    if !truck.trailer.can_haul(load.trailer) {
        return Err(Infeasible::Equipment {
            truck: truck.trailer.code(),
            load: load.trailer.code(),
        });
    }
    if load.weight_lbs > truck.max_weight_lbs {
        return Err(Infeasible::Weight {
            load_lbs: load.weight_lbs,
            truck_lbs: truck.max_weight_lbs,
        });
    }
    if load.length_ft > truck.trailer_length_ft {
        return Err(Infeasible::Length {
            load_ft: load.length_ft,
            truck_ft: truck.trailer_length_ft,
        });
    }
    if load.team_required && !truck.team {
        return Err(Infeasible::TeamRequired);
    }
    if load.hazmat && !truck.hazmat {
        return Err(Infeasible::Hazmat);
    }
    if load.pickup_end < now {
        return Err(Infeasible::Expired {
            pickup_end: load.pickup_end,
        });
    }
    let deadhead_miles = road_miles(truck.position, load.origin);
    if deadhead_miles > truck.max_deadhead_miles {
        return Err(Infeasible::TooFar {
            deadhead_miles,
            max_miles: truck.max_deadhead_miles,
        });
    }
    let rules = HosRules::default();
    let speed = params.average_speed_mph.max(1.0);
    // A truck whose availability is in the past is available now.
    let depart = truck.available_at.max(now);
    let mut clock = HosClock::with_drive_left(&rules, truck.drive_hours_left);
    let to_pickup = if truck.team {
        deadhead_miles / speed
    } else {
        drive(&rules, &mut clock, deadhead_miles / speed)
    };
    let arrival = depart + hours_to_secs(to_pickup);
    if arrival > load.pickup_end {
        return Err(Infeasible::MissesPickup {
            arrival,
            pickup_end: load.pickup_end,
        });
    }
    let pickup_at = arrival.max(load.pickup_start);
    if pickup_at > arrival {
        // Waiting for the window counts as rest when it is long enough to reset the clock.
        if pickup_at - arrival >= hours_to_secs(rules.off_duty_hours) {
            clock = HosClock::with_drive_left(&rules, rules.max_drive_hours);
        }
    }
    let loaded_hours = load.loaded_miles / speed;
    let mut after_pickup = if truck.team {
        params.stop_hours
    } else {
        work(&rules, &mut clock, params.stop_hours)
    };
    after_pickup += if truck.team {
        loaded_hours
    } else {
        drive(&rules, &mut clock, loaded_hours)
    };
    let delivered = pickup_at + hours_to_secs(after_pickup);
    if delivered > load.delivery_end {
        return Err(Infeasible::MissesDelivery {
            arrival: delivered,
            delivery_end: load.delivery_end,
        });
    }
    let unload = if truck.team {
        params.stop_hours
    } else {
        work(&rules, &mut clock, params.stop_hours)
    };
    Ok(Feasible {
        deadhead_miles,
        arrival,
        pickup_at,
        slack_secs: load.pickup_end - pickup_at,
        empty_at: delivered + hours_to_secs(unload),
        clock_after: clock,
    })
}

fn hours_to_secs(h: f64) -> i64 {
    (h * 3600.0).round() as i64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::equipment::Trailer;
    use lanerunner_geo::LatLon;

    pub const DALLAS: LatLon = LatLon {
        lat: 32.7767,
        lon: -96.7970,
    };
    pub const FORT_WORTH: LatLon = LatLon {
        lat: 32.7555,
        lon: -97.3308,
    };
    pub const HOUSTON: LatLon = LatLon {
        lat: 29.7604,
        lon: -95.3698,
    };
    pub const CHICAGO: LatLon = LatLon {
        lat: 41.8781,
        lon: -87.6298,
    };
    pub const H: i64 = 3600;

    pub fn truck(at: LatLon) -> TruckFacts {
        TruckFacts {
            id: 1,
            trailer: Trailer::DryVan,
            position: at,
            available_at: 0,
            drive_hours_left: 11.0,
            max_weight_lbs: 45_000,
            trailer_length_ft: 53,
            team: false,
            hazmat: false,
            max_deadhead_miles: 150.0,
            min_rate_per_mile_cents: 200,
            destination: None,
            lane_history: 0,
        }
    }

    pub fn load(from: LatLon, to: LatLon) -> LoadFacts {
        let miles = road_miles(from, to);
        LoadFacts {
            id: 10,
            trailer: Trailer::DryVan,
            origin: from,
            destination: to,
            pickup_start: 2 * H,
            pickup_end: 6 * H,
            delivery_end: 72 * H,
            weight_lbs: 40_000,
            length_ft: 53,
            team_required: false,
            hazmat: false,
            rate_cents: (miles * 250.0) as i64,
            loaded_miles: miles,
        }
    }

    #[test]
    fn a_nearby_van_takes_a_van_load() {
        let f = check(
            &truck(FORT_WORTH),
            &load(DALLAS, HOUSTON),
            &MatchParams::default(),
            0,
        )
        .unwrap();
        assert!(
            f.deadhead_miles > 30.0 && f.deadhead_miles < 45.0,
            "{}",
            f.deadhead_miles
        );
        assert_eq!(f.pickup_at, 2 * H, "early trucks wait for the window");
        assert_eq!(f.slack_secs, 4 * H);
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let p = MatchParams::default();
        let l = load(DALLAS, HOUSTON);
        let mut t = truck(DALLAS);
        t.trailer = Trailer::Flatbed;
        assert!(matches!(
            check(&t, &l, &p, 0),
            Err(Infeasible::Equipment { .. })
        ));
        let mut t = truck(DALLAS);
        t.max_weight_lbs = 30_000;
        assert!(matches!(
            check(&t, &l, &p, 0),
            Err(Infeasible::Weight { .. })
        ));
        let mut t = truck(DALLAS);
        t.trailer_length_ft = 48;
        assert!(matches!(
            check(&t, &l, &p, 0),
            Err(Infeasible::Length { .. })
        ));
        let mut heavy = l.clone();
        heavy.team_required = true;
        assert_eq!(
            check(&truck(DALLAS), &heavy, &p, 0),
            Err(Infeasible::TeamRequired)
        );
        heavy.team_required = false;
        heavy.hazmat = true;
        assert_eq!(
            check(&truck(DALLAS), &heavy, &p, 0),
            Err(Infeasible::Hazmat)
        );
        assert!(matches!(
            check(&truck(CHICAGO), &l, &p, 0),
            Err(Infeasible::TooFar { .. })
        ));
        assert!(matches!(
            check(&truck(DALLAS), &l, &p, 7 * H),
            Err(Infeasible::Expired { .. })
        ));
    }

    #[test]
    fn a_truck_that_cannot_arrive_in_time_is_refused() {
        let mut t = truck(HOUSTON);
        t.max_deadhead_miles = 500.0;
        // ~290 road miles at 50 mph ≈ 5.8 h plus a break: past the 6 h window end once it
        // only becomes available at hour 1.
        t.available_at = H;
        let r = check(&t, &load(DALLAS, FORT_WORTH), &MatchParams::default(), 0);
        assert!(matches!(r, Err(Infeasible::MissesPickup { .. })), "{r:?}");
    }

    #[test]
    fn a_tired_driver_misses_a_pickup_a_fresh_one_makes() {
        let mut t = truck(FORT_WORTH);
        let l = load(DALLAS, HOUSTON);
        assert!(check(&t, &l, &MatchParams::default(), 0).is_ok());
        t.drive_hours_left = 0.0;
        assert!(matches!(
            check(&t, &l, &MatchParams::default(), 0),
            Err(Infeasible::MissesPickup { .. })
        ));
    }

    #[test]
    fn bad_coordinates_are_bad_data_not_a_match() {
        let mut t = truck(DALLAS);
        t.position = LatLon {
            lat: f64::NAN,
            lon: 0.0,
        };
        assert!(matches!(
            check(&t, &load(DALLAS, HOUSTON), &MatchParams::default(), 0),
            Err(Infeasible::BadData(_))
        ));
    }
}
