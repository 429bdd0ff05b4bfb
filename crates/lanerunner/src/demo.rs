//! `lanerunner serve --demo`: a live market on a running LaneRunner, driven through its own
//! HTTP API like any client. Four demo brokers and a demo carrier sign up (or sign in again
//! on a restart); the market simulator (`lanerunner-market`) supplies loads with the rates
//! they book at; each batch posts loads and trucks and covers most of the loads at their
//! simulated rate, so the board, matching and the lane analytics fill up as a newcomer
//! watches.

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use lanerunner_core::market::BookingRecord;
use lanerunner_market::{SimParams, Simulator};
use serde_json::{json, Value};

/// The demo accounts' password (printed at start-up: these are demo data, not secrets).
pub const DEMO_PASSWORD: &str = "lanerunner demo market";
pub const DEMO_BROKERS: usize = 4;
/// Share of posted loads the demo covers.
const COVERED: u64 = 7;
const OF: u64 = 10;

struct Account {
    email: String,
    kind: &'static str,
    token: String,
}

/// Drives a LaneRunner at `base_url`.
pub struct Demo {
    client: reqwest::Client,
    base_url: String,
    brokers: Vec<Account>,
    carrier: Account,
    sim: Simulator,
    broker_of: std::collections::HashMap<uuid::Uuid, usize>,
    posted: u64,
}

/// A time as the API takes stop and availability times: local to the place, to the hour
/// (UTC's clock reading is a fine stand-in for a demo).
fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:00:00").to_string()
}

fn demo_email(kind: &str, i: usize) -> String {
    format!("demo-{kind}-{i}@demo.lanerunner.dev")
}

impl Demo {
    /// Signs the demo accounts up (or in, when they exist) and prepares the market.
    pub async fn connect(base_url: &str, seed: u64, loads_per_day: u32) -> anyhow::Result<Demo> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let mut demo = Demo {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            brokers: (0..DEMO_BROKERS)
                .map(|i| Account {
                    email: demo_email("broker", i + 1),
                    kind: "broker",
                    token: String::new(),
                })
                .collect(),
            carrier: Account {
                email: demo_email("carrier", 1),
                kind: "carrier",
                token: String::new(),
            },
            sim: Simulator::new(SimParams {
                seed,
                start: Utc::now().date_naive(),
                days: 3_660,
                loads_per_day,
                brokers: DEMO_BROKERS as u32,
                carriers: 1,
            })?,
            broker_of: Default::default(),
            posted: 0,
        };
        for i in 0..DEMO_BROKERS {
            let token = demo.sign_in(&demo.brokers[i]).await?;
            demo.brokers[i].token = token;
        }
        demo.carrier.token = demo.sign_in(&demo.carrier).await?;
        Ok(demo)
    }

    async fn sign_in(&self, a: &Account) -> anyhow::Result<String> {
        let mut org = json!({"name": format!("Demo {} {}", a.kind, &a.email[5..a.email.find('@').unwrap_or(5)]), "kind": a.kind});
        if a.kind == "carrier" {
            org["usdot_number"] = json!("1234567");
            org["mc_number"] = json!("MC-654321");
        }
        // The demo accepts the terms the server has in force, as its people would.
        let legal: serde_json::Value = self
            .client
            .get(self.url("/v1/legal"))
            .send()
            .await?
            .json()
            .await?;
        let signup = json!({"organization": org, "name": "Demo User", "email": a.email, "password": DEMO_PASSWORD,
            "terms_version": legal["terms_version"], "privacy_notice_version": legal["privacy_notice_version"]});
        let res = self
            .client
            .post(self.url("/v1/auth/signup"))
            .json(&signup)
            .send()
            .await?;
        let res = if res.status() == reqwest::StatusCode::CONFLICT {
            let login = json!({"email": a.email, "password": DEMO_PASSWORD});
            self.client
                .post(self.url("/v1/auth/login"))
                .json(&login)
                .send()
                .await?
        } else {
            res
        };
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match body["tokens"]["access_token"].as_str() {
            Some(t) if status.is_success() => Ok(t.to_owned()),
            _ => bail!("signing in {} failed: {status} {body}", a.email),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// POSTs as `who` (a broker index, or `None` for the carrier), signing in again once
    /// when the access token has expired.
    async fn post(
        &mut self,
        who: Option<usize>,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        for attempt in 0..2 {
            let token = match who {
                Some(i) => &self.brokers[i].token,
                None => &self.carrier.token,
            };
            let res = self
                .client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body)
                .send()
                .await?;
            let status = res.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let token = match who {
                    Some(i) => self.sign_in(&self.brokers[i]).await?,
                    None => self.sign_in(&self.carrier).await?,
                };
                match who {
                    Some(i) => self.brokers[i].token = token,
                    None => self.carrier.token = token,
                }
                continue;
            }
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("POST {path}: {status} {body}");
            }
            return Ok(body);
        }
        unreachable!("the second attempt returns")
    }

    /// One simulated day: its loads posted (most of them covered at their simulated rate)
    /// and a truck posted for every other load where it delivers. Returns loads posted.
    pub async fn step(&mut self) -> anyhow::Result<usize> {
        let day = self
            .sim
            .next_day()
            .context("the simulation ran out of days")?;
        let mut n = 0;
        let mut first_error = None;
        for (i, b) in day.bookings.iter().enumerate() {
            // A load the gazetteer cannot place again (a rare ambiguous name) is skipped.
            match self.post_load(b).await {
                Ok(()) => n += 1,
                Err(e) => {
                    tracing::debug!(error = %e, "demo load skipped");
                    first_error.get_or_insert(e);
                }
            }
            if i % 2 == 0 {
                if let Err(e) = self.post_truck(b).await {
                    tracing::debug!(error = %e, "demo truck skipped");
                }
            }
        }
        match first_error {
            // Not one load went in: something is wrong beyond one odd place name.
            Some(e) if n == 0 => Err(e.context("no demo load could be posted")),
            _ => Ok(n),
        }
    }

    async fn post_load(&mut self, b: &BookingRecord) -> anyhow::Result<()> {
        // The simulator's brokers become the demo brokers in the order they first book.
        let next = self.broker_of.len() % DEMO_BROKERS;
        let broker = *self.broker_of.entry(b.broker_org_id).or_insert(next);
        let ahead = (b.pickup_date - b.booked_at.date_naive()).num_days().max(0) + 1;
        let pickup = Utc::now() + chrono::Duration::days(ahead);
        let transit = chrono::Duration::hours((b.miles / 45.0).ceil() as i64 + 12);
        let load = json!({
            "reference": format!("DEMO-{}", &b.load_id.simple().to_string()[..8]),
            "equipment": b.equipment, "trailer_length_ft": 53, "weight_lbs": b.weight_lbs,
            "commodity": "general freight",
            "temperature_f": if b.equipment == "R" { json!({"min_f": 34, "max_f": 38}) } else { Value::Null },
            "rate": {"kind": "all_in", "amount_cents": b.rate_cents + b.rate_cents / 20},
            "stops": [
                {"kind": "pickup", "location": {"place": format!("{}, {}", b.origin_city, b.origin_state)},
                 "window": {"start": stamp(pickup), "end": stamp(pickup + chrono::Duration::hours(6))}},
                {"kind": "delivery", "location": {"place": format!("{}, {}", b.dest_city, b.dest_state)},
                 "appointment": stamp(pickup + transit)}
            ]
        });
        let created = self.post(Some(broker), "/v1/loads", &load).await?;
        let id = created["id"]
            .as_str()
            .context("a created load has an id")?
            .to_owned();
        self.post(Some(broker), &format!("/v1/loads/{id}/post"), &json!({}))
            .await?;
        self.posted += 1;
        if self.posted % OF < COVERED {
            let cover = json!({"event": "cover", "booking": {"rate_cents": b.rate_cents}});
            self.post(Some(broker), &format!("/v1/loads/{id}/status"), &cover)
                .await?;
        }
        Ok(())
    }

    async fn post_truck(&mut self, b: &BookingRecord) -> anyhow::Result<()> {
        let from = Utc::now() + chrono::Duration::hours(6);
        let truck = json!({
            "equipment": b.equipment, "trailer_length_ft": 53,
            "available_at": {"place": format!("{}, {}", b.dest_city, b.dest_state)},
            "available_from": stamp(from), "available_until": stamp(from + chrono::Duration::days(3)),
            "max_deadhead_miles": 150
        });
        self.post(None, "/v1/trucks", &truck).await.map(|_| ())
    }
}

