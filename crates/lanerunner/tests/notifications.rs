//! Notifications over real HTTP with Twilio's protocols on loopback (the stand-in speaks
//! the Messages API, Verify, signed status callbacks and signed inbound texts), on SQLite
//! and on PostgreSQL: a carrier verifies a number, hears a broker's counter-offer in the
//! app (live on its socket), by email and by text, and takes it by replying "YES" and the
//! code; a code for an offer that has since changed takes nothing; STOP, HELP and START are
//! honoured and recorded; forged and replayed requests change nothing; quiet hours hold
//! emails, a flood becomes a digest, and every bad input is a typed problem.

use std::time::Duration;

use futures::StreamExt;
use lanerunner::testing::{
    dallas_atlanta_load, expect_problem, json_of, Account, Backend, TestApp,
};
use lanerunner_twilio::testing::TwilioStandIn;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";
const OUR_NUMBER: &str = "+15005550006";
const CARRIER_PHONE: &str = "+14155550100";

async fn spawn_with(
    backend: Backend,
    configure: impl FnOnce(&mut lanerunner_platform::Config),
) -> (TestApp, TwilioStandIn) {
    let twilio = TwilioStandIn::start(ACCOUNT, TOKEN).await.unwrap();
    let app = TestApp::spawn_with_twilio(backend, &twilio.base_url, ACCOUNT, TOKEN, |c| {
        c.twilio.from_number = Some(OUR_NUMBER.into());
        c.notifications.poll_ms = 50;
        c.notifications.retry_base_ms = 100;
        configure(c);
    })
    .await;
    (app, twilio)
}

async fn spawn(backend: Backend) -> (TestApp, TwilioStandIn) {
    spawn_with(backend, |_| {}).await
}

/// Runs `$body` on SQLite and on PostgreSQL.
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

