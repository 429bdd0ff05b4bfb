//! The geocoder `maps.provider` names, built here, by the binary, and handed to the loads
//! service through the `Geocoder` seam: no service crate names a geocoding backend.

use std::sync::Arc;

use lanerunner_geo::{Gazetteer, Geocoder};
use lanerunner_googlemaps::{GoogleMapsGeocoder, GoogleMapsSettings};
use lanerunner_platform::config::{MapsConfig, MapsProvider};

/// `None` for the offline gazetteer (the default), or Google Maps. Google's geocoder is
/// remote and synchronous: every call blocks for up to `maps.google.timeout_ms` (it moves
/// its waits off the async workers itself).
pub async fn geocoder(maps: &MapsConfig) -> anyhow::Result<Option<Arc<dyn Geocoder>>> {
    match maps.provider {
        MapsProvider::Offline => Ok(None),
        MapsProvider::Google => {
            let google = &maps.google;
            let api_key = google
                .api_key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "maps.google.api_key is required for maps.provider = \"google\""
                    )
                })?;
            let settings = GoogleMapsSettings {
                base_url: google.base_url.clone(),
                timeout_ms: google.timeout_ms,
                cache_capacity: google.cache_capacity,
                cache_ttl_secs: google.cache_ttl_secs,
                ..GoogleMapsSettings::new(api_key)
            };
            // Parsing the gazetteer (time zones, suggestions) is CPU work for a moment.
            let geocoder = tokio::task::spawn_blocking(move || {
                GoogleMapsGeocoder::new(settings, Arc::new(Gazetteer::embedded()))
            })
            .await??;
            tracing::info!(base_url = %google.base_url, "geocoding with Google Maps");
            Ok(Some(Arc::new(geocoder)))
        }
    }
}
