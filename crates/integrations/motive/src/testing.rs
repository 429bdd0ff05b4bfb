//! A stand-in for Motive's webhook delivery, for tests: it builds each payload in Motive's
//! JSON (with the fields LaneRunner ignores, as Motive sends them), signs it with the
//! webhook's shared secret and posts it to the subscribed URL, as Motive's servers do.
//!
//! ```no_run
//! # async fn f() {
//! use lanerunner_motive::testing::MotiveStandIn;
//! let motive = MotiveStandIn::new("http://127.0.0.1:8080/v1/tracking/providers/motive/org", "shared-secret");
//! let res = motive.location(22, "TRK-22", 32.7767, -96.797, chrono::Utc::now()).await;
//! # }
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::signature::{sign, SIGNATURE_HEADER};
use crate::wire::LOCATION_ACTION;

pub struct MotiveStandIn {
    url: String,
    secret: String,
    client: reqwest::Client,
}

impl MotiveStandIn {
    pub fn new(url: &str, secret: &str) -> Self {
        Self {
            url: url.to_owned(),
            secret: secret.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// The body of a `vehicle_location_updated` as Motive writes it.
    pub fn location_body(
        vehicle_id: i64,
        vehicle_number: &str,
        lat: f64,
        lon: f64,
        at: DateTime<Utc>,
    ) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "action": LOCATION_ACTION,
            "trigger": "created",
            "id": at.timestamp_millis(),
            "located_at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "lat": lat,
            "lon": lon,
            "bearing": 90.0,
            "engine_hours": 1201.5,
            "fuel": 61.0,
            "odometer": 120443.2,
            "speed": 58.0,
            "type": "vehicle_moving",
            "description": "",
            "vehicle_id": vehicle_id,
            "vehicle_number": vehicle_number,
            "driver_id": null
        }))
        .expect("JSON")
    }

    /// Posts a vehicle's position, signed.
    pub async fn location(
        &self,
        vehicle_id: i64,
        vehicle_number: &str,
        lat: f64,
        lon: f64,
        at: DateTime<Utc>,
    ) -> reqwest::Response {
        let body = Self::location_body(vehicle_id, vehicle_number, lat, lon, at);
        let signature = sign(&self.secret, &body);
        self.post(body, &signature).await
    }

    /// Posts any body with any signature (what a forger or a broken proxy would send).
    pub async fn post(&self, body: Vec<u8>, signature: &str) -> reqwest::Response {
        self.client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .expect("the webhook URL answers")
    }

    /// Posts any body signed with the shared secret.
    pub async fn post_signed(&self, body: Vec<u8>) -> reqwest::Response {
        let signature = sign(&self.secret, &body);
        self.post(body, &signature).await
    }
}
