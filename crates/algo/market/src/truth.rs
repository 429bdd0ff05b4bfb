//! The ground-truth rate process: what a load books at, given its lane, freight and the
//! market that day. Every constant lives in [`GroundTruth`], so the process can be read in
//! one place and varied in tests.
//!
//! ```text
//! per_mile  = linehaul(miles) · equipment · season · tightness^elasticity · lane · lead · weight
//! all_in    = max(minimum, miles · (per_mile + fuel_surcharge(diesel))) · exp(noise)
//! linehaul  = piecewise-linear in miles through LINEHAUL (short hauls cost more a mile)
//! fuel      = max(0, diesel − fuel_base) / mpg            (cents a mile, DOE-style table)
//! season    = 1 + q4_peak in Nov–Dec; reefer · (1 + produce) in Apr–Jul
//! tightness = the origin market's load-to-truck ratio that day ÷ the national ratio,
//!             clamped to [0.3, 4]; elasticity is halved for contract freight
//! lane      = 1 + headhaul · imbalance(origin) − backhaul · imbalance(destination)
//! lead      = 1 + same_day when booked < 24 h before pickup, + next_day when < 48 h
//! weight    = 1 + heavy · max(0, lbs − 35,000) / 10,000
//! noise     ~ N(0, σ), σ = spot_noise or contract_noise
//! ```

/// The constants of the rate process.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// (miles, van linehaul cents a mile), interpolated linearly, flat beyond the ends.
    pub linehaul: Vec<(f64, f64)>,
    /// Multiplier on linehaul per equipment code.
    pub equipment: Vec<(&'static str, f64)>,
    pub fuel_base_cents: f64,
    pub mpg: f64,
    pub minimum_cents: f64,
    pub q4_peak: f64,
    pub produce_season_reefer: f64,
    pub tightness_elasticity: f64,
    pub headhaul: f64,
    pub backhaul: f64,
    pub same_day: f64,
    pub next_day: f64,
    pub heavy: f64,
    pub spot_noise: f64,
    pub contract_noise: f64,
    /// Share of loads moving under contract rates.
    pub contract_share: f64,
}

impl Default for GroundTruth {
    fn default() -> Self {
        GroundTruth {
            linehaul: vec![
                (30.0, 520.0),
                (100.0, 420.0),
                (250.0, 310.0),
                (500.0, 250.0),
                (1_000.0, 220.0),
                (2_000.0, 200.0),
                (3_000.0, 195.0),
            ],
            equipment: vec![
                ("V", 1.00),
                ("R", 1.18),
                ("F", 1.22),
                ("SD", 1.30),
                ("PO", 1.45),
                ("HS", 1.35),
                ("TNK", 1.40),
                ("CONT", 1.10),
            ],
            fuel_base_cents: 125.0,
            mpg: 6.5,
            minimum_cents: 35_000.0,
            q4_peak: 0.06,
            produce_season_reefer: 0.08,
            tightness_elasticity: 0.25,
            headhaul: 0.15,
            backhaul: 0.10,
            same_day: 0.07,
            next_day: 0.03,
            heavy: 0.02,
            spot_noise: 0.08,
            contract_noise: 0.04,
            contract_share: 0.15,
        }
    }
}

/// Everything the rate depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateInputs<'a> {
    pub miles: f64,
    pub equipment: &'a str,
    /// 1–12.
    pub month: u32,
    /// Origin market load-to-truck ratio over the national one.
    pub tightness: f64,
    /// Market imbalances in [-1, 1]: positive ships out more than it takes in.
    pub origin_imbalance: f64,
    pub dest_imbalance: f64,
    pub lead_hours: f64,
    pub weight_lbs: u32,
    pub diesel_cents: f64,
    pub contract: bool,
    /// A standard normal draw.
    pub noise: f64,
}

impl GroundTruth {
    pub fn linehaul_cents_per_mile(&self, miles: f64) -> f64 {
        let pts = &self.linehaul;
        if miles <= pts[0].0 {
            return pts[0].1;
        }
        for w in pts.windows(2) {
            let ((m0, r0), (m1, r1)) = (w[0], w[1]);
            if miles <= m1 {
                return r0 + (r1 - r0) * (miles - m0) / (m1 - m0);
            }
        }
        pts[pts.len() - 1].1
    }

