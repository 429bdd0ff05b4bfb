//! Distances as clients see them. Road miles are estimates (great-circle distance times a
//! circuity factor), so anything past a tenth of a mile is noise: the wire carries miles to
//! one decimal while the computations, sorting included, keep full precision.

use serde::Serializer;

/// `miles` to one decimal (half away from zero). Non-finite values are left as they are.
pub fn round_miles(miles: f64) -> f64 {
    if miles.is_finite() {
        (miles * 10.0).round() / 10.0
    } else {
        miles
    }
}

/// `#[serde(serialize_with = "lanerunner_core::distance::miles")]` on a field of miles.
pub fn miles<S: Serializer>(miles: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_miles(*miles))
}

/// [`miles`] for an optional field.
pub fn optional_miles<S: Serializer>(miles: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match miles {
        Some(m) => s.serialize_some(&round_miles(*m)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Hit {
        #[serde(serialize_with = "miles")]
        deadhead_miles: f64,
        #[serde(serialize_with = "optional_miles")]
        loaded_miles: Option<f64>,
    }

    #[test]
    fn miles_go_out_to_one_decimal() {
        let hit = Hit {
            deadhead_miles: 17.2634917236541,
            loaded_miles: Some(781.04999),
        };
        assert_eq!(
            serde_json::to_string(&hit).unwrap(),
            r#"{"deadhead_miles":17.3,"loaded_miles":781.0}"#
        );
        let none = Hit {
            deadhead_miles: 0.04,
            loaded_miles: None,
        };
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"deadhead_miles":0.0,"loaded_miles":null}"#
        );
    }
}
