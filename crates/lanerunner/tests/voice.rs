//! The AI voice agent over real HTTP, driven by whole calls as Twilio would make them
//! (signed TwiML webhooks, `<Gather>` speech and keypad results, the status callback), on
//! SQLite and on PostgreSQL: a carrier calls a broker's line, gives its MC number, asks for
//! a load by reference, counters, and books it inside the broker's agent policy; the call
//! keeps its transcript, outcome, sentiment and summary. Unknown MC numbers, speech that
//! cannot be understood, a request for a person, forged, unsigned and replayed requests,
//! and a caller who hangs up all end clearly, with nothing booked that should not be.

use std::sync::Arc;
use std::time::Duration;

use lanerunner::testing::{
    dallas_atlanta_load, expect_problem, json_of, Account, Backend, TestApp,
};
use lanerunner_twilio::testing::TwilioStandIn;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";
const LINE: &str = "+15005550100";
const DESK: &str = "+15005550199";
const CALLER: &str = "+14155550123";

async fn spawn(backend: Backend) -> (TestApp, TwilioStandIn) {
    let twilio = TwilioStandIn::start(ACCOUNT, TOKEN).await.unwrap();
    let app = TestApp::spawn_with_twilio(backend, &twilio.base_url, ACCOUNT, TOKEN, |_| {}).await;
    (app, twilio)
}

macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(lanerunner::testing::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if lanerunner::testing::skip_engine_test("PostgreSQL") {
                    return;
                }
                super::$body(lanerunner::testing::Backend::Postgres).await
            }
        }
    };
}

