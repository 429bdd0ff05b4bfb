//! The agent's reply as TwiML, the XML Twilio's voice webhooks answer with: `<Say>` what
//! the agent says, then `<Gather input="speech dtmf">` to listen (speech recognition and
//! the keypad, posting to the next turn's URL), `<Dial>` to hand the call to a person, or
//! `<Hangup>`.

/// What happens after the agent speaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum Next {
    /// Listen for the caller's answer; `hints` help the speech recognizer.
    Listen {
        hints: String,
    },
    /// Hand the call to this number.
    Transfer {
        to: String,
    },
    HangUp,
}

/// One turn of the agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    pub say: String,
    #[serde(flatten)]
    pub next: Next,
}

/// Text between tags: `&` and `<` (and `>` for symmetry) must be escaped, quotes need not.
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An attribute value in double quotes.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The TwiML for `reply`; `action` is where Twilio posts what it gathered, and what it
/// posts when the caller says nothing (the `<Redirect>` after the `<Gather>`).
pub fn render(reply: &Reply, action: &str) -> String {
    let say = format!("<Say voice=\"Polly.Joanna\">{}</Say>", text(&reply.say));
    let body = match &reply.next {
        Next::Listen { hints } => format!(
            "<Gather input=\"speech dtmf\" action=\"{a}\" method=\"POST\" speechTimeout=\"auto\" timeout=\"6\" finishOnKey=\"#\" language=\"en-US\" hints=\"{h}\">{say}</Gather><Redirect method=\"POST\">{a}</Redirect>",
            a = escape(action),
            h = escape(hints),
        ),
        Next::Transfer { to } => format!("{say}<Dial>{}</Dial>", text(to)),
        Next::HangUp => format!("{say}<Hangup/>"),
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_transfers_and_hangs_up() {
        let r = Reply {
            say: "MC <number> & \"quotes\"".into(),
            next: Next::Listen {
                hints: "MC, reference".into(),
            },
        };
        let xml = render(&r, "https://x.test/v1/voice/twilio/calls/1/turns/2?a=1&b=2");
        assert!(xml.contains("<Gather input=\"speech dtmf\" action=\"https://x.test/v1/voice/twilio/calls/1/turns/2?a=1&amp;b=2\""), "{xml}");
        assert!(xml.contains("MC &lt;number&gt; &amp; \"quotes\""), "{xml}");
        assert!(xml.ends_with("<Redirect method=\"POST\">https://x.test/v1/voice/twilio/calls/1/turns/2?a=1&amp;b=2</Redirect></Response>"));
        let t = Reply {
            say: "One moment.".into(),
            next: Next::Transfer {
                to: "+15005550006".into(),
            },
        };
        assert!(render(&t, "").contains("<Dial>+15005550006</Dial>"));
        let h = Reply {
            say: "Bye.".into(),
            next: Next::HangUp,
        };
        assert!(render(&h, "").contains("<Hangup/>"));
    }
}
