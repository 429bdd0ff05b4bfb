//! The look-back windows a rate is reported over, as DAT's RateView offers them.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Window {
    Days7,
    Days15,
    Days30,
    Days60,
    Days90,
    Days365,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown window {0:?}: use one of 7d, 15d, 30d, 60d, 90d, 365d")]
pub struct WindowError(pub String);

impl Window {
    pub const ALL: [Window; 6] = [
        Window::Days7,
        Window::Days15,
        Window::Days30,
        Window::Days60,
        Window::Days90,
        Window::Days365,
    ];

    pub fn days(self) -> i32 {
        match self {
            Window::Days7 => 7,
            Window::Days15 => 15,
            Window::Days30 => 30,
            Window::Days60 => 60,
            Window::Days90 => 90,
            Window::Days365 => 365,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Days7 => "7d",
            Window::Days15 => "15d",
            Window::Days30 => "30d",
            Window::Days60 => "60d",
            Window::Days90 => "90d",
            Window::Days365 => "365d",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Window {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Window::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| WindowError(s.to_owned()))
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        w.as_str().to_owned()
    }
}

impl TryFrom<String> for Window {
    type Error = WindowError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_from_their_names_and_nothing_else() {
        for w in Window::ALL {
            assert_eq!(w.as_str().parse::<Window>(), Ok(w));
        }
        assert_eq!("14d".parse::<Window>(), Err(WindowError("14d".into())));
    }
}