/// A broker with a line, an agent on a posted Dallas–Atlanta load (reference LR-1002,
/// posted at $2,100, the agent's limit $2,300), and a carrier with MC 123456: the load's
/// id, once the voice service knows the load and the carrier.
async fn desk(app: &TestApp) -> (Account, Account, String) {
    let broker = app.signup("broker@example.com", "broker").await;
    let carrier = app.signup("dispatch@carrier.example", "carrier").await;
    let res = app
        .put_json(
            "/v1/carriers/authority",
            &json!({"usdot_number": 2_345_678, "mc_number": 123_456, "insurance_expires_on": "2099-06-30"}),
            Some(&carrier.access),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    json_of(
        app.put_json(
            &format!("/v1/voice/lines/{LINE}"),
            &json!({"company_name": "Acme Logistics", "transfer_number": DESK}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let load =
        lanerunner::testing::posted(app, &broker, &dallas_atlanta_load("LR-1002", 210_000)).await;
    let policy = json!({"start_cents": 200_000, "target_cents": 215_000, "max_cents": 230_000});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = app
            .put_json(
                &format!("/v1/negotiations/policies/{load}"),
                &policy,
                Some(&broker.access),
            )
            .await;
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load never reached negotiation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The voice service learns loads and standings from events: a simulated call finds
    // both once they have arrived.
    loop {
        let call = simulated_call(&app, &broker).await;
        let id = call["call_id"].as_str().unwrap().to_owned();
        let said = say(app, &broker, &id, json!({"digits": "123456"})).await;
        if said["then"] == "listen" {
            let pitched = say(
                app,
                &broker,
                &id,
                json!({"text": "reference L R one zero zero two"}),
            )
            .await;
            if pitched["say"]
                .as_str()
                .unwrap()
                .contains("Dallas, TX to Atlanta, GA")
            {
                let declined = say(app, &broker, &id, json!({"text": "no thanks"})).await;
                assert_eq!(declined["then"], "hang_up", "{declined}");
                let view = json_of(
                    app.get(&format!("/v1/voice/calls/{id}"), Some(&broker.access))
                        .await,
                    StatusCode::OK,
                )
                .await;
                assert_eq!(view["outcome"], "declined");
                assert!(view["negotiation_id"].is_null(), "nothing opened: {view}");
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the voice service never learned the load: {said}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (broker, carrier, load)
}

/// A simulated call on `who`'s line, as it starts: the agent's greeting and the call's id.
async fn simulated_call(app: &TestApp, who: &Account) -> Value {
    json_of(
        app.post_json("/v1/voice/calls/simulated", &json!({}), Some(&who.access))
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn say(app: &TestApp, who: &Account, call: &str, body: Value) -> Value {
    json_of(
        app.post_json(
            &format!("/v1/voice/calls/{call}/say"),
            &body,
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

/// A call as Twilio drives it: the first webhook, then each `<Gather>` result posted to
/// the action URL the last TwiML gave.
struct Call<'a> {
    twilio: &'a TwilioStandIn,
    sid: String,
    action: Option<String>,
    last: String,
}

fn action_of(twiml: &str) -> Option<String> {
    let start = twiml.find("action=\"")? + "action=\"".len();
    let end = start + twiml[start..].find('"')?;
    Some(twiml[start..end].replace("&amp;", "&"))
}

impl<'a> Call<'a> {
    async fn dial(twilio: &'a TwilioStandIn, app: &TestApp, sid: &str, to: &str) -> Call<'a> {
        let (status, body) = twilio
            .post_signed(
                &app.url("/v1/voice/twilio/inbound"),
                &[
                    ("CallSid", sid),
                    ("AccountSid", ACCOUNT),
                    ("From", CALLER),
                    ("To", to),
                    ("CallStatus", "ringing"),
                    ("Direction", "inbound"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        Call {
            twilio,
            sid: sid.into(),
            action: action_of(&body),
            last: body,
        }
    }

    /// The caller says `speech` (or keys `digits`); the agent's TwiML.
    async fn turn(&mut self, speech: Option<&str>, digits: Option<&str>) -> String {
        let action = self.action.clone().expect("the agent is listening");
        let mut params = vec![
            ("CallSid", self.sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("CallStatus", "in-progress"),
        ];
        if let Some(s) = speech {
            params.push(("SpeechResult", s));
            params.push(("Confidence", "0.91"));
        }
        if let Some(d) = digits {
            params.push(("Digits", d));
        }
        let (status, body) = self.twilio.post_signed(&action, &params).await.unwrap();
        assert_eq!(status, 200, "{body}");
        self.action = action_of(&body);
        self.last = body.clone();
        body
    }
}

/// The newest Twilio call of `who`'s organization, with its transcript.
async fn call_view(app: &TestApp, who: &Account) -> Value {
    let list = json_of(
        app.get("/v1/voice/calls?limit=50", Some(&who.access)).await,
        StatusCode::OK,
    )
    .await;
    let calls = list["items"].as_array().unwrap();
    let first = calls
        .iter()
        .find(|c| c["channel"] == "twilio")
        .expect("a Twilio call");
    json_of(
        app.get(
            &format!("/v1/voice/calls/{}", first["id"].as_str().unwrap()),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn a_carrier_calls_counters_and_books_a_load(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, carrier, load) = desk(&app).await;
    let mut call = Call::dial(&twilio, &app, "CA0001", LINE).await;
    assert!(
        call.last.contains("Thanks for calling Acme Logistics"),
        "{}",
        call.last
    );
    assert!(
        call.last.contains("recorded and transcribed"),
        "the recording notice: {}",
        call.last
    );
    assert!(
        call.last.contains("<Gather input=\"speech dtmf\""),
        "{}",
        call.last
    );

    let asked = call
        .turn(Some("yeah it's M C one two three four five six"), None)
        .await;
    assert!(
        asked.contains("Which load are you calling about"),
        "{asked}"
    );
    let pitched = call
        .turn(Some("reference L R one zero zero two"), None)
        .await;
    assert!(
        pitched.contains("Dallas, TX to Atlanta, GA, dry van, 40,000 pounds"),
        "{pitched}"
    );
    assert!(pitched.contains("paying $2,100 all in"), "{pitched}");

    // A retried webhook (Twilio did not hear our answer) gets the same answer, and the
    // call does not move on twice.
    let action_before = call.action.clone();
    let countered = call
        .turn(Some("I'd need twenty four hundred all in"), None)
        .await;
    assert!(
        countered.contains("I can do $"),
        "the agent counters: {countered}"
    );
    let (status, again) = twilio
        .post_signed(
            &action_of(&pitched).unwrap(),
            &[
                ("CallSid", "CA0001"),
                ("AccountSid", ACCOUNT),
                ("CallStatus", "in-progress"),
                ("SpeechResult", "I'd need twenty four hundred all in"),
                ("Confidence", "0.91"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((status, again.as_str()), (200, countered.as_str()));
    assert_ne!(call.action, action_before);

    let booked = call.turn(Some("sounds good, book it"), None).await;
    assert!(booked.contains("you're booked on load LR-1002"), "{booked}");
    assert!(booked.contains("<Hangup/>"), "{booked}");

    let view = call_view(&app, &broker).await;
    assert_eq!(view["outcome"], "booked", "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["mc_number"], 123_456);
    assert_eq!(view["carrier_org_id"], carrier.org_id.as_str());
    assert_eq!(view["load_id"], load.as_str());
    let agreed = view["agreed_cents"].as_i64().unwrap();
    assert!(
        (200_000..=230_000).contains(&agreed),
        "inside the policy: {agreed}"
    );
    assert_eq!(view["sentiment"], "positive", "{view}");
    let summary = view["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("MC 123456 called about load LR-1002. Asked $2,400."),
        "{summary}"
    );
    assert!(summary.contains("Booked at $"), "{summary}");
    let transcript = view["transcript"].as_array().unwrap();
    assert_eq!(
        transcript.len(),
        5,
        "greeting and four turns: {transcript:?}"
    );
    assert_eq!(
        transcript[3]["heard"],
        "I'd need twenty four hundred all in"
    );

    // The agreement went through the negotiation service and booked the load.
    let negotiation = view["negotiation_id"].as_str().unwrap();
    let n = json_of(
        app.get(
            &format!("/v1/negotiations/{negotiation}"),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(n["status"], "agreed");
    assert_eq!(n["agreed_cents"], agreed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let l = json_of(
            app.get(&format!("/v1/loads/{load}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        if l["status"] == "covered" || l["status"] == "booked" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load was never covered: {}",
            l["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The call is filed under the load and the carrier.
    for q in [
        format!("load_id={load}"),
        format!("carrier_org_id={}", carrier.org_id),
    ] {
        let list = json_of(
            app.get(&format!("/v1/voice/calls?{q}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["outcome"] == "booked"),
            "{q}"
        );
    }
    // Another organization sees none of it.
    let other = app.signup("other@broker.example", "broker").await;
    expect_problem(
        app.get(
            &format!("/v1/voice/calls/{}", view["id"].as_str().unwrap()),
            Some(&other.access),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let list = json_of(
        app.get("/v1/voice/calls", Some(&other.access)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}
on_both!(booking_by_phone, a_carrier_calls_counters_and_books_a_load);

/// PCI: a card number a caller says or keys in (a form body, which the gateway's check of
/// JSON bodies does not see) is kept in the transcript as its last four digits only.
async fn a_card_number_said_or_keyed_in_keeps_only_its_last_four(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, _carrier, _load) = desk(&app).await;
    let mut call = Call::dial(&twilio, &app, "CA0009", LINE).await;
    let again = call
        .turn(
            Some("my card is 4111 1111 1111 1111"),
            Some("5555555555554444"),
        )
        .await;
    assert!(again.contains("<Gather"), "the agent asks again: {again}");
    let view = call_view(&app, &broker).await;
    let heard = view["transcript"][1]["heard"].as_str().unwrap();
    assert_eq!(
        heard, "my card is [card ••••1111] [keyed [card ••••4444]]",
        "{view}"
    );
    for digits in [
        "4111111111111111",
        "4111 1111 1111 1111",
        "5555555555554444",
    ] {
        assert!(!view.to_string().contains(digits), "{view}");
    }
}
on_both!(
    card_numbers_on_calls,
    a_card_number_said_or_keyed_in_keeps_only_its_last_four
);

async fn callers_the_agent_cannot_serve_end_clearly(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, _carrier, _load) = desk(&app).await;

    // An MC number nobody holds: not eligible, the call ends, nothing negotiated.
    let mut call = Call::dial(&twilio, &app, "CA0101", LINE).await;
    let out = call.turn(None, Some("7654321")).await;
    assert!(out.contains("can't find MC 7654321"), "{out}");
    assert!(out.contains("<Hangup/>"));

    // Speech that cannot be read, twice: asked again once, then a person.
    let mut call = Call::dial(&twilio, &app, "CA0102", LINE).await;
    let again = call.turn(Some("uh what"), None).await;
    assert!(again.contains("didn't catch that"), "{again}");
    let out = call.turn(Some("the blue one"), None).await;
    assert!(out.contains(&format!("<Dial>{DESK}</Dial>")), "{out}");

    // Silence (the Gather timed out and Twilio followed the Redirect) counts as a miss.
    let mut call = Call::dial(&twilio, &app, "CA0103", LINE).await;
    call.turn(None, Some("123456")).await;
    call.turn(Some("load number one zero zero two"), None).await;
    let out = call.turn(None, None).await;
    assert!(out.contains("Are you still there"), "{out}");
    // Asking for a person goes straight to one.
    let out = call.turn(Some("can I talk to a real person"), None).await;
    assert!(out.contains(&format!("<Dial>{DESK}</Dial>")), "{out}");

    // A load nobody posted, twice: the call ends with no load.
    let mut call = Call::dial(&twilio, &app, "CA0104", LINE).await;
    call.turn(Some("MC 123456"), None).await;
    let again = call.turn(Some("reference nine nine nine nine"), None).await;
    assert!(
        again.contains("I don't have an open load matching that"),
        "{again}"
    );
    let out = call.turn(Some("Boise to Fargo"), None).await;
    assert!(out.contains("<Hangup/>"), "{out}");

    // A caller who hangs up mid-call: the status callback closes it.
    let mut call = Call::dial(&twilio, &app, "CA0105", LINE).await;
    call.turn(Some("M C 123456"), None).await;
    let (status, _) = twilio
        .post_signed(
            &app.url("/v1/voice/twilio/status"),
            &[
                ("CallSid", "CA0105"),
                ("AccountSid", ACCOUNT),
                ("CallStatus", "completed"),
                ("CallDuration", "31"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(status, 204);

    let list = json_of(
        app.get("/v1/voice/calls?limit=100", Some(&broker.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let outcome = |sid_index: usize| {
        let twilio_calls: Vec<&Value> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["channel"] == "twilio")
            .collect();
        // Newest first: CA0105 is index 0.
        twilio_calls[twilio_calls.len() - sid_index]["outcome"].clone()
    };
    assert_eq!(outcome(1), "not_eligible");
    assert_eq!(outcome(2), "transferred");
    assert_eq!(outcome(3), "transferred");
    assert_eq!(outcome(4), "no_load");
    assert_eq!(outcome(5), "abandoned");
    // No negotiation was opened by any of these calls.
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "twilio")
        .all(|c| c["negotiation_id"].is_null()));

    // A number that is nobody's line: the caller is told, and nothing is recorded.
    let call = Call::dial(&twilio, &app, "CA0106", "+15005550111").await;
    assert!(call.last.contains("not taking calls"), "{}", call.last);
}
on_both!(
    callers_who_cannot_be_served,
    callers_the_agent_cannot_serve_end_clearly
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_misdirected_webhooks_are_refused() {
    let (app, twilio) = spawn(Backend::Sqlite).await;
    let (broker, _carrier, _load) = desk(&app).await;
    let client = reqwest::Client::new();
    let form = [("CallSid", "CA0201"), ("From", CALLER), ("To", LINE)];
    // Unsigned.
    let res = client
        .post(app.url("/v1/voice/twilio/inbound"))
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "webhook-rejected").await;
    // Signed with another account's token.
    let signature = lanerunner_twilio::expected_signature(
        "not-our-token",
        &app.url("/v1/voice/twilio/inbound"),
        &form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    );
    let res = client
        .post(app.url("/v1/voice/twilio/inbound"))
        .header("X-Twilio-Signature", signature)
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "webhook-rejected").await;
    // Signed, but a parameter changed after signing.
    let params: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature =
        lanerunner_twilio::expected_signature(TOKEN, &app.url("/v1/voice/twilio/inbound"), &params);
    let res = client
        .post(app.url("/v1/voice/twilio/inbound"))
        .header("X-Twilio-Signature", signature)
        .form(&[
            ("CallSid", "CA0201"),
            ("From", CALLER),
            ("To", "+15005550111"),
        ])
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "webhook-rejected").await;
    let list = json_of(
        app.get("/v1/voice/calls", Some(&broker.access)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["channel"] != "twilio"),
        "nothing recorded"
    );

    // A signed turn for a call id that is not this CallSid's.
    let mut call = Call::dial(&twilio, &app, "CA0202", LINE).await;
    let action = call.action.clone().unwrap();
    let (status, body) = twilio
        .post_signed(
            &action,
            &[("CallSid", "CA9999"), ("SpeechResult", "MC 123456")],
        )
        .await
        .unwrap();
    assert_eq!(status, 404, "{body}");
    // A turn ahead of the call: refused, the call is where it was.
    let ahead = action.replace("/turns/1", "/turns/5");
    let (status, body) = twilio
        .post_signed(
            &ahead,
            &[("CallSid", "CA0202"), ("SpeechResult", "MC 123456")],
        )
        .await
        .unwrap();
    assert_eq!(status, 409, "{body}");
    let next = call.turn(Some("MC 123456"), None).await;
    assert!(next.contains("Which load"), "{next}");
    // A missing CallSid.
    let (status, body) = twilio
        .post_signed(
            &app.url("/v1/voice/twilio/inbound"),
            &[("From", CALLER), ("To", LINE)],
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_turn_released_together_is_answered_once() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    let (app, twilio) = spawn(Backend::Postgres).await;
    let (broker, _carrier, _load) = desk(&app).await;
    let mut call = Call::dial(&twilio, &app, "CA0301", LINE).await;
    call.turn(Some("MC 123456"), None).await;
    call.turn(Some("reference LR 1002"), None).await;
    let action = call.action.clone().unwrap();
    let twilio = Arc::new(twilio);
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (twilio, barrier, action) = (twilio.clone(), barrier.clone(), action.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            twilio
                .post_signed(
                    &action,
                    &[("CallSid", "CA0301"), ("SpeechResult", "can you do 2350")],
                )
                .await
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer, repeated: {answers:?}"
    );
    assert_eq!(answers[0].0, 200);
    let view = call_view(&app, &broker).await;
    let n = json_of(
        app.get(
            &format!(
                "/v1/negotiations/{}",
                view["negotiation_id"].as_str().unwrap()
            ),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let carrier_offers = n["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["side"] == "carrier" && m["event"]["event"] == "offered")
        .count();
    assert_eq!(carrier_offers, 1, "the offer was made once: {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_the_brokers_own_and_checked() {
    let (app, _twilio) = spawn(Backend::Sqlite).await;
    let broker = app.signup("broker@example.com", "broker").await;
    let other = app.signup("other@example.com", "broker").await;
    let carrier = app.signup("dispatch@carrier.example", "carrier").await;
    let path = format!("/v1/voice/lines/{LINE}");
    expect_problem(
        app.put_json(
            "/v1/voice/lines/5550100",
            &json!({"company_name": "Acme"}),
            Some(&broker.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.put_json(&path, &json!({"company_name": " "}), Some(&broker.access))
            .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.put_json(
            &path,
            &json!({"company_name": "Acme", "transfer_number": LINE}),
            Some(&broker.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.put_json(
            &path,
            &json!({"company_name": "Acme"}),
            Some(&carrier.access),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // A simulated call needs a line.
    expect_problem(
        app.post_json(
            "/v1/voice/calls/simulated",
            &json!({}),
            Some(&broker.access),
        )
        .await,
        409,
        "no-line",
    )
    .await;
    let line = json_of(
        app.put_json(
            &path,
            &json!({"company_name": "Acme", "recording_notice": false}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(line["recording_notice"], false);
    // Another organization cannot take or remove the number.
    expect_problem(
        app.put_json(
            &path,
            &json!({"company_name": "Other"}),
            Some(&other.access),
        )
        .await,
        409,
        "line-taken",
    )
    .await;
    expect_problem(
        app.delete(&path, Some(&other.access)).await,
        404,
        "not-found",
    )
    .await;
    let lines = json_of(
        app.get("/v1/voice/lines", Some(&broker.access)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(lines.as_array().unwrap().len(), 1);
    assert_eq!(lines[0]["company_name"], "Acme");
    // Without the notice, the greeting does not claim a recording.
    let call = simulated_call(&app, &broker).await;
    assert!(!call["say"].as_str().unwrap().contains("recorded"));
    let id = call["call_id"].as_str().unwrap();
    expect_problem(
        app.post_json(
            &format!("/v1/voice/calls/{id}/say"),
            &json!({"digits": "12ab"}),
            Some(&broker.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.post_json(
            &format!("/v1/voice/calls/{id}/say"),
            &json!({"text": "MC 123456"}),
            Some(&other.access),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        app.delete(&path, Some(&broker.access)).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yes_to_the_pitch_books_at_the_posted_rate() {
    let (app, _twilio) = spawn(Backend::Sqlite).await;
    let (broker, _carrier, load) = desk(&app).await;
    let call = simulated_call(&app, &broker).await;
    let id = call["call_id"].as_str().unwrap();
    say(&app, &broker, id, json!({"text": "MC 123456"})).await;
    let pitched = say(
        &app,
        &broker,
        id,
        json!({"text": "the Dallas to Atlanta van"}),
    )
    .await;
    assert!(
        pitched["say"]
            .as_str()
            .unwrap()
            .contains("paying $2,100 all in"),
        "{pitched}"
    );
    let booked = say(&app, &broker, id, json!({"text": "yes, I'll take it"})).await;
    assert!(
        booked["say"]
            .as_str()
            .unwrap()
            .contains("booked on load LR-1002 at $2,100"),
        "{booked}"
    );
    assert_eq!(booked["then"], "hang_up");
    let view = json_of(
        app.get(&format!("/v1/voice/calls/{id}"), Some(&broker.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (view["outcome"].as_str(), view["agreed_cents"].as_i64()),
        (Some("booked"), Some(210_000))
    );
    assert_eq!(view["load_id"], load.as_str());
}

// ---- outreach: the agent calls the best-matched carriers ----

const DISPATCH: &str = "+14155550177";

/// The carrier gives its dispatch number (its consent to be called) and posts a truck in
/// Dallas, so matching suggests it for the load.
async fn reachable(app: &TestApp, carrier: &Account) {
    let bad = app
        .put_json(
            "/v1/voice/dispatch",
            &json!({"phone": "call me"}),
            Some(&carrier.access),
        )
        .await;
    expect_problem(bad, 422, "validation").await;
    let set = json_of(
        app.put_json(
            "/v1/voice/dispatch",
            &json!({"phone": "(415) 555-0177"}),
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["phone"], DISPATCH);
    let truck = json!({
        "equipment": "V", "trailer_length_ft": 53,
        "available_at": {"place": "Dallas, TX"},
        "available_from": lanerunner::testing::at(2, 6), "available_until": lanerunner::testing::at(7, 18),
        "max_deadhead_miles": 150
    });
    json_of(
        app.post_json("/v1/trucks", &truck, Some(&carrier.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
}

/// Two outreach requests released together until matching's suggestion has arrived: one
/// call is placed, once. The answer of the request that placed it.
async fn reach_out_once(app: &TestApp, broker: &Account, load: &str) -> Value {
    let path = format!("/v1/voice/loads/{load}/outreach");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let attempt = |b: Arc<tokio::sync::Barrier>| {
            let path = path.clone();
            async move {
                b.wait().await;
                let res = app.post_json(&path, &json!({}), Some(&broker.access)).await;
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        let (a, b) = tokio::join!(attempt(barrier.clone()), attempt(barrier));
        let placed: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(s, _)| *s == 202)
            .map(|(_, v)| v)
            .collect();
        if !placed.is_empty() {
            assert_eq!(placed.len(), 1, "one request places the call: {a:?} {b:?}");
            let other = if a.0 == 202 { &b } else { &a };
            assert_eq!(other.0, 409, "{other:?}");
            assert_eq!(
                other.1["type"].as_str().unwrap().rsplit('/').next(),
                Some("no-carriers")
            );
            return placed[0].clone();
        }
        assert_eq!((a.0, b.0), (409, 409), "{a:?} {b:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "matching never suggested the carrier"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn outreach_calls_the_matched_carrier_and_books_on_the_call(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, carrier, load) = desk(&app).await;
    let path = format!("/v1/voice/loads/{load}/outreach");

    // Bad input and the wrong side of the market are refused before anything is dialed.
    expect_problem(
        app.post_json(&path, &json!({"carriers": 0}), Some(&broker.access))
            .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.post_json(&path, &json!({}), Some(&carrier.access))
            .await,
        403,
        "forbidden",
    )
    .await;
    let nowhere = format!("/v1/voice/loads/{}/outreach", uuid::Uuid::now_v7());
    expect_problem(
        app.post_json(&nowhere, &json!({}), Some(&broker.access))
            .await,
        404,
        "not-found",
    )
    .await;
    // Another broker cannot call about this load, nor learn that it exists.
    let stranger = app.signup("stranger@broker.example", "broker").await;
    for tail in ["outreach", "check-call"] {
        let theirs = format!("/v1/voice/loads/{load}/{tail}");
        expect_problem(
            app.post_json(&theirs, &json!({}), Some(&stranger.access))
                .await,
            404,
            "not-found",
        )
        .await;
    }
    expect_problem(
        app.put_json(
            "/v1/voice/dispatch",
            &json!({"phone": DISPATCH}),
            Some(&broker.access),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Matched or not, a carrier without a dispatch number is never called.
    expect_problem(
        app.post_json(&path, &json!({}), Some(&broker.access)).await,
        409,
        "no-carriers",
    )
    .await;

    reachable(&app, &carrier).await;
    let out = reach_out_once(&app, &broker, &load).await;
    let calls = out["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{out}");
    assert_eq!(calls[0]["direction"], "outbound");
    assert_eq!(calls[0]["status"], "ringing");
    assert_eq!(calls[0]["carrier_org_id"], carrier.org_id.as_str());
    let placed = twilio.placed();
    assert_eq!(placed.len(), 1);
    let dialed = &placed[0];
    assert_eq!((dialed.to.as_str(), dialed.from.as_str()), (DISPATCH, LINE));
    assert!(dialed.machine_detection);
    assert!(dialed.url.ends_with("/answer"), "{}", dialed.url);
    assert!(dialed
        .status_callback
        .as_deref()
        .unwrap()
        .ends_with("/v1/voice/twilio/status"));

    // Someone answers: Twilio asks the answer URL (signed), and the agent pitches.
    let unsigned = reqwest::Client::new()
        .post(&dialed.url)
        .form(&[("CallSid", dialed.sid.as_str()), ("AnsweredBy", "human")])
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, 403, "webhook-rejected").await;
    let answer = [
        ("CallSid", dialed.sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("CallStatus", "in-progress"),
        ("Direction", "outbound-api"),
        ("AnsweredBy", "human"),
    ];
    let (status, opening) = twilio.post_signed(&dialed.url, &answer).await.unwrap();
    assert_eq!(status, 200, "{opening}");
    assert!(opening.contains("calling for Acme Logistics"), "{opening}");
    assert!(opening.contains("recorded and transcribed"), "{opening}");
    assert!(
        opening.contains("Load LR-1002: Dallas, TX to Atlanta, GA"),
        "{opening}"
    );
    let (_, again) = twilio.post_signed(&dialed.url, &answer).await.unwrap();
    assert_eq!(
        again, opening,
        "a retried answer webhook gets the same opening"
    );

    let mut call = Call {
        twilio: &twilio,
        sid: dialed.sid.clone(),
        action: action_of(&opening),
        last: opening,
    };
    let countered = call
        .turn(Some("I'd need twenty four hundred all in"), None)
        .await;
    assert!(countered.contains("I can do $"), "{countered}");
    let booked = call.turn(Some("sounds good, book it"), None).await;
    assert!(booked.contains("you're booked on load LR-1002"), "{booked}");

    let view = call_view(&app, &broker).await;
    assert_eq!(view["direction"], "outbound");
    assert_eq!(view["outcome"], "booked", "{view}");
    assert_eq!(view["to_number"], DISPATCH);
    let summary = view["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("We called MC 123456 about load LR-1002."),
        "{summary}"
    );

    // Booked: the load is no longer open to outreach.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = app.post_json(&path, &json!({}), Some(&broker.access)).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if body["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("load-not-open")
        {
            break;
        }
        assert_eq!(status, 409, "{body}");
        assert!(tokio::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(twilio.placed().len(), 1, "no second call");
}

on_both!(
    outreach,
    outreach_calls_the_matched_carrier_and_books_on_the_call
);

/// An outreach call no one answers is closed by Twilio's status callback; without a
/// Twilio account (embedded defaults) outreach calls are simulated and answered by text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_outreach_call_ends_as_no_answer() {
    let (app, twilio) = spawn(Backend::Sqlite).await;
    let (broker, carrier, load) = desk(&app).await;
    reachable(&app, &carrier).await;
    reach_out_once(&app, &broker, &load).await;
    let dialed = twilio.placed().remove(0);
    let (status, _) = twilio
        .post_signed(
            &app.url("/v1/voice/twilio/status"),
            &[
                ("CallSid", dialed.sid.as_str()),
                ("AccountSid", ACCOUNT),
                ("CallStatus", "no-answer"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    let view = call_view(&app, &broker).await;
    assert_eq!(view["outcome"], "no_answer", "{view}");
    assert_eq!(view["status"], "completed");
    // A late answer webhook for the ended call hangs up and pitches nothing.
    let (status, body) = twilio
        .post_signed(
            &dialed.url,
            &[("CallSid", dialed.sid.as_str()), ("AnsweredBy", "human")],
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<Hangup/>") && !body.contains("LR-1002"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_outreach_is_answered_by_text() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (broker, carrier, load) = desk(&app).await;
    reachable(&app, &carrier).await;
    let out = reach_out_once(&app, &broker, &load).await;
    let call = out["calls"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(out["calls"][0]["channel"], "simulated");
    let opening = say(&app, &broker, &call, json!({"text": "hello?"})).await;
    assert!(
        opening["say"].as_str().unwrap().contains("Load LR-1002"),
        "{opening}"
    );
    let declined = say(&app, &broker, &call, json!({"text": "no thanks"})).await;
    assert_eq!(declined["then"], "hang_up");
    let view = json_of(
        app.get(&format!("/v1/voice/calls/{call}"), Some(&broker.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["outcome"], "declined", "{view}");
    assert_eq!(view["direction"], "outbound");
}

// ---- check calls: a load on the road with no position ----

/// Covers the load with the carrier and dispatches it.
async fn on_the_road(app: &TestApp, broker: &Account, carrier: &Account, load: &str) {
    for body in [
        json!({"event": "cover", "booking": {"carrier_org_id": carrier.org_id}}),
        json!({"event": "dispatch"}),
    ] {
        let res = app
            .post_json(
                &format!("/v1/loads/{load}/status"),
                &body,
                Some(&broker.access),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
    }
}

async fn a_check_call_asks_where_when_and_what_is_wrong(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, carrier, load) = desk(&app).await;
    let path = format!("/v1/voice/loads/{load}/check-call");
    expect_problem(
        app.post_json(&path, &json!({}), Some(&broker.access)).await,
        409,
        "load-not-moving",
    )
    .await;
    expect_problem(
        app.post_json(&path, &json!({}), Some(&carrier.access))
            .await,
        403,
        "forbidden",
    )
    .await;
    on_the_road(&app, &broker, &carrier, &load).await;
    reachable(&app, &carrier).await;
    // The voice service learns the booking and the dispatch from events.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let placed = loop {
        let res = app.post_json(&path, &json!({}), Some(&broker.access)).await;
        if res.status() == StatusCode::ACCEPTED {
            break res.json::<Value>().await.unwrap();
        }
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            res.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(placed["direction"], "check_call");
    let dialed = twilio.placed().pop().unwrap();
    assert_eq!(dialed.to, DISPATCH);
    let (status, opening) = twilio
        .post_signed(
            &dialed.url,
            &[
                ("CallSid", dialed.sid.as_str()),
                ("AccountSid", ACCOUNT),
                ("AnsweredBy", "human"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{opening}");
    assert!(opening.contains("checking on load LR-1002"), "{opening}");
    assert!(
        opening.contains("Where is the truck right now?"),
        "{opening}"
    );
    let mut call = Call {
        twilio: &twilio,
        sid: dialed.sid.clone(),
        action: action_of(&opening),
        last: opening,
    };
    // Silence is asked again, not recorded.
    let again = call.turn(None, None).await;
    assert!(again.contains("Where is the truck right now?"), "{again}");
    let eta = call.turn(Some("just past Birmingham on I-20"), None).await;
    assert!(
        eta.contains("When do you expect to deliver in Atlanta, GA?"),
        "{eta}"
    );
    let issues = call.turn(Some("tomorrow around 9 am"), None).await;
    assert!(issues.contains("Any problems"), "{issues}");
    let done = call.turn(Some("no problems, thanks"), None).await;
    assert!(
        done.contains("passed that on to Acme Logistics") && done.contains("<Hangup/>"),
        "{done}"
    );

    let view = call_view(&app, &broker).await;
    assert_eq!(view["direction"], "check_call");
    assert_eq!(view["outcome"], "checked_in", "{view}");
    assert_eq!(view["check_in"]["location"], "just past Birmingham on I-20");
    assert_eq!(view["check_in"]["eta"], "tomorrow around 9 am");
    assert_eq!(view["check_in"]["issues"], "no problems, thanks");
    assert!(
        view["summary"]
            .as_str()
            .unwrap()
            .contains("Truck at: \"just past Birmingham on I-20\""),
        "{view}"
    );
}

on_both!(check_calls, a_check_call_asks_where_when_and_what_is_wrong);

/// The sweep calls a load on the road that sent no position, once, even when two sweeps
/// run at the same instant (two instances); an answering machine gets a message.
async fn the_sweep_calls_a_silent_load_once(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, carrier, load) = desk(&app).await;
    reachable(&app, &carrier).await;
    on_the_road(&app, &broker, &carrier, &load).await;
    let voice = app
        .app()
        .typed::<lanerunner_voice::VoiceService>()
        .expect("voice runs");
    let after = Duration::from_secs(1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (a, b) = tokio::join!(
            voice.calls().sweep_check_calls(after),
            voice.calls().sweep_check_calls(after)
        );
        let placed = a.unwrap() + b.unwrap();
        if placed > 0 {
            assert_eq!(placed, 1, "two sweeps at once place one call");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweep never found the load"
        );
    }
    let dialed = twilio.placed().pop().unwrap();
    assert_eq!(dialed.to, DISPATCH);
    let (status, said) = twilio
        .post_signed(
            &dialed.url,
            &[
                ("CallSid", dialed.sid.as_str()),
                ("AnsweredBy", "machine_start"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        said.contains("checking on load LR-1002") && said.contains("<Hangup/>"),
        "{said}"
    );
    let view = call_view(&app, &broker).await;
    assert_eq!(view["outcome"], "no_answer", "{view}");
    // Called a moment ago: not due again until `after` has passed.
    assert_eq!(
        voice
            .calls()
            .sweep_check_calls(Duration::from_secs(60))
            .await
            .unwrap(),
        0
    );
}

on_both!(check_call_sweep, the_sweep_calls_a_silent_load_once);

/// Transcripts are kept `voice.transcript_retention_days` after a call started: the job
/// deletes an old call's transcript and marks it, keeping the call and its outcome; a
/// recent call keeps everything; a second run finds nothing.
async fn transcripts_past_their_retention_are_deleted(backend: Backend) {
    let (app, _twilio) = spawn(backend).await;
    let broker = app.signup("broker@retention.example", "broker").await;
    json_of(
        app.put_json(
            &format!("/v1/voice/lines/{LINE}"),
            &json!({"company_name": "Acme Logistics"}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut calls = Vec::new();
    for _ in 0..2 {
        let call = simulated_call(&app, &broker).await;
        let id = call["call_id"].as_str().unwrap().to_owned();
        say(&app, &broker, &id, json!({"digits": "999999"})).await;
        calls.push(id);
    }
    let view = |id: String| {
        let (app, broker) = (&app, &broker);
        async move {
            json_of(
                app.get(&format!("/v1/voice/calls/{id}"), Some(&broker.access))
                    .await,
                StatusCode::OK,
            )
            .await
        }
    };
    let before = view(calls[0].clone()).await;
    assert!(
        !before["transcript"].as_array().unwrap().is_empty(),
        "{before}"
    );
    assert!(before["transcript_removed_at"].is_null());
    let db = app.app().db("voice").unwrap();
    let old: uuid::Uuid = calls[0].parse().unwrap();
    lanerunner_platform::on_db!(&db, |p| sqlx::query(
        "UPDATE vc_calls SET started_at = $2 WHERE id = $1"
    )
    .bind(old)
    .bind(chrono::Utc::now() - chrono::Duration::days(91))
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();

    let voice = app
        .app()
        .typed::<lanerunner_voice::VoiceService>()
        .expect("voice runs");
    let cutoff = chrono::Utc::now() - chrono::Duration::days(90);
    assert_eq!(voice.calls().purge_transcripts(cutoff).await.unwrap(), 1);
    assert_eq!(voice.calls().purge_transcripts(cutoff).await.unwrap(), 0);
    let after = view(calls[0].clone()).await;
    assert_eq!(after["transcript"], json!([]), "{after}");
    assert!(after["transcript_removed_at"].is_string(), "{after}");
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["outcome"], before["outcome"]);
    let recent = view(calls[1].clone()).await;
    assert!(
        !recent["transcript"].as_array().unwrap().is_empty(),
        "{recent}"
    );
    assert!(recent["transcript_removed_at"].is_null());
}
on_both!(
    transcripts_past_their_retention_are_deleted_on,
    transcripts_past_their_retention_are_deleted
);

// ---- callers' numbers at rest ----

/// Every number the voice store keeps of a call or a carrier, by table.
async fn stored_numbers(app: &TestApp) -> Vec<(&'static str, String)> {
    let db = app.app().db("voice").unwrap();
    let (calls, dispatch): (Vec<(String, String)>, Vec<String>) =
        lanerunner_platform::on_db!(&db, |p| {
            let calls = sqlx::query_as("SELECT from_number, to_number FROM vc_calls")
                .fetch_all(p)
                .await
                .unwrap();
            let dispatch = sqlx::query_scalar("SELECT phone FROM vc_dispatch")
                .fetch_all(p)
                .await
                .unwrap();
            (calls, dispatch)
        });
    calls
        .into_iter()
        .flat_map(|(from, to)| [("vc_calls", from), ("vc_calls", to)])
        .chain(dispatch.into_iter().map(|d| ("vc_dispatch", d)))
        .collect()
}

/// `who`'s calls as the API lists them: `(direction, from, to)`.
async fn listed_numbers(app: &TestApp, who: &Account) -> Vec<(String, String, String)> {
    let list = json_of(
        app.get("/v1/voice/calls?limit=50", Some(&who.access)).await,
        StatusCode::OK,
    )
    .await;
    let mut calls: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "twilio")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("direction"), s("from_number"), s("to_number"))
        })
        .collect();
    calls.sort();
    calls
}

/// The number a carrier calls from, the dispatch number it gave and the number an outreach
/// call dialed are sealed at rest, while the broker reads them and the agent dials them as
/// before. Numbers a previous version stored readable are sealed by the key sweep and read
/// the same after.
async fn callers_numbers_are_sealed_at_rest(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let (broker, carrier, load) = desk(&app).await;
    Call::dial(&twilio, &app, "CA0301", LINE).await;
    reachable(&app, &carrier).await;
    reach_out_once(&app, &broker, &load).await;
    assert_eq!(
        twilio.placed()[0].to,
        DISPATCH,
        "the agent dials the number"
    );

    let digits = ["4155550123", "4155550177", "5005550100"];
    let stored = stored_numbers(&app).await;
    // Three calls (the desk's simulated one, the call that came in, the outreach call),
    // two numbers each, and the dispatch number.
    assert_eq!(stored.len(), 7, "{stored:?}");
    for (table, value) in &stored {
        assert!(value.starts_with("lre1."), "{table}: {value}");
        assert!(
            !digits.iter().any(|d| value.contains(d)),
            "{table}: {value}"
        );
    }
    let expected = vec![
        ("inbound".to_owned(), CALLER.to_owned(), LINE.to_owned()),
        ("outbound".to_owned(), LINE.to_owned(), DISPATCH.to_owned()),
    ];
    assert_eq!(listed_numbers(&app, &broker).await, expected);
    let dispatch = || async {
        json_of(
            app.get("/v1/voice/dispatch", Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await["phone"]
            .clone()
    };
    assert_eq!(dispatch().await, DISPATCH);

    // As a previous version stored them: readable. Read the same, then sealed by the sweep.
    let db = app.app().db("voice").unwrap();
    lanerunner_platform::on_db!(&db, |p| {
        sqlx::query("UPDATE vc_calls SET from_number = $1 WHERE channel = 'twilio' AND direction = 'inbound'")
            .bind(CALLER)
            .execute(p)
            .await
            .unwrap();
        sqlx::query("UPDATE vc_dispatch SET phone = $1")
            .bind(DISPATCH)
            .execute(p)
            .await
            .unwrap();
    });
    assert_eq!(listed_numbers(&app, &broker).await, expected);
    assert_eq!(dispatch().await, DISPATCH);
    let swept = lanerunner::keys::sweep(&app.config).await.unwrap();
    let voice = &swept.iter().find(|(s, _)| *s == "voice").unwrap().1;
    assert_eq!((voice.sealed, voice.unopenable), (2, 0), "{voice:?}");
    for (table, value) in stored_numbers(&app).await {
        assert!(value.starts_with("lre1."), "{table}: {value}");
    }
    assert_eq!(listed_numbers(&app, &broker).await, expected);
    assert_eq!(dispatch().await, DISPATCH);
}

on_both!(numbers_at_rest, callers_numbers_are_sealed_at_rest);