/// Gives the demo a rate model when none is active: trained on 60 simulated days of the
/// same market (another seed, so the demo's own bookings are new to it), published and
/// activated, so `GET /v1/rates/predict` answers from the start.
pub async fn seed_rate_model(ml: &lanerunner_ml::MlService, seed: u64) -> anyhow::Result<()> {
    if ml.rates().served().is_some() {
        return Ok(());
    }
    let file = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let (mut bookings, mut postings) = (Vec::new(), Vec::new());
        let params = SimParams {
            seed: seed + 1_000,
            start: Utc::now().date_naive() - chrono::Duration::days(60),
            days: 60,
            loads_per_day: 300,
            ..SimParams::default()
        };
        for day in Simulator::new(params)? {
            bookings.extend(day.bookings);
            postings.extend(day.postings);
        }
        let vocab = lanerunner_ratemodel::vocab_of(&bookings);
        let (ex, _) = lanerunner_ratemodel::examples(&bookings, &postings, &vocab);
        // A few seconds of training: enough trees for a demo, not a benchmark.
        let mut opts = lanerunner_ratemodel::FitOptions::default();
        opts.params.rounds = 150;
        let model = lanerunner_ratemodel::RateModel::fit(&ex, 0..ex.len(), &vocab, &opts)?;
        Ok(lanerunner_ratemodel::encode(&model))
    })
    .await??;
    let version = ml.rates().publish(file, true).await?;
    tracing::info!(version = %version, "demo market: a rate model trained on simulated history is active");
    Ok(())
}

/// Runs the demo against `base_url`: a first batch at once, then one simulated day every
/// `every`, until the process stops. Errors are logged, never fatal to the server.
pub async fn run(base_url: String, seed: u64, loads_per_day: u32, every: Duration) {
    let mut demo = match Demo::connect(&base_url, seed, loads_per_day).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the demo market could not start");
            return;
        }
    };
    tracing::info!(
        brokers = %(1..=DEMO_BROKERS).map(|i| demo_email("broker", i)).collect::<Vec<_>>().join(", "),
        carrier = %demo_email("carrier", 1),
        password = DEMO_PASSWORD,
        "demo market: sign in as any of these"
    );
    loop {
        match demo.step().await {
            Ok(n) => tracing::info!(loads = n, "demo market: a simulated day posted"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "demo market step failed"),
        }
        tokio::time::sleep(every).await;
    }
}
