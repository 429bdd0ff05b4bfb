//! The Messages client against the stand-in over real HTTP: an SMS is queued and its status
//! callbacks arrive signed (and verify only with the right token); Twilio's refusals come
//! back as its error codes, told apart as permanent or not; Verify sends a code and checks it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Form, Router};
use lanerunner_twilio::testing::TwilioStandIn;
use lanerunner_twilio::{verify, MessagesClient, SendSms, TwilioError, SIGNATURE_HEADER};

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "a-test-auth-token-of-32-chars-xx";

type Seen = Arc<Mutex<Vec<(Vec<(String, String)>, bool)>>>;

/// A status-callback endpoint that checks each request's signature.
async fn callbacks() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms/status", listener.local_addr().unwrap());
    let (u, s) = (url.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/sms/status",
            post(
                move |State(seen): State<Seen>,
                      headers: HeaderMap,
                      Form(form): Form<Vec<(String, String)>>| async move {
                    let given = headers
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let ok = verify(TOKEN, &u, &form, given);
                    seen.lock().unwrap().push((form, ok));
                    ""
                },
            ),
        )
        .with_state(s);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn an_sms_is_queued_and_its_statuses_come_back_signed() {
    let twilio = TwilioStandIn::start(SID, TOKEN).await.unwrap();
    let client = MessagesClient::new(&twilio.base_url, SID, TOKEN, Duration::from_secs(5)).unwrap();
    let (callback, seen) = callbacks().await;
    let sms = SendSms {
        to: "+14155550101".into(),
        from: Some("+14155550100".into()),
        body: "Load 4821 Dallas → Atlanta, $2,100. Reply YES 4821 to take it.".into(),
        status_callback: Some(callback),
        ..Default::default()
    };
    let message = client.send(&sms).await.unwrap();
    assert!(message.sid.starts_with("SM") && message.sid.len() == 34);
    assert_eq!(message.status, "queued");
    assert_eq!(client.fetch(&message.sid).await.unwrap().sid, message.sid);
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let statuses: Vec<&str> = seen
        .iter()
        .map(|(f, _)| {
            f.iter()
                .find(|(k, _)| k == "MessageStatus")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert_eq!(statuses, ["sent", "delivered"]);
    assert!(
        seen.iter().all(|(_, ok)| *ok),
        "every callback verifies with the account's token"
    );
    assert!(!verify(
        "another-token",
        "http://x/",
        &seen[0].0,
        "whatever"
    ));
}

#[tokio::test]
async fn twilios_refusals_keep_their_codes() {
    let twilio = TwilioStandIn::start(SID, TOKEN).await.unwrap();
    let client = MessagesClient::new(&twilio.base_url, SID, TOKEN, Duration::from_secs(5)).unwrap();
    let send = |to: &str| SendSms {
        to: to.into(),
        from: Some("+14155550100".into()),
        body: "hi".into(),
        ..Default::default()
    };

    let invalid = client.send(&send("555-0101")).await.unwrap_err();
    assert_eq!(invalid.code(), Some(21211));
    assert!(invalid.is_permanent());

    twilio.opt_out("+14155550102");
    let stopped = client.send(&send("+14155550102")).await.unwrap_err();
    assert_eq!(stopped.code(), Some(21610));
    assert!(stopped.is_permanent());

    let wrong =
        MessagesClient::new(&twilio.base_url, SID, "wrong-token", Duration::from_secs(5)).unwrap();
    let denied = wrong.send(&send("+14155550101")).await.unwrap_err();
    assert!(
        matches!(
            denied,
            TwilioError::Api {
                status: 401,
                code: Some(20003),
                ..
            }
        ),
        "{denied:?}"
    );

    let down =
        MessagesClient::new("http://127.0.0.1:9", SID, TOKEN, Duration::from_secs(2)).unwrap();
    let unreachable = down.send(&send("+14155550101")).await.unwrap_err();
    assert!(matches!(unreachable, TwilioError::Transport(_)) && !unreachable.is_permanent());
    assert_eq!(twilio.sent().len(), 0);
}

/// A send whose answer comes after the client's timeout fails as a transport error, yet
/// the message was taken: the Message list shows it (newest first, only that number's).
#[tokio::test]
async fn a_message_whose_answer_was_lost_is_in_the_list() {
    let twilio = TwilioStandIn::start(SID, TOKEN).await.unwrap();
    let client =
        MessagesClient::new(&twilio.base_url, SID, TOKEN, Duration::from_millis(200)).unwrap();
    let send = |to: &str, body: &str| SendSms {
        to: to.into(),
        from: Some("+14155550100".into()),
        body: body.into(),
        ..Default::default()
    };
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    client.send(&send("+14155550101", "first")).await.unwrap();
    client
        .send(&send("+14155550199", "elsewhere"))
        .await
        .unwrap();
    twilio.stall_answers(1, Duration::from_secs(1));
    let lost = client
        .send(&send("+14155550101", "second"))
        .await
        .unwrap_err();
    assert!(matches!(lost, TwilioError::Transport(_)), "{lost:?}");

    let recent = client
        .sent_to_since("+14155550101", before, 50, 5)
        .await
        .unwrap();
    let bodies: Vec<_> = recent.iter().map(|m| m.body.clone().unwrap()).collect();
    assert_eq!(bodies, ["second", "first"]);
    // One to a page: the pages are followed to the end.
    let paged = client
        .sent_to_since("+14155550101", before, 1, 5)
        .await
        .unwrap();
    assert_eq!(paged.len(), 2);
    // Nothing to that number since a moment from now.
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert!(client
        .sent_to_since("+14155550101", later, 50, 5)
        .await
        .unwrap()
        .is_empty());
    let denied = MessagesClient::new(&twilio.base_url, SID, "wrong", Duration::from_secs(2))
        .unwrap()
        .sent_to_since("+14155550101", before, 50, 5)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some(20003));
}

/// Verify: a code goes to the number; a wrong code leaves it pending, the right one
/// approves it once; five wrong tries end it (60202); a number never sent a code is 404.
#[tokio::test]
async fn verify_sends_a_code_and_checks_it() {
    let twilio = TwilioStandIn::start(SID, TOKEN).await.unwrap();
    let verify = lanerunner_twilio::VerifyClient::new(
        &twilio.base_url,
        "VA00000000000000000000000000000000",
        SID,
        TOKEN,
        Duration::from_secs(5),
    )
    .unwrap();
    let to = "+14155550100";
    assert_eq!(verify.start(to).await.unwrap().status, "pending");
    let code = twilio.verification_code(to).unwrap();
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(!verify.check(to, wrong).await.unwrap().approved());
    assert!(verify.check(to, &code).await.unwrap().approved());
    let gone = verify.check(to, &code).await.unwrap_err();
    assert!(
        matches!(gone, TwilioError::Api { status: 404, .. }),
        "{gone:?}"
    );
    verify.start(to).await.unwrap();
    for _ in 0..4 {
        verify.check(to, wrong).await.unwrap();
    }
    let spent = verify.check(to, wrong).await.unwrap_err();
    assert_eq!(spent.code(), Some(60202));
    let forged = lanerunner_twilio::VerifyClient::new(
        &twilio.base_url,
        "VA0",
        SID,
        "wrong-token",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(forged.start(to).await.unwrap_err().code(), Some(20003));
}
