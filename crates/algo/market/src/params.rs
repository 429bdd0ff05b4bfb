//! What a simulation run is asked for.

use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq)]
pub struct SimParams {
    pub seed: u64,
    /// The first simulated day.
    pub start: NaiveDate,
    pub days: u32,
    /// Average booked loads per day (weekdays carry more, weekends less).
    pub loads_per_day: u32,
    pub brokers: u32,
    pub carriers: u32,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            seed: 7,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date"),
            days: 90,
            loads_per_day: 2_000,
            brokers: 60,
            carriers: 2_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("days must be between 1 and 3660, not {0}")]
    Days(u32),
    #[error("loads_per_day must be between 1 and 1000000, not {0}")]
    LoadsPerDay(u32),
    #[error(
        "brokers must be between 3 and 100000 (a lane aggregate needs three companies), not {0}"
    )]
    Brokers(u32),
    #[error("carriers must be between 1 and 1000000, not {0}")]
    Carriers(u32),
}

impl SimParams {
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(1..=3_660).contains(&self.days) {
            return Err(ParamError::Days(self.days));
        }
        if !(1..=1_000_000).contains(&self.loads_per_day) {
            return Err(ParamError::LoadsPerDay(self.loads_per_day));
        }
        if !(3..=100_000).contains(&self.brokers) {
            return Err(ParamError::Brokers(self.brokers));
        }
        if !(1..=1_000_000).contains(&self.carriers) {
            return Err(ParamError::Carriers(self.carriers));
        }
        Ok(())
    }
}
