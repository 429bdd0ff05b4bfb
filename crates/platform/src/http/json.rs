//! JSON body extractors whose every rejection is a problem+json: malformed JSON (400),
//! wrong content type (415), wrong types or unknown fields (422, with serde's message
//! naming the field), bodies over the limit (413) — and card numbers (PCI).
//!
//! LaneRunner never takes a card number (Stripe's components do: SAQ A), but people paste
//! them where they type. So no JSON body reaches a handler with one in it: [`ApiJson`]
//! refuses a body that holds a card number in any string value (`422`, every such field
//! named), before the body is read into its type — every route, including the fields added
//! later, without each service remembering to check. [`MaskedJson`] masks them to their
//! last four digits instead, for what people write to each other (a chat message, a
//! negotiation message), where refusing would lose the rest of the message. Password fields
//! are the one exception: hashed at once, never stored, logged or shown, and a password is
//! the user's to choose.
//!
//! The check costs one pass over the raw body's strings ([`lanerunner_core::pan::contains`]
//! on each); only a body in which that pass finds a card-shaped number (or a `\u` escape,
//! which could spell one) is parsed to find the fields.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use lanerunner_core::pan;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{FieldError, Problem};

/// A JSON body, refused when any of its text holds a card number.
pub struct ApiJson<T>(pub T);

/// A JSON body with every card number in its text masked to its last four digits.
pub struct MaskedJson<T>(pub T);

/// Keys whose values are secrets hashed on arrival and never kept: not checked.
const SECRET_KEYS: &[&str] = &["password", "current_password", "new_password"];

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read(req, state, Cards::Refuse).await.map(ApiJson)
    }
}

impl<S, T> FromRequest<S> for MaskedJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read(req, state, Cards::Mask).await.map(MaskedJson)
    }
}

/// What reading a body does with the card numbers in its text.
enum Cards {
    Refuse,
    Mask,
}

async fn read<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    cards: Cards,
) -> Result<T, Problem> {
    let body = json_body(req, state).await?;
    if may_hold_card(&body) {
        // Malformed JSON is left for the reading below to report.
        if let Ok(mut value) = serde_json::from_slice::<Value>(&body) {
            match cards {
                Cards::Refuse => {
                    let mut fields = Vec::new();
                    card_fields(&value, &mut String::new(), &mut fields);
                    if !fields.is_empty() {
                        return Err(Problem::validation(
                            fields
                                .into_iter()
                                .map(|field| FieldError {
                                    field,
                                    message: pan::REFUSED.into(),
                                })
                                .collect(),
                        ));
                    }
                }
                Cards::Mask => {
                    mask_cards(&mut value);
                    return serde_json::from_value(value).map_err(|e| invalid_body(e.to_string()));
                }
            }
        }
    }
    axum::Json::<T>::from_bytes(&body)
        .map(|axum::Json(v)| v)
        .map_err(problem_for)
}

/// The body of a request that says it is JSON (as `axum::Json` reads it: within the body
/// limit, `application/json` or `application/*+json`).
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    if !json_content_type(req.headers()) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Expected Content-Type: application/json",
        ));
    }
    Bytes::from_request(req, state)
        .await
        .map_err(|e| problem_for(JsonRejection::BytesRejection(e)))
}

fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether the raw body could hold a card number in a string: one pass over it, no parsing,
/// looking only inside its strings (the digits of a JSON number — a float's long fraction
/// — are not typed text). A `\u` escape could spell a digit: such a body is parsed.
fn may_hold_card(body: &[u8]) -> bool {
    let mut i = 0;
    while let Some(open) = body[i..].iter().position(|&b| b == b'"') {
        let start = i + open + 1;
        let mut j = start;
        while j < body.len() {
            match body[j] {
                b'\\' if body.get(j + 1) == Some(&b'u') => return true,
                b'\\' => j += 2,
                b'"' => break,
                _ => j += 1,
            }
        }
        let text = &body[start..j.min(body.len())];
        if pan::contains(&String::from_utf8_lossy(text)) {
            return true;
        }
        i = j + 1;
        if i >= body.len() {
            break;
        }
    }
    false
}

