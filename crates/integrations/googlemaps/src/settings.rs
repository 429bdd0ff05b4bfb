//! What the geocoder needs to know, filled from the platform's `maps.google` section.

use std::fmt;

use crate::DEFAULT_BASE_URL;

#[derive(Clone)]
pub struct GoogleMapsSettings {
    /// The Maps Platform API key (Geocoding and Distance Matrix enabled). A secret: the
    /// `Debug` output masks it.
    pub api_key: String,
    /// `https://maps.googleapis.com`; tests point it at a loopback stand-in.
    pub base_url: String,
    /// Whole-request timeout (connect, send, read the answer).
    pub timeout_ms: u64,
    /// Forward-geocoding answers kept in memory; 0 turns the cache off.
    pub cache_capacity: usize,
    /// How long a cached answer is used.
    pub cache_ttl_secs: u64,
    /// Distance Matrix requests of one batch in flight at once.
    pub max_parallel_requests: usize,
}

impl GoogleMapsSettings {
    /// Production defaults for `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.into(),
            timeout_ms: 5_000,
            cache_capacity: 10_000,
            cache_ttl_secs: 86_400,
            max_parallel_requests: 4,
        }
    }
}

impl fmt::Debug for GoogleMapsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleMapsSettings")
            .field("api_key", &"****")
            .field("base_url", &self.base_url)
            .field("timeout_ms", &self.timeout_ms)
            .field("cache_capacity", &self.cache_capacity)
            .field("cache_ttl_secs", &self.cache_ttl_secs)
            .field("max_parallel_requests", &self.max_parallel_requests)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_api_key() {
        let s = GoogleMapsSettings::new("AIzaSecretKey123");
        let shown = format!("{s:?}");
        assert!(!shown.contains("AIzaSecretKey123"), "{shown}");
        assert!(shown.contains("maps.googleapis.com"), "{shown}");
    }
}
