//! Text messages: the provider seam (Twilio in the binary, a spool embedded) and what an
//! inbound message asks for, read the way carriers write them.

use async_trait::async_trait;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The recipient replied STOP to our number: the provider refuses until they reply
    /// START.
    #[error("the recipient opted out of texts")]
    OptedOut,
    /// Sending it again cannot help (an invalid number, a body too long).
    #[error("refused for good: {0}")]
    Permanent(String),
    /// Try later (the provider was unreachable, or busy).
    #[error("not sent: {0}")]
    Transient(String),
}

/// A provider that sends texts and verifies phone numbers, and whose inbound requests are
/// signed.
#[async_trait]
pub trait SmsGateway: Send + Sync + 'static {
    /// Sends `body` to `to` (E.164); the provider's id for the message. Its status changes
    /// are posted to `status_callback`.
    async fn send(
        &self,
        to: &str,
        body: &str,
        status_callback: Option<&str>,
    ) -> Result<String, SmsError>;

    /// The provider's id of a message with exactly `body` that it took for `to` at or after
    /// `since`, if there is one. Asked before a text is sent again after an attempt whose
    /// outcome was never recorded (the answer was lost, or recording it failed): the
    /// provider takes no idempotency key, so this is how a text goes once.
    async fn sent_since(
        &self,
        to: &str,
        body: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SmsError>;

    /// Sends a verification code to `to` (Twilio Verify).
    async fn start_verification(&self, to: &str) -> Result<(), SmsError>;

    /// Whether `code` is the one sent to `to`.
    async fn check_verification(&self, to: &str, code: &str) -> Result<bool, SmsError>;

    /// Whether an inbound request was signed by the provider: `url` as it was posted to,
    /// its form parameters, and the signature header (`X-Twilio-Signature`).
    fn signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool;

    /// For logs and metrics.
    fn backend(&self) -> &'static str;
}

/// What an inbound text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE: no more texts.
    Stop,
    /// START, UNSTOP, or a bare YES: texts again.
    Start,
    /// HELP or INFO.
    Help,
    /// `YES 4821`: take the offer texted with that code.
    Accept(String),
    /// Anything else.
    Other,
}

/// Twilio's default opt-out and opt-in keywords, matched on the whole message as Twilio
/// matches them (case and surrounding space ignored).
const STOP_WORDS: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
const START_WORDS: [&str; 3] = ["START", "UNSTOP", "YES"];
const HELP_WORDS: [&str; 2] = ["HELP", "INFO"];

/// The length of the code that takes an offer by text.
pub const CODE_DIGITS: usize = 4;

pub fn read_inbound(body: &str) -> Inbound {
    let words: Vec<String> = body
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | ':' | '#'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect();
    match words.as_slice() {
        [w] if STOP_WORDS.contains(&w.as_str()) => Inbound::Stop,
        [w] if START_WORDS.contains(&w.as_str()) => Inbound::Start,
        [w] if HELP_WORDS.contains(&w.as_str()) => Inbound::Help,
        [yes, code]
            if matches!(yes.as_str(), "YES" | "Y" | "ACCEPT")
                && code.len() == CODE_DIGITS
                && code.chars().all(|c| c.is_ascii_digit()) =>
        {
            Inbound::Accept(code.clone())
        }
        _ => Inbound::Other,
    }
}

pub const HELP_TEXT: &str = "LaneRunner freight alerts: offers, bookings and late-truck warnings for your account. Reply YES and the code in an offer to accept it. Reply STOP to stop texts, START to resume. Msg&data rates may apply.";
pub const STOPPED_TEXT: &str =
    "You will get no more texts from LaneRunner. Reply START to receive them again.";
pub const STARTED_TEXT: &str =
    "LaneRunner texts are on again for this number. Reply STOP to stop, HELP for help.";
pub const UNKNOWN_TEXT: &str =
    "LaneRunner: reply YES and the 4-digit code in an offer to accept it, HELP for help, STOP to stop texts.";

/// TwiML that answers an inbound message with `text` (or with nothing).
pub fn twiml_reply(text: Option<&str>) -> String {
    match text {
        Some(t) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(t)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>".to_owned(),
    }
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_replies_are_read_as_twilio_reads_keywords_and_codes_as_we_send_them() {
        assert_eq!(read_inbound(" stop "), Inbound::Stop);
        assert_eq!(read_inbound("Unsubscribe"), Inbound::Stop);
        assert_eq!(read_inbound("START"), Inbound::Start);
        assert_eq!(read_inbound("yes"), Inbound::Start);
        assert_eq!(read_inbound("help"), Inbound::Help);
        assert_eq!(read_inbound("YES 4821"), Inbound::Accept("4821".into()));
        assert_eq!(read_inbound("yes, 4821!"), Inbound::Accept("4821".into()));
        assert_eq!(read_inbound("Y #4821"), Inbound::Accept("4821".into()));
        // Not a code, or more than a reply: not an acceptance.
        assert_eq!(read_inbound("YES 48210"), Inbound::Other);
        assert_eq!(read_inbound("YES 48a1"), Inbound::Other);
        assert_eq!(read_inbound("please stop texting me"), Inbound::Other);
        assert_eq!(read_inbound(""), Inbound::Other);
    }

    #[test]
    fn replies_are_escaped_twiml() {
        assert_eq!(
            twiml_reply(Some("a < b & \"c\"")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>a &lt; b &amp; &quot;c&quot;</Message></Response>"
        );
        assert!(twiml_reply(None).ends_with("<Response></Response>"));
    }
}