/// The paths (`stops[0].notes`) of the string values under `value` that hold a card number.
fn card_fields(value: &Value, path: &mut String, out: &mut Vec<String>) {
    match value {
        Value::String(s) if pan::contains(s) => out.push(path.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                card_fields(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if SECRET_KEYS.contains(&key.as_str()) {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                card_fields(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn mask_cards(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(masked) = pan::mask(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_cards),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if !SECRET_KEYS.contains(&key.as_str()) {
                    mask_cards(item);
                }
            }
        }
        _ => {}
    }
}

fn invalid_body(detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-body",
        "The body does not match the expected shape",
    )
    .detail(detail)
}

fn problem_for(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(e) => invalid_body(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The body is not valid JSON",
        )
        .detail(e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The body is too large",
            )
            .detail(e.body_text())
            .close_connection()
        }
        other => Problem::new(other.status(), "bad-request", "The body could not be read")
            .detail(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Vec<String> {
        let body = serde_json::to_vec(&v).unwrap();
        let mut out = Vec::new();
        if may_hold_card(&body) {
            card_fields(&v, &mut String::new(), &mut out);
        }
        out
    }

    #[test]
    fn card_numbers_in_any_text_are_found_by_their_path() {
        assert_eq!(
            fields(json!({
                "notes": "card 4111 1111 1111 1111 for the lumper",
                "stops": [{"notes": "ok"}, {"contact": {"name": "5555-5555-5555-4444"}}],
                "tags": ["a", "4012888888881881"],
            })),
            ["notes", "stops[1].contact.name", "tags[1]"]
        );
    }

    #[test]
    fn what_only_looks_like_one_is_not() {
        assert!(fields(json!({
            // A card-length number that is a JSON number, not typed text.
            "amount": 4111111111111111_u64,
            // Fails the Luhn check.
            "reference": "4111 1111 1111 1112",
            "id": "78198485-2950-4852-afc0-000000000000",
            "phone": "+1 415-555-0100",
            "at": "2026-12-01T12:00:00Z",
            // A password is the user's own, hashed at once.
            "password": "4111111111111111",
        }))
        .is_empty());
    }

    #[test]
    fn only_text_is_looked_at() {
        // A float whose fraction is a Luhn-valid, brand-shaped run of digits.
        assert!(lanerunner_core::pan::contains("-96.8100000000000002"));
        assert!(!may_hold_card(
            br#"{"lon": -96.8100000000000002, "note": "say \"hi\""}"#
        ));
        // Past an escaped quote the string goes on.
        assert!(may_hold_card(br#"{"note": "say \" 8100000000000002"}"#));
        assert!(may_hold_card(
            br#"{"a": "x", "b": "card 4111 1111 1111 1111"}"#
        ));
        // An unterminated string is still looked at (the reading reports it malformed).
        assert!(may_hold_card(br#"{"a": "4111111111111111"#));
    }

    #[test]
    fn an_escaped_card_number_is_found_too() {
        // "4111111111111111" with its first digit written as an escape.
        let body = br#"{"notes": "\u0034111111111111111"}"#;
        assert!(may_hold_card(body));
        let v: Value = serde_json::from_slice(body).unwrap();
        let mut out = Vec::new();
        card_fields(&v, &mut String::new(), &mut out);
        assert_eq!(out, ["notes"]);
    }

    #[test]
    fn masking_keeps_the_rest_of_the_text() {
        let mut v = json!({"text": "can do 2400, card 4111 1111 1111 1111", "password": "4111111111111111"});
        mask_cards(&mut v);
        assert_eq!(
            v,
            json!({"text": "can do 2400, card [card ••••1111]", "password": "4111111111111111"})
        );
    }
}