    pub fn fuel_surcharge_cents_per_mile(&self, diesel_cents: f64) -> f64 {
        (diesel_cents - self.fuel_base_cents).max(0.0) / self.mpg
    }

    pub fn equipment_factor(&self, code: &str) -> f64 {
        self.equipment
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(1.0, |(_, f)| *f)
    }

    /// The all-in rate in cents.
    pub fn rate_cents(&self, x: &RateInputs) -> i64 {
        let season = if matches!(x.month, 11 | 12) {
            1.0 + self.q4_peak
        } else {
            1.0
        } * if x.equipment == "R" && (4..=7).contains(&x.month) {
            1.0 + self.produce_season_reefer
        } else {
            1.0
        };
        let elasticity = if x.contract {
            self.tightness_elasticity / 2.0
        } else {
            self.tightness_elasticity
        };
        let tight = x.tightness.clamp(0.3, 4.0).powf(elasticity);
        let lane = 1.0 + self.headhaul * x.origin_imbalance - self.backhaul * x.dest_imbalance;
        let lead = 1.0
            + if x.lead_hours < 24.0 {
                self.same_day
            } else if x.lead_hours < 48.0 {
                self.next_day
            } else {
                0.0
            };
        let weight = 1.0 + self.heavy * (x.weight_lbs as f64 - 35_000.0).max(0.0) / 10_000.0;
        let per_mile = self.linehaul_cents_per_mile(x.miles)
            * self.equipment_factor(x.equipment)
            * season
            * tight
            * lane
            * lead
            * weight;
        let sigma = if x.contract {
            self.contract_noise
        } else {
            self.spot_noise
        };
        let all_in = (x.miles * (per_mile + self.fuel_surcharge_cents_per_mile(x.diesel_cents)))
            .max(self.minimum_cents);
        (all_in * (sigma * x.noise).exp()).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> RateInputs<'static> {
        RateInputs {
            miles: 800.0,
            equipment: "V",
            month: 3,
            tightness: 1.0,
            origin_imbalance: 0.0,
            dest_imbalance: 0.0,
            lead_hours: 72.0,
            weight_lbs: 35_000,
            diesel_cents: 380.0,
            contract: false,
            noise: 0.0,
        }
    }

    #[test]
    fn short_hauls_cost_more_a_mile_and_the_minimum_holds() {
        let t = GroundTruth::default();
        let per_mile = |miles: f64| t.rate_cents(&RateInputs { miles, ..inputs() }) as f64 / miles;
        assert!(per_mile(150.0) > per_mile(600.0));
        assert!(per_mile(600.0) > per_mile(1_500.0));
        assert_eq!(
            t.rate_cents(&RateInputs {
                miles: 30.0,
                ..inputs()
            }),
            35_000
        );
    }

    #[test]
    fn each_factor_moves_the_rate_the_way_the_market_does() {
        let t = GroundTruth::default();
        let base = t.rate_cents(&inputs());
        let with = |f: &dyn Fn(&mut RateInputs)| {
            let mut x = inputs();
            f(&mut x);
            t.rate_cents(&x)
        };
        assert!(with(&|x| x.tightness = 2.0) > base);
        assert!(with(&|x| x.tightness = 0.5) < base);
        assert!(with(&|x| x.diesel_cents = 450.0) > base);
        assert!(with(&|x| x.equipment = "R") > base);
        assert!(with(&|x| x.origin_imbalance = 0.5) > base, "headhaul pays");
        assert!(
            with(&|x| x.dest_imbalance = 0.5) < base,
            "backhaul is cheap"
        );
        assert!(with(&|x| x.lead_hours = 6.0) > base);
        assert!(with(&|x| x.month = 12) > base);
        assert!(with(&|x| x.weight_lbs = 45_000) > base);
        // Contract freight feels half the market's tightness.
        let spot_up = with(&|x| x.tightness = 2.0) - base;
        let contract_base = with(&|x| x.contract = true);
        let contract_up = with(&|x| {
            x.contract = true;
            x.tightness = 2.0
        }) - contract_base;
        assert!(contract_up < spot_up);
    }

    #[test]
    fn fuel_surcharge_follows_diesel_above_the_base() {
        let t = GroundTruth::default();
        assert_eq!(t.fuel_surcharge_cents_per_mile(100.0), 0.0);
        assert!((t.fuel_surcharge_cents_per_mile(385.0) - 40.0).abs() < 1e-9);
    }
}
