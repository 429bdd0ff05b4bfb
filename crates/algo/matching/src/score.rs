//! How good a feasible pair is, as a sum of named terms in cents (lower is better), each
//! reported so a dispatcher can see why a truck ranks where it does.

use lanerunner_geo::road_miles;
use serde::Serialize;

use crate::feasibility::Feasible;
use crate::model::{LoadFacts, MatchParams, TruckFacts};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    /// `deadhead`, `destination_fit`, `rate`, `below_carrier_minimum`, `pickup_slack`,
    /// `lane_history`.
    pub name: &'static str,
    /// This term's share of the cost, in cents (negative is good).
    pub cost_cents: f64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Sum of the terms, in cents; the assignment minimises it.
    pub cost_cents: f64,
    pub terms: Vec<Term>,
}

/// Adds up terms; builds their explanations only when asked (ranking scores thousands of
/// candidates and explains the few it returns).
struct Tally {
    cost_cents: f64,
    terms: Option<Vec<Term>>,
}

impl Tally {
    fn add(&mut self, name: &'static str, cost_cents: f64, detail: impl FnOnce() -> String) {
        self.cost_cents += cost_cents;
        if let Some(terms) = &mut self.terms {
            terms.push(Term {
                name,
                cost_cents,
                detail: detail(),
            });
        }
    }
}

fn evaluate(
    truck: &TruckFacts,
    load: &LoadFacts,
    f: &Feasible,
    params: &MatchParams,
    explain: bool,
) -> Tally {
    let mut t = Tally {
        cost_cents: 0.0,
        terms: explain.then(|| Vec::with_capacity(6)),
    };
    t.add(
        "deadhead",
        f.deadhead_miles * params.empty_mile_cost_cents,
        || format!("{:.0} empty miles to the pickup", f.deadhead_miles),
    );
    if let Some(wanted) = truck.destination {
        let off = road_miles(load.destination, wanted);
        t.add(
            "destination_fit",
            off * params.off_destination_mile_cost_cents,
            || format!("delivers {off:.0} miles from where the truck wants to go"),
        );
    }
    let rpm = if load.loaded_miles > 0.0 {
        load.rate_cents as f64 / load.loaded_miles
    } else {
        0.0
    };
    t.add("rate", -(load.rate_cents as f64), || {
        format!(
            "pays ${:.2} (${:.2}/mile)",
            load.rate_cents as f64 / 100.0,
            rpm / 100.0
        )
    });
    let floor = truck.min_rate_per_mile_cents as f64 * load.loaded_miles;
    if (load.rate_cents as f64) < floor {
        t.add(
            "below_carrier_minimum",
            floor - load.rate_cents as f64,
            || {
                format!(
                    "${:.2}/mile is under the carrier's ${:.2}/mile",
                    rpm / 100.0,
                    truck.min_rate_per_mile_cents as f64 / 100.0
                )
            },
        );
    }
    if f.slack_secs < params.comfortable_slack_secs {
        let tightness = 1.0 - f.slack_secs as f64 / params.comfortable_slack_secs as f64;
        t.add(
            "pickup_slack",
            tightness * params.tight_slack_cost_cents,
            || format!("{} minutes to spare at the pickup", f.slack_secs / 60),
        );
    }
    if truck.lane_history > 0 {
        let n = truck.lane_history.min(params.lane_history_cap);
        t.add(
            "lane_history",
            -(n as f64) * params.lane_history_bonus_cents,
            || format!("{} loads hauled on this lane", truck.lane_history),
        );
    }
    t
}

/// The pair's cost with every term explained.
pub fn score(truck: &TruckFacts, load: &LoadFacts, f: &Feasible, params: &MatchParams) -> Scored {
    let t = evaluate(truck, load, f, params, true);
    Scored {
        cost_cents: t.cost_cents,
        terms: t.terms.unwrap_or_default(),
    }
}

/// The same cost as [`score`], without the explanations.
pub fn cost(truck: &TruckFacts, load: &LoadFacts, f: &Feasible, params: &MatchParams) -> f64 {
    evaluate(truck, load, f, params, false).cost_cents
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feasibility::check;
    use crate::feasibility::tests::{load, truck, DALLAS, FORT_WORTH, HOUSTON};

    #[test]
    fn closer_trucks_score_better_and_every_term_is_explained() {
        let p = MatchParams::default();
        let l = load(DALLAS, HOUSTON);
        let near = truck(DALLAS);
        let far = truck(FORT_WORTH);
        let s_near = score(&near, &l, &check(&near, &l, &p, 0).unwrap(), &p);
        let s_far = score(&far, &l, &check(&far, &l, &p, 0).unwrap(), &p);
        assert!(s_near.cost_cents < s_far.cost_cents);
        let sum: f64 = s_far.terms.iter().map(|t| t.cost_cents).sum();
        assert!((sum - s_far.cost_cents).abs() < 1e-6);
        let f = check(&far, &l, &p, 0).unwrap();
        assert_eq!(cost(&far, &l, &f, &p), s_far.cost_cents);
        assert!(s_far
            .terms
            .iter()
            .any(|t| t.name == "deadhead" && t.detail.contains("empty miles")));
    }

    #[test]
    fn lane_history_and_destination_fit_move_the_score() {
        let p = MatchParams::default();
        let l = load(DALLAS, HOUSTON);
        let mut t = truck(DALLAS);
        let f = check(&t, &l, &p, 0).unwrap();
        let base = score(&t, &l, &f, &p).cost_cents;
        t.lane_history = 3;
        assert!(score(&t, &l, &f, &p).cost_cents < base);
        t.lane_history = 0;
        t.destination = Some(FORT_WORTH);
        let s = score(&t, &l, &f, &p);
        assert!(s.cost_cents > base);
        assert!(s.terms.iter().any(|t| t.name == "destination_fit"));
    }

    #[test]
    fn a_rate_under_the_carriers_floor_is_penalised_and_says_so() {
        let p = MatchParams::default();
        let mut l = load(DALLAS, HOUSTON);
        l.rate_cents = (l.loaded_miles * 150.0) as i64;
        let t = truck(DALLAS);
        let s = score(&t, &l, &check(&t, &l, &p, 0).unwrap(), &p);
        assert!(s
            .terms
            .iter()
            .any(|t| t.name == "below_carrier_minimum" && t.cost_cents > 0.0));
    }
}
