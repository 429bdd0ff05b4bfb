//! Motive's webhook JSON. Every delivery is an object naming its `action`; a
//! `vehicle_location_updated` carries the vehicle (Motive's numeric id and the fleet's own
//! number for it), where (`lat`, `lon`, `bearing`) and when (`located_at`, ISO 8601 UTC).
//! Fields LaneRunner does not use (odometer, fuel, engine hours, the driver) are ignored.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The action that carries a vehicle's position.
pub const LOCATION_ACTION: &str = "vehicle_location_updated";

/// `vehicle_location_updated`, the fields a tracker needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VehicleLocation {
    /// Motive's id of this location record.
    #[serde(default)]
    pub id: Option<i64>,
    pub vehicle_id: i64,
    /// The fleet's own number for the truck (what its dispatcher calls it).
    #[serde(default)]
    pub vehicle_number: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub located_at: DateTime<Utc>,
    #[serde(default)]
    pub bearing: Option<f64>,
    /// Miles per hour, as Motive reports it for US fleets.
    #[serde(default)]
    pub speed: Option<f64>,
}

/// What a delivery holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Location(VehicleLocation),
    /// Another action (a fault code, a driver's status, a test delivery): acknowledged and
    /// left alone, so Motive does not retry it.
    Other(String),
}

/// Reads a delivery's body (already verified). A location missing its coordinates, time
/// or vehicle is an error; so is a body that is not Motive's JSON.
pub fn read(body: &[u8]) -> Result<Delivery, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let action = match &value {
        serde_json::Value::Object(o) => o.get("action").and_then(|a| a.as_str()),
        // The overview's example delivery is a list of action names.
        serde_json::Value::Array(a) => a.first().and_then(|a| a.as_str()),
        _ => None,
    }
    .ok_or("the body names no action")?
    .to_owned();
    if action != LOCATION_ACTION || !value.is_object() {
        return Ok(Delivery::Other(action));
    }
    serde_json::from_value(value)
        .map(Delivery::Location)
        .map_err(|e| format!("a {LOCATION_ACTION} without what it needs: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_read_with_its_vehicle_and_time() {
        let body = br#"{"action":"vehicle_location_updated","trigger":"created","id":7781,
            "located_at":"2026-12-04T15:00:00Z","lat":32.7767,"lon":-96.797,"bearing":88.5,
            "engine_hours":1201.5,"fuel":61.0,"odometer":120443.2,"speed":58.0,
            "type":"vehicle_moving","vehicle_id":22,"vehicle_number":"TRK-22","driver_id":5}"#;
        let Delivery::Location(l) = read(body).unwrap() else {
            panic!("a location")
        };
        assert_eq!(l.vehicle_id, 22);
        assert_eq!(l.vehicle_number.as_deref(), Some("TRK-22"));
        assert_eq!(l.located_at.to_rfc3339(), "2026-12-04T15:00:00+00:00");
        assert_eq!((l.lat, l.lon, l.speed), (32.7767, -96.797, Some(58.0)));
    }

    #[test]
    fn other_actions_are_recognised_and_bad_bodies_refused() {
        assert_eq!(
            read(br#"{"action":"fault_code_opened","id":1}"#).unwrap(),
            Delivery::Other("fault_code_opened".into())
        );
        assert_eq!(
            read(br#"["fault_code_closed"]"#).unwrap(),
            Delivery::Other("fault_code_closed".into())
        );
        assert!(read(b"not json").is_err());
        assert!(read(br#"{"id":1}"#).unwrap_err().contains("no action"));
        let no_lat = br#"{"action":"vehicle_location_updated","vehicle_id":1,"lon":1.0,"located_at":"2026-12-04T15:00:00Z"}"#;
        assert!(read(no_lat).unwrap_err().contains("lat"));
    }
}