async fn poll<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verify_phone(app: &TestApp, twilio: &TwilioStandIn, who: &Account, phone: &str) {
    let p = json_of(
        app.put_json(
            "/v1/notifications/phone",
            &json!({"phone": phone}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let e164 = p["pending_phone"].as_str().unwrap().to_owned();
    let code = twilio.verification_code(&e164).expect("Verify sent a code");
    let p = json_of(
        app.post_json(
            "/v1/notifications/phone/verify",
            &json!({"code": code}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["phone"], e164.as_str());
    assert!(p["pending_phone"].is_null());
}

/// Opens a negotiation, waiting for the load to reach the negotiation service.
async fn open(app: &TestApp, carrier: &Account, load: &str, rate: i64) -> String {
    let body = json!({"load_id": load, "move": {"move": "offer", "rate_cents": rate}});
    let res = poll("the load to reach the negotiation service", async || {
        let res = app
            .post_json("/v1/negotiations", &body, Some(&carrier.access))
            .await;
        (res.status() != StatusCode::NOT_FOUND).then_some(res)
    })
    .await;
    json_of(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn offer(app: &TestApp, who: &Account, negotiation: &str, rate: i64) {
    json_of(
        app.post_json(
            &format!("/v1/negotiations/{negotiation}/moves"),
            &json!({"move": {"move": "offer", "rate_cents": rate}}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

/// The code in the `n`-th text to `phone` that carries one.
async fn texted_code(twilio: &TwilioStandIn, phone: &str, n: usize) -> (String, String) {
    poll("a texted offer", async || {
        let with_code: Vec<_> = twilio
            .sent()
            .into_iter()
            .filter(|s| s.to == phone && s.body.contains("Reply YES"))
            .collect();
        let sms = with_code.get(n)?;
        let code = sms.body.split("Reply YES ").nth(1)?.get(..4)?.to_owned();
        Some((code, sms.body.clone()))
    })
    .await
}

/// `who`'s first text delivery once it is no longer pending.
async fn settled_text(app: &TestApp, who: &Account) -> Value {
    poll("a text delivery settled", async || {
        let d = json_of(
            app.get("/v1/notifications/deliveries", Some(&who.access))
                .await,
            StatusCode::OK,
        )
        .await;
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["channel"] == "sms" && d["status"] != "pending")
            .cloned()
    })
    .await
}

async fn notices(app: &TestApp, who: &Account, query: &str) -> Vec<Value> {
    json_of(
        app.get(&format!("/v1/notifications{query}"), Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn reply(twilio: &TwilioStandIn, app: &TestApp, sid: &str, body: &str) -> (u16, String) {
    twilio
        .post_signed(
            &app.url("/v1/notifications/sms/inbound"),
            &[
                ("MessageSid", sid),
                ("AccountSid", ACCOUNT),
                ("From", CARRIER_PHONE),
                ("To", OUR_NUMBER),
                ("Body", body),
            ],
        )
        .await
        .unwrap()
}

async fn a_carrier_takes_a_texted_offer_by_replying_yes_and_the_code(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let broker = app.signup("broker@example.com", "broker").await;
    let carrier = app.signup("dispatch@carrier.example", "carrier").await;
    verify_phone(&app, &twilio, &carrier, "(415) 555-0100").await;

    let url = format!(
        "ws://{}/v1/realtime?access_token={}",
        app.address, carrier.access
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    let load =
        lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("N1", 250_000)).await;
    let negotiation = open(&app, &carrier, &load, 260_000).await;
    offer(&app, &broker, &negotiation, 240_000).await;

    // In the app, live: the carrier's socket hears its own notice.
    let live = poll("the notice on the socket", async || {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .ok()??
            .ok()?;
        let Message::Text(t) = msg else { return None };
        let v: Value = serde_json::from_str(&t).ok()?;
        (v["type"] == "notification.created.v1").then_some(v)
    })
    .await;
    assert_eq!(live["payload"]["title"], "The broker offers $2,400.00");
    assert_eq!(live["payload"]["user_id"], carrier.user_id.as_str());

    // By text, with the code that takes it.
    let (first_code, body) = texted_code(&twilio, CARRIER_PHONE, 0).await;
    assert!(
        body.starts_with("LaneRunner: The broker offers $2,400.00."),
        "{body}"
    );
    // By email, with a one-click unsubscribe link (RFC 8058) for that kind of news.
    let mail = app
        .wait_for_mail(
            |m| {
                m.contains("To: dispatch@carrier.example")
                    && m.contains("Subject: The broker offers $2,400.00")
            },
            Duration::from_secs(10),
        )
        .await;
    assert!(mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let unsubscribe = mail
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .and_then(|l| l.strip_suffix('>'))
        .expect("a List-Unsubscribe header")
        .to_owned();
    // Opening the link (a person, or a mail scanner) changes nothing; the button does.
    let page = app.client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<button type=\"submit\">Unsubscribe</button>"));
    let done = app
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(done, StatusCode::OK).await["email_off"],
        json!(["offer"])
    );
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let offers = p["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "offer")
        .unwrap()
        .clone();
    assert_eq!(
        (offers["email"].as_str(), offers["sms"].as_str()),
        (Some("off"), Some("immediate"))
    );
    let forged = app
        .client
        .post(app.url("/v1/notifications/unsubscribe?token=not-a-token"))
        .send()
        .await
        .unwrap();
    expect_problem(forged, 404, "not-found").await;
    // The broker is told of the carrier's offer, not of its own counter.
    let broker_list = poll("the broker's notice", async || {
        let l = notices(&app, &broker, "").await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert!(broker_list
        .iter()
        .all(|n| n["title"] != "The broker offers $2,400.00"));
    assert!(broker_list
        .iter()
        .any(|n| n["title"] == "The carrier offers $2,600.00"));

    // The carrier counters in the app, the broker counters again: a second code.
    offer(&app, &carrier, &negotiation, 250_000).await;
    offer(&app, &broker, &negotiation, 245_000).await;
    let (second_code, _) = texted_code(&twilio, CARRIER_PHONE, 1).await;

    // A forged reply and an unsigned one change nothing.
    let inbound = app.url("/v1/notifications/sms/inbound");
    let forged = app
        .client
        .post(&inbound)
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("MessageSid", "SMforged"),
            ("From", CARRIER_PHONE),
            ("Body", format!("YES {second_code}").as_str()),
        ])
        .send()
        .await
        .unwrap();
    expect_problem(forged, 403, "webhook-rejected").await;
    let unsigned = app
        .client
        .post(&inbound)
        .form(&[
            ("MessageSid", "SMunsigned"),
            ("From", CARRIER_PHONE),
            ("Body", "STOP"),
        ])
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, 403, "webhook-rejected").await;

    // The first code was for an offer that has since changed: it takes nothing.
    let (status, said) = reply(
        &twilio,
        &app,
        "SM00000000000000000000000000000001",
        &format!("YES {first_code}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        said.contains("was not accepted: the offer changed"),
        "{said}"
    );
    // The second code takes the standing offer.
    let (status, said) = reply(
        &twilio,
        &app,
        "SM00000000000000000000000000000002",
        &format!("yes {second_code}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        said.contains("<Message>LaneRunner: booked at $2,450.00."),
        "{said}"
    );
    let n = json_of(
        app.get(
            &format!("/v1/negotiations/{negotiation}"),
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(n["status"], "agreed");
    assert_eq!(n["agreed_cents"], 245_000);
    // Twilio retrying the same request gets the same answer; the code is not used twice.
    let (_, again) = reply(
        &twilio,
        &app,
        "SM00000000000000000000000000000002",
        &format!("yes {second_code}"),
    )
    .await;
    assert_eq!(again, said);
    let (_, reused) = reply(
        &twilio,
        &app,
        "SM00000000000000000000000000000003",
        &format!("YES {second_code}"),
    )
    .await;
    assert!(reused.contains("is not a live offer code"), "{reused}");

    // Both sides hear of the booking.
    for who in [&carrier, &broker] {
        poll("the booking notice", async || {
            notices(&app, who, "")
                .await
                .iter()
                .any(|n| n["title"] == "Booked at $2,450.00")
                .then_some(())
        })
        .await;
    }
    // Twilio's status callbacks mark the texts delivered.
    poll("a delivered text", async || {
        let d = json_of(
            app.get("/v1/notifications/deliveries", Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["channel"] == "sms" && d["status"] == "delivered")
            .then_some(())
    })
    .await;

    // Read state: one read, then all; another person's notice is not found.
    let unread = |who: &Account| {
        let (app, token) = (&app, who.access.clone());
        async move {
            json_of(
                app.get("/v1/notifications/unread-count", Some(&token))
                    .await,
                StatusCode::OK,
            )
            .await["unread"]
                .as_i64()
                .unwrap()
        }
    };
    let before = unread(&carrier).await;
    assert!(before >= 3, "{before}");
    let first = notices(&app, &carrier, "?unread=true").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_json(
            &format!("/v1/notifications/{first}/read"),
            &json!({}),
            Some(&carrier.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread(&carrier).await, before - 1);
    let theirs = app
        .post_json(
            &format!("/v1/notifications/{first}/read"),
            &json!({}),
            Some(&broker.access),
        )
        .await;
    expect_problem(theirs, 404, "not-found").await;
    let all = json_of(
        app.post_json(
            "/v1/notifications/read-all",
            &json!({}),
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["marked"], before - 1);
    assert_eq!(unread(&carrier).await, 0);
    assert!(notices(&app, &carrier, "?unread=true").await.is_empty());
}

on_both!(
    a_carrier_takes_a_texted_offer,
    a_carrier_takes_a_texted_offer_by_replying_yes_and_the_code
);

async fn stop_help_and_start_are_honoured_and_bad_input_is_refused(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let broker = app.signup("broker@example.com", "broker").await;
    let carrier = app.signup("dispatch@carrier.example", "carrier").await;
    verify_phone(&app, &twilio, &carrier, CARRIER_PHONE).await;

    let (_, help) = reply(&twilio, &app, "SM10000000000000000000000000000001", "help").await;
    assert!(help.contains("Reply STOP to stop texts"), "{help}");
    let (_, other) = reply(
        &twilio,
        &app,
        "SM10000000000000000000000000000002",
        "who is this?",
    )
    .await;
    assert!(other.contains("reply YES and the 4-digit code"), "{other}");
    let (_, unknown) = reply(
        &twilio,
        &app,
        "SM10000000000000000000000000000003",
        "YES 1234",
    )
    .await;
    assert!(
        unknown.contains("1234 is not a live offer code"),
        "{unknown}"
    );
    let (_, stop) = reply(&twilio, &app, "SM10000000000000000000000000000004", "STOP").await;
    assert!(stop.ends_with("<Response></Response>"), "{stop}");
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["sms_opted_out"], true);

    // An offer while opted out: in the app and by email, but no text.
    let load =
        lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("N2", 250_000)).await;
    let negotiation = open(&app, &carrier, &load, 260_000).await;
    offer(&app, &broker, &negotiation, 240_000).await;
    let skipped = settled_text(&app, &carrier).await;
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["last_error"], "the number replied STOP");
    assert!(
        twilio.sent().iter().all(|s| !s.body.contains("offers")),
        "texted after STOP"
    );

    let (_, start) = reply(&twilio, &app, "SM10000000000000000000000000000005", "START").await;
    assert!(start.contains("texts are on again"), "{start}");
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["sms_opted_out"], false);

    // Bad input, each a typed problem naming its field.
    let bad = app
        .put_json(
            "/v1/notifications/preferences",
            &json!({"preferences": [
                {"kind": "gossip", "channel": "email", "mode": "off"},
                {"kind": "offer", "channel": "pigeon", "mode": "off"},
                {"kind": "offer", "channel": "in_app", "mode": "digest"},
                {"kind": "offer", "channel": "sms", "mode": "loud"}
            ]}),
            Some(&carrier.access),
        )
        .await;
    let p = expect_problem(bad, 422, "validation").await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "preferences[0].kind",
            "preferences[1].channel",
            "preferences[2].mode",
            "preferences[3].mode"
        ]
    );
    let bad = app
        .put_json(
            "/v1/notifications/settings",
            &json!({"time_zone": "Mars/Olympus", "quiet_start": "22:00", "digest_minutes": 1}),
            Some(&carrier.access),
        )
        .await;
    expect_problem(bad, 422, "validation").await;
    let bad = app
        .put_json(
            "/v1/notifications/phone",
            &json!({"phone": "555-0100"}),
            Some(&carrier.access),
        )
        .await;
    expect_problem(bad, 422, "validation").await;
    let bad = app
        .post_json(
            "/v1/notifications/phone/verify",
            &json!({"code": "123456"}),
            Some(&broker.access),
        )
        .await;
    expect_problem(bad, 409, "no-verification-pending").await;
    app.put_json(
        "/v1/notifications/phone",
        &json!({"phone": "+14155550199"}),
        Some(&broker.access),
    )
    .await;
    let wrong = twilio
        .verification_code("+14155550199")
        .unwrap()
        .chars()
        .rev()
        .collect::<String>();
    let bad = app
        .post_json(
            "/v1/notifications/phone/verify",
            &json!({"code": format!("{wrong}9")}),
            Some(&broker.access),
        )
        .await;
    expect_problem(bad, 422, "validation").await;
    let bad = app
        .put_json(
            "/v1/notifications/phone",
            &json!({"phone": "+1415555", "extra": 1}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // An API key has no inbox.
    let key = json_of(
        app.post_json(
            "/v1/org/api-keys",
            &json!({"name": "tms", "scopes": ["notifications:read"]}),
            Some(&carrier.access),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .get("/v1/notifications", Some(key["secret"].as_str().unwrap()))
        .await;
    expect_problem(res, 403, "forbidden").await;
    // The provider's status callback is signed too.
    let res = app
        .client
        .post(app.url("/v1/notifications/sms/status"))
        .form(&[("MessageSid", "SMx"), ("MessageStatus", "delivered")])
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "webhook-rejected").await;
}

on_both!(
    stop_help_and_start,
    stop_help_and_start_are_honoured_and_bad_input_is_refused
);

async fn quiet_hours_hold_emails_and_a_flood_becomes_a_digest(backend: Backend) {
    let (app, _twilio) = spawn_with(backend, |c| c.notifications.email_per_hour = 1).await;
    let broker = app.signup("broker@example.com", "broker").await;
    let carriers = [
        app.signup("one@carrier.example", "carrier").await,
        app.signup("two@carrier.example", "carrier").await,
        app.signup("three@carrier.example", "carrier").await,
    ];
    // Offers are not wanted in the broker's list, only by email.
    json_of(
        app.put_json(
            "/v1/notifications/preferences",
            &json!({"preferences": [{"kind": "offer", "channel": "in_app", "mode": "off"}]}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let load =
        lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("Q1", 250_000)).await;
    open(&app, &carriers[0], &load, 260_000).await;
    open(&app, &carriers[1], &load, 261_000).await;
    let deliveries = |n: usize| {
        let app = &app;
        let token = broker.access.clone();
        async move {
            poll("the broker's emails", async || {
                let d = json_of(
                    app.get("/v1/notifications/deliveries", Some(&token)).await,
                    StatusCode::OK,
                )
                .await;
                let items = d["items"].as_array().unwrap().clone();
                (items.len() >= n).then_some(items)
            })
            .await
        }
    };
    let two = deliveries(2).await;
    // Newest first: the second offer went over the hourly limit and waits for the digest.
    assert_eq!(two[0]["mode"], "digest");
    assert_eq!(two[0]["status"], "pending");
    let due: chrono::DateTime<chrono::Utc> = two[0]["due_at"].as_str().unwrap().parse().unwrap();
    assert!(
        due > chrono::Utc::now() + chrono::Duration::minutes(50),
        "{due}"
    );
    assert_eq!(two[1]["mode"], "immediate");
    assert!(notices(&app, &broker, "")
        .await
        .iter()
        .all(|n| n["kind"] != "offer"));

    // Quiet hours around now in Tokyo: the next email waits until they end.
    let tokyo = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let start = (tokyo - chrono::Duration::hours(1))
        .format("%H:%M")
        .to_string();
    let end = (tokyo + chrono::Duration::hours(2))
        .format("%H:%M")
        .to_string();
    json_of(
        app.put_json(
            "/v1/notifications/settings",
            &json!({"time_zone": "Asia/Tokyo", "quiet_start": start, "quiet_end": end, "digest_minutes": 30}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_of(
        app.put_json(
            "/v1/notifications/preferences",
            &json!({"preferences": [{"kind": "booked", "channel": "email", "mode": "immediate"}]}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let other =
        lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("Q2", 250_000)).await;
    open(&app, &carriers[2], &other, 262_000).await;
    let three = deliveries(3).await;
    let held: chrono::DateTime<chrono::Utc> = three[0]["due_at"].as_str().unwrap().parse().unwrap();
    let now = chrono::Utc::now();
    assert!(
        held > now + chrono::Duration::minutes(100) && held <= now + chrono::Duration::hours(2),
        "{held}"
    );
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&broker.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["time_zone"], "Asia/Tokyo");
    assert_eq!(p["quiet_start"], start.as_str());
    let offer = p["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "offer")
        .unwrap()
        .clone();
    assert_eq!(offer["in_app"], "off");
    assert_eq!(offer["email"], "immediate");
}

on_both!(
    quiet_hours_and_digests,
    quiet_hours_hold_emails_and_a_flood_becomes_a_digest
);

/// A carrier whose verified phone was texted a broker's $2,400 counter-offer on load
/// `reference`: the negotiation, and the offer's reply code.
struct TextedOffer {
    carrier: Account,
    negotiation: String,
    code: String,
}

async fn texted_offer(app: &TestApp, twilio: &TwilioStandIn, reference: &str) -> TextedOffer {
    let broker = app.signup("broker@example.com", "broker").await;
    let carrier = app.signup("dispatch@carrier.example", "carrier").await;
    verify_phone(app, twilio, &carrier, CARRIER_PHONE).await;
    let load =
        lanerunner::testing::posted(app, &broker, &dallas_atlanta_load(reference, 250_000)).await;
    let negotiation = open(app, &carrier, &load, 260_000).await;
    offer(app, &broker, &negotiation, 240_000).await;
    let (code, _) = texted_code(twilio, CARRIER_PHONE, 0).await;
    TextedOffer {
        carrier,
        negotiation,
        code,
    }
}

async fn two_replies_at_the_same_instant_take_the_offer_once(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let TextedOffer {
        carrier,
        negotiation,
        code,
    } = texted_offer(&app, &twilio, "R1").await;
    // Released together: a carrier who double-taps send.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let one = {
        let (barrier, body) = (barrier.clone(), format!("YES {code}"));
        let (app, twilio) = (&app, &twilio);
        async move {
            barrier.wait().await;
            reply(twilio, app, "SM20000000000000000000000000000001", &body).await
        }
    };
    let two = {
        let (barrier, body) = (barrier.clone(), format!("YES {code}"));
        let (app, twilio) = (&app, &twilio);
        async move {
            barrier.wait().await;
            reply(twilio, app, "SM20000000000000000000000000000002", &body).await
        }
    };
    let ((_, a), (_, b)) = tokio::join!(one, two);
    let booked = [&a, &b]
        .iter()
        .filter(|r| r.contains("booked at $2,400.00"))
        .count();
    let refused = [&a, &b]
        .iter()
        .filter(|r| r.contains("is not a live offer code"))
        .count();
    assert_eq!((booked, refused), (1, 1), "{a}\n{b}");
    let n = json_of(
        app.get(
            &format!("/v1/negotiations/{negotiation}"),
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(n["status"], "agreed");
}

on_both!(
    replies_at_the_same_instant,
    two_replies_at_the_same_instant_take_the_offer_once
);

/// A `tracking.late_risk.v1` for a new load of `broker`'s organization: each one is texted
/// to the broker's verified mobile.
fn late_risk_event(broker: &Account, reference: &str) -> lanerunner_core::EventEnvelope {
    let org = lanerunner_core::OrgId(broker.org_id.parse().unwrap());
    let now = chrono::Utc::now();
    let load = uuid::Uuid::now_v7();
    lanerunner_core::EventEnvelope::new(
        lanerunner_core::EventType::new("tracking.late_risk", 1),
        Some(org),
        load,
        &json!({"load_id": load, "broker_org_id": org, "carrier_org_id": null, "reference": reference,
                "stop": "Atlanta, GA", "eta": now + chrono::Duration::hours(3), "window_end": now + chrono::Duration::hours(2)}),
    )
    .unwrap()
}

async fn late_risk(app: &TestApp, broker: &Account, reference: &str) {
    let (published, error) = app
        .app()
        .bus()
        .publish_batch(&[late_risk_event(broker, reference)])
        .await;
    assert_eq!(published, 1, "{error:?}");
}

/// Twilio takes a text but its answer never reaches us (our timeout fires first): the retry
/// finds the message in Twilio's list and records it instead of sending it again.
async fn a_text_whose_answer_was_lost_is_not_sent_twice(backend: Backend) {
    let (app, twilio) = spawn_with(backend, |c| c.twilio.timeout_ms = 300).await;
    let broker = app.signup("broker@example.com", "broker").await;
    verify_phone(&app, &twilio, &broker, CARRIER_PHONE).await;
    twilio.stall_answers(1, Duration::from_secs(2));
    late_risk(&app, &broker, "LOST-1").await;
    let text = settled_text(&app, &broker).await;
    assert_eq!(text["status"], "sent", "{text}");
    assert_eq!(text["attempts"], 2, "the first attempt timed out: {text}");
    // Long enough for a wrong resend to have arrived.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent: Vec<_> = twilio
        .sent()
        .into_iter()
        .filter(|s| s.body.contains("LOST-1"))
        .collect();
    assert_eq!(sent.len(), 1, "the text went twice: {sent:?}");

    // A text that Twilio really did not take is still sent on the retry.
    late_risk(&app, &broker, "LOST-2").await;
    poll("the second text", async || {
        twilio
            .sent()
            .iter()
            .any(|s| s.body.contains("LOST-2"))
            .then_some(())
    })
    .await;
}

on_both!(lost_answer, a_text_whose_answer_was_lost_is_not_sent_twice);

/// Two instances on one PostgreSQL share the dispatching: every text goes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_text_once() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    // Forty texts in a minute would be a flood for a person: the limit is raised here.
    let (app, twilio) =
        spawn_with(Backend::Postgres, |c| c.notifications.sms_per_hour = 1_000).await;
    let sibling = app.spawn_sibling().await;
    let broker = app.signup("broker@example.com", "broker").await;
    verify_phone(&app, &twilio, &broker, CARRIER_PHONE).await;
    let events: Vec<_> = (0..40)
        .map(|i| late_risk_event(&broker, &format!("T{i}")))
        .collect();
    let (published, error) = app.app().bus().publish_batch(&events).await;
    assert_eq!(published, events.len(), "{error:?}");
    let texts = poll("forty texts", async || {
        let t: Vec<_> = twilio
            .sent()
            .into_iter()
            .filter(|s| s.body.contains("may be late"))
            .collect();
        (t.len() >= 40).then_some(t)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut bodies: Vec<String> = twilio
        .sent()
        .into_iter()
        .filter(|s| s.body.contains("may be late"))
        .map(|s| s.body)
        .collect();
    assert_eq!(bodies.len(), texts.len());
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 40, "a text went twice");
    drop(sibling);
}

/// Texts received are kept whole `notifications.inbound_text_retention_days`: the job
/// empties an old text's number and words, keeping its id and outcome (a late retry of it
/// is still a repeat); a recent text keeps everything.
async fn texts_received_past_their_retention_are_emptied(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let old_sid = "SM00000000000000000000000000000091";
    let new_sid = "SM00000000000000000000000000000092";
    for sid in [old_sid, new_sid] {
        let (status, _) = reply(&twilio, &app, sid, "HELP").await;
        assert_eq!(status, 200);
    }
    let db = app.app().db("notifications").unwrap();
    lanerunner_platform::on_db!(&db, |p| sqlx::query(
        "UPDATE nt_inbound SET received_at = $2 WHERE message_sid = $1"
    )
    .bind(old_sid)
    .bind(chrono::Utc::now() - chrono::Duration::days(91))
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let notifications = app
        .app()
        .typed::<lanerunner_notifications::NotificationsService>()
        .expect("notifications run");
    let cutoff = chrono::Utc::now() - chrono::Duration::days(90);
    let n = notifications.notifications();
    assert_eq!(n.purge_inbound_texts(cutoff).await.unwrap(), 1);
    assert_eq!(n.purge_inbound_texts(cutoff).await.unwrap(), 0);
    let rows: Vec<(String, String, String, String)> = lanerunner_platform::on_db!(&db, |p| {
        sqlx::query_as(
            "SELECT message_sid, phone_index, body, outcome FROM nt_inbound ORDER BY message_sid",
        )
        .fetch_all(p)
        .await
    })
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (old, new) = (&rows[0], &rows[1]);
    assert_eq!((old.1.as_str(), old.2.as_str()), ("", ""), "{old:?}");
    assert_eq!(old.3, new.3, "the outcome stays");
    assert!(new.1.starts_with("bi1."), "kept by its index: {new:?}");
    assert_eq!(new.2, "HELP", "{new:?}");
    // The provider retrying the old text: still recognised, nothing recorded again.
    let (status, _) = reply(&twilio, &app, old_sid, "HELP").await;
    assert_eq!(status, 200);
    let count: i64 = lanerunner_platform::on_db!(&db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM nt_inbound"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(count, 2);
}
on_both!(
    texts_received_past_their_retention,
    texts_received_past_their_retention_are_emptied
);

/// PCI: a card number texted in (a form body, which the gateway's check of JSON bodies
/// does not see) is kept as its last four digits only; the last four are not read as a
/// code, so the carrier is told the text was not understood.
async fn a_card_number_texted_in_keeps_only_its_last_four(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    let sid = "SM00000000000000000000000000000093";
    let (status, twiml) = reply(&twilio, &app, sid, "card 4111 1111 1111 1111 exp 12/29").await;
    assert_eq!(status, 200);
    assert!(
        twiml.contains(lanerunner_notifications::sms::UNKNOWN_TEXT),
        "{twiml}"
    );
    let db = app.app().db("notifications").unwrap();
    let body: String = lanerunner_platform::on_db!(&db, |p| sqlx::query_scalar(
        "SELECT body FROM nt_inbound WHERE message_sid = $1"
    )
    .bind(sid)
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(body, "card [card ••••1111] exp 12/29");
}
on_both!(
    card_number_texted_in,
    a_card_number_texted_in_keeps_only_its_last_four
);

/// Every column of the tables that hold phone numbers, as text.
async fn phone_columns(db: &lanerunner_platform::Db) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (table, columns) in [
        (
            "nt_settings",
            "user_id, phone, phone_index, pending_phone, pending_phone_index",
        ),
        (
            "nt_sms_consent",
            "phone_index, keyword, keyword, keyword, keyword",
        ),
        (
            "nt_inbound",
            "message_sid, phone_index, body, outcome, outcome",
        ),
        ("nt_reply_codes", "phone_index, code, code, code, code"),
    ] {
        let sql = format!("SELECT {columns} FROM {table}");
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = if table == "nt_settings" {
            let rows: Vec<(
                uuid::Uuid,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            )> = lanerunner_platform::on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await)
                .unwrap();
            rows.into_iter()
                .map(|(u, a, b, c, d)| (u.to_string(), a, b, c, d))
                .collect()
        } else {
            lanerunner_platform::on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await).unwrap()
        };
        for r in rows {
            for v in [Some(r.0), r.1, r.2, r.3, r.4].into_iter().flatten() {
                out.push((table.to_string(), v));
            }
        }
    }
    out
}

/// Phone numbers at rest: a verified number is sealed, and the number a text comes from is
/// matched through its blind index — its STOP honoured, its reply code taken — without any
/// table holding it readable. Numbers a previous version stored readable are sealed and
/// indexed, and go on working (the later of two consents kept).
async fn numbers_are_sealed_at_rest_and_matched_by_their_index(backend: Backend) {
    let (app, twilio) = spawn(backend).await;
    // An offer texted with a reply code, then taken by replying from the number.
    let TextedOffer { carrier, code, .. } = texted_offer(&app, &twilio, "P1").await;
    let other = app.signup("other@carrier.example", "carrier").await;
    let (_, help) = reply(&twilio, &app, "SM20000000000000000000000000000001", "HELP").await;
    assert!(help.contains("Reply STOP"), "{help}");

    let db = app.app().db("notifications").unwrap();
    let digits = "4155550100";
    let stored = phone_columns(&db).await;
    let readable: Vec<_> = stored.iter().filter(|(_, v)| v.contains(digits)).collect();
    assert!(
        readable.is_empty(),
        "a number readable at rest: {readable:?}"
    );
    let indexes: std::collections::HashSet<&str> = stored
        .iter()
        .filter(|(_, v)| v.starts_with("bi1."))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        indexes.len(),
        1,
        "one number, one index everywhere: {stored:?}"
    );
    assert!(
        stored
            .iter()
            .any(|(t, v)| t == "nt_settings" && v.starts_with("lre1.")),
        "{stored:?}"
    );
    assert!(stored
        .iter()
        .any(|(t, v)| t == "nt_reply_codes" && v.starts_with("bi1.")));
    assert!(stored
        .iter()
        .any(|(t, v)| t == "nt_inbound" && v.starts_with("bi1.")));

    // The member sees their number; the code texted to it takes the offer.
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["phone"], CARRIER_PHONE);
    let (_, taken) = reply(
        &twilio,
        &app,
        "SM20000000000000000000000000000002",
        &format!("YES {code}"),
    )
    .await;
    assert!(taken.contains("booked at $2,400.00"), "{taken}");

    // STOP from the number: honoured for the member.
    let (_, stop) = reply(&twilio, &app, "SM20000000000000000000000000000003", "STOP").await;
    assert!(stop.ends_with("<Response></Response>"), "{stop}");
    let p = json_of(
        app.get("/v1/notifications/preferences", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["sms_opted_out"], true);

    // What a previous version stored readable: another member's verified number and its
    // STOP, and an older START of the carrier's number (the newer STOP must win).
    let legacy = "+14155550111";
    let other_id = uuid::Uuid::parse_str(&other.user_id).unwrap();
    let org = uuid::Uuid::parse_str(&other.org_id).unwrap();
    let now = chrono::Utc::now();
    lanerunner_platform::on_db!(&db, |p| {
        sqlx::query(
            "INSERT INTO nt_settings (user_id, org_id, time_zone, digest_minutes, phone, phone_verified_at, updated_at) \
             VALUES ($1, $2, 'America/Chicago', 60, $3, $4, $4)",
        )
        .bind(other_id)
        .bind(org)
        .bind(legacy)
        .bind(now)
        .execute(p)
        .await
        .unwrap();
        for (number, out, keyword, at) in [
            (legacy, true, "STOP", now),
            (
                CARRIER_PHONE,
                false,
                "START",
                now - chrono::Duration::days(1),
            ),
        ] {
            sqlx::query(
                "INSERT INTO nt_sms_consent (phone_index, opted_out, keyword, changed_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(number)
            .bind(out)
            .bind(keyword)
            .bind(at)
            .execute(p)
            .await
            .unwrap();
        }
    });
    let notifications = app
        .app()
        .typed::<lanerunner_notifications::NotificationsService>()
        .expect("notifications run");
    assert_eq!(
        notifications
            .notifications()
            .seal_stored_numbers()
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        notifications
            .notifications()
            .seal_stored_numbers()
            .await
            .unwrap(),
        0
    );
    let stored = phone_columns(&db).await;
    let readable: Vec<_> = stored
        .iter()
        .filter(|(_, v)| v.contains(digits) || v.contains("4155550111"))
        .collect();
    assert!(readable.is_empty(), "still readable: {readable:?}");
    let consents = stored
        .iter()
        .filter(|(t, v)| t == "nt_sms_consent" && v.starts_with("bi1."))
        .count();
    assert_eq!(consents, 2, "one consent per number: {stored:?}");
    for (who, number) in [(&other, legacy), (&carrier, CARRIER_PHONE)] {
        let p = json_of(
            app.get("/v1/notifications/preferences", Some(&who.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(p["phone"], number);
        assert_eq!(p["sms_opted_out"], true, "{number}'s STOP kept");
    }
}
on_both!(
    numbers_at_rest,
    numbers_are_sealed_at_rest_and_matched_by_their_index
);
