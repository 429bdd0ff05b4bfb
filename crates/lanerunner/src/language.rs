//! The language-model backend of the negotiation service's second reader: any server that
//! speaks OpenAI's chat-completions API (`POST {base_url}/chat/completions`), asked for a
//! JSON object with temperature 0. Built only when `negotiation.language_model.base_url`
//! is set.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_negotiation::parse::{Amount, Intent};
use lanerunner_negotiation_service::language::LanguageModel;
use lanerunner_platform::config::LanguageModelConfig;
use serde::Deserialize;
use serde_json::json;

const INSTRUCTIONS: &str = "You read one message from a freight rate negotiation between a broker and a \
carrier. Answer with a JSON object only: {\"intent\": \"offer\" | \"accept\" | \"reject\" | \"unclear\", \
\"amount_cents\": integer or null, \"unit\": \"total\" | \"per_mile\" or null, \"fuel_cents\": integer or null}. \
\"offer\" is a rate the writer proposes, in US cents, all in (\"total\") or per loaded mile (\"per_mile\"). \
Never invent a number that the message does not state; if you are unsure, answer \"unclear\".";

pub struct OpenAiCompatible {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
}

impl OpenAiCompatible {
    /// The configured model, or `None` when none is configured.
    pub fn from_config(c: &LanguageModelConfig) -> anyhow::Result<Option<Arc<dyn LanguageModel>>> {
        let Some(base) = &c.base_url else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(c.timeout_ms))
            .build()?;
        Ok(Some(Arc::new(OpenAiCompatible {
            http,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: c.model.clone(),
            api_key: c.api_key.clone(),
        })))
    }
}

#[derive(Deserialize)]
struct Reading {
    intent: String,
    amount_cents: Option<i64>,
    unit: Option<String>,
    fuel_cents: Option<i64>,
}

/// The model's JSON answer as an intent; anything malformed is an error (asked back).
fn intent_of(content: &str) -> Result<Intent, String> {
    let r: Reading =
        serde_json::from_str(content.trim()).map_err(|e| format!("not the JSON asked for: {e}"))?;
    Ok(match r.intent.as_str() {
        "accept" => Intent::Accept,
        "reject" => Intent::Reject,
        "unclear" => Intent::Unclear {
            question: "Could you say that as a rate, a yes or a no?".into(),
        },
        "offer" => {
            let cents = r.amount_cents.ok_or("an offer without an amount")?;
            Intent::Offer {
                amount: match r.unit.as_deref() {
                    Some("per_mile") => Amount::PerMile(cents),
                    Some("total") | None => Amount::Total(cents),
                    Some(other) => return Err(format!("unknown unit {other:?}")),
                },
                plus_fuel: r.fuel_cents.is_some(),
                fuel_cents: r.fuel_cents,
            }
        }
        other => return Err(format!("unknown intent {other:?}")),
    })
}

#[async_trait]
impl LanguageModel for OpenAiCompatible {
    async fn read(&self, text: &str) -> Result<Intent, String> {
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": text},
            ],
        });
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("the model answered {}", res.status()));
        }
        let answer: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or("no message in the answer")?;
        intent_of(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_into_intents_and_malformed_ones_are_errors() {
        assert_eq!(
            intent_of(
                r#"{"intent":"offer","amount_cents":230000,"unit":"total","fuel_cents":null}"#
            ),
            Ok(Intent::Offer {
                amount: Amount::Total(230_000),
                plus_fuel: false,
                fuel_cents: None
            })
        );
        assert_eq!(intent_of(r#"{"intent":"accept"}"#), Ok(Intent::Accept));
        assert!(intent_of(r#"{"intent":"offer"}"#).is_err());
        assert!(intent_of("sure thing!").is_err());
        assert!(intent_of(r#"{"intent":"offer","amount_cents":1,"unit":"furlongs"}"#).is_err());
    }
}
