//! The chat service over real HTTP and the realtime socket, on SQLite, on PostgreSQL and on
//! the full stack: a carrier and a broker talk about a load, only participants see a
//! conversation (every route), unread counts and read receipts follow the read marks,
//! history pages back, messages arrive live (direct ones only to their members), and
//! negotiation moves appear in the load's conversation once each.

use std::time::Duration;

use futures::StreamExt;
use lanerunner::both_backends;
use lanerunner::testing::{dallas_atlanta_load, expect_problem, json_of, Account, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(app: &TestApp, who: &Account) -> Socket {
    let url = format!(
        "ws://{}/v1/realtime?access_token={}",
        app.address, who.access
    );
    let (mut s, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(next_of(&mut s, "ready", 10).await.unwrap()["type"], "ready");
    s
}

/// The next message of `kind` within `secs`, skipping others; `None` if none came.
async fn next_of(s: &mut Socket, kind: &str, secs: u64) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, s.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return Some(v);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket closed: {other:?}"),
        }
    }
}

/// The next `chat.message.v1` carrying a negotiation move, skipping text messages.
async fn negotiation_message(s: &mut Socket, secs: u64) -> Option<Value> {
    loop {
        let m = next_of(s, "chat.message.v1", secs).await?;
        if m["payload"]["message"]["kind"] == "negotiation" {
            return Some(m);
        }
    }
}

async fn post(app: &TestApp, path: &str, who: &Account, body: Value) -> reqwest::Response {
    app.post_json(path, &body, Some(&who.access)).await
}

/// Starts a conversation about `load`, waiting for the load to reach the chat service.
async fn start_about(app: &TestApp, who: &Account, body: Value) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = post(app, "/v1/chat/conversations", who, body.clone()).await;
        if res.status() != StatusCode::NOT_FOUND || tokio::time::Instant::now() > deadline {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn conversation(app: &TestApp, who: &Account, id: &str) -> Value {
    json_of(
        app.get(&format!("/v1/chat/conversations/{id}"), Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await
}

async fn unread(app: &TestApp, who: &Account, id: &str) -> i64 {
    conversation(app, who, id).await["unread"].as_i64().unwrap()
}

both_backends!(
    async fn a_carrier_and_a_broker_talk_about_a_load(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let colleague = app
            .invite_and_join(&broker, "b2@example.com", "dispatcher")
            .await;
        let viewer = app
            .invite_and_join(&broker, "bv@example.com", "viewer")
            .await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let rival = app.signup("c2@example.com", "carrier").await;
        let other_broker = app.signup("x@example.com", "broker").await;
        let load =
            lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("CH", 250_000)).await;
        let mut private = dallas_atlanta_load("CP", 250_000);
        private["visibility"] = json!("private");
        let private = lanerunner::testing::posted(&app, &broker, &private).await;

        // The carrier starts talking about the public load; asking again returns the same.
        let c = json_of(
            start_about(&app, &carrier, json!({"load_id": load})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = c["id"].as_str().unwrap().to_string();
        assert_eq!(
            (c["kind"].as_str(), c["title"].as_str()),
            (Some("load"), Some("Dallas, TX → Atlanta, GA"))
        );
        let again = json_of(
            post(
                &app,
                "/v1/chat/conversations",
                &carrier,
                json!({"load_id": load}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again["id"], c["id"]);
        // A private load is not there for a carrier to start on, until the broker starts.
        expect_problem(
            start_about(&app, &carrier, json!({"load_id": private})).await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            post(
                &app,
                "/v1/chat/conversations",
                &other_broker,
                json!({"load_id": load, "carrier_org_id": carrier.org_id}),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            post(
                &app,
                "/v1/chat/conversations",
                &broker,
                json!({"load_id": private}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            post(
                &app,
                "/v1/chat/conversations",
                &broker,
                json!({"load_id": load, "member_ids": []}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let p = json_of(
            post(
                &app,
                "/v1/chat/conversations",
                &broker,
                json!({"load_id": private, "carrier_org_id": carrier.org_id}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        conversation(&app, &carrier, p["id"].as_str().unwrap()).await;

        // Messages, and what is refused (nothing recorded).
        let msgs = format!("/v1/chat/conversations/{id}/messages");
        let m = json_of(
            post(
                &app,
                &msgs,
                &carrier,
                json!({"text": "  Still available?  "}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (m["seq"].as_i64(), m["text"].as_str(), m["kind"].as_str()),
            (Some(1), Some("Still available?"), Some("text"))
        );
        let mut live = socket(&app, &carrier).await;
        let mut rival_live = socket(&app, &rival).await;
        json_of(
            post(
                &app,
                &msgs,
                &broker,
                json!({"text": "Yes — 42k lbs of paper.\nDock 4."}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        // (The carrier's own first message may be heard first.)
        let heard = loop {
            let m = next_of(&mut live, "chat.message.v1", 10)
                .await
                .expect("the carrier hears the reply live");
            if m["payload"]["message"]["seq"] == 2 {
                break m;
            }
        };
        assert_eq!(
            heard["payload"]["message"]["author_user_id"].as_str(),
            Some(broker.user_id.as_str())
        );
        assert!(next_of(&mut rival_live, "chat.message.v1", 1)
            .await
            .is_none());
        for bad in [
            json!({}),
            json!({"text": "   "}),
            json!({"text": "x".repeat(4001)}),
            json!({"text": "bell\u{7}"}),
        ] {
            expect_problem(post(&app, &msgs, &carrier, bad).await, 422, "validation").await;
        }
        expect_problem(
            post(&app, &msgs, &viewer, json!({"text": "hi"})).await,
            403,
            "forbidden",
        )
        .await;
        assert_eq!(conversation(&app, &viewer, &id).await["last_seq"], 2);

        // Only participants, on every route.
        for outsider in [&rival, &other_broker] {
            expect_problem(
                app.get(
                    &format!("/v1/chat/conversations/{id}"),
                    Some(&outsider.access),
                )
                .await,
                404,
                "not-found",
            )
            .await;
            expect_problem(
                app.get(&msgs, Some(&outsider.access)).await,
                404,
                "not-found",
            )
            .await;
            expect_problem(
                post(&app, &msgs, outsider, json!({"text": "hello"})).await,
                404,
                "not-found",
            )
            .await;
            expect_problem(
                post(
                    &app,
                    &format!("/v1/chat/conversations/{id}/read"),
                    outsider,
                    json!({"seq": 1}),
                )
                .await,
                404,
                "not-found",
            )
            .await;
            let listed = json_of(
                app.get("/v1/chat/conversations", Some(&outsider.access))
                    .await,
                StatusCode::OK,
            )
            .await;
            assert!(!listed.to_string().contains(&id), "{listed}");
        }

        // Unread counts and read receipts.
        assert_eq!(
            (
                unread(&app, &broker, &id).await,
                unread(&app, &colleague, &id).await,
                unread(&app, &carrier, &id).await
            ),
            (1, 2, 1)
        );
        let read = format!("/v1/chat/conversations/{id}/read");
        expect_problem(
            post(&app, &read, &broker, json!({"seq": 3})).await,
            422,
            "validation",
        )
        .await;
        let r = json_of(
            post(&app, &read, &broker, json!({"seq": 2})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(r["last_read_seq"], 2);
        let receipt = next_of(&mut live, "chat.read.v1", 10)
            .await
            .expect("the carrier sees the receipt live");
        assert_eq!(
            receipt["payload"]["receipt"]["user_id"].as_str(),
            Some(broker.user_id.as_str())
        );
        let back = json_of(
            post(&app, &read, &broker, json!({"seq": 1})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(back["last_read_seq"], 2, "a read mark never moves back");
        assert_eq!(unread(&app, &broker, &id).await, 0);
        let seen = conversation(&app, &carrier, &id).await;
        assert_eq!(seen["receipts"][0]["last_read_seq"], 2, "{seen}");

        // History pages back, newest first.
        for i in 3..=7 {
            json_of(
                post(
                    &app,
                    &msgs,
                    &carrier,
                    json!({"text": format!("message {i}")}),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
        }
        let page = json_of(
            app.get(&format!("{msgs}?limit=3"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let seqs: Vec<i64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(
            (seqs, page["next_before"].as_i64()),
            (vec![7, 6, 5], Some(5))
        );
        let page = json_of(
            app.get(&format!("{msgs}?limit=3&before=2"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (
                page["messages"].as_array().unwrap().len(),
                page["next_before"].is_null()
            ),
            (1, true)
        );
        expect_problem(
            app.get(&format!("{msgs}?limit=0"), Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.get(&format!("{msgs}?before=0"), Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(unread(&app, &broker, &id).await, 5);

        // A negotiation move on the load appears in its conversation, once.
        let n = json_of(
            post(
                &app,
                "/v1/negotiations",
                &carrier,
                json!({"load_id": load, "text": "can you do 2600?"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let offered = negotiation_message(&mut live, 10)
            .await
            .expect("the offer appears live");
        let shown = &offered["payload"]["message"];
        assert_eq!(
            (shown["kind"].as_str(), shown["text"].as_str()),
            (Some("negotiation"), Some("can you do 2600?"))
        );
        assert_eq!(shown["negotiation"]["negotiation_id"], n["id"]);
        assert_eq!(
            shown["negotiation"]["event"]["offer"]["rate_cents"],
            260_000
        );
        assert!(
            negotiation_message(&mut live, 2).await.is_none(),
            "shown twice"
        );
        assert_eq!(conversation(&app, &broker, &id).await["last_seq"], 8);
    }

    async fn direct_conversations_reach_only_their_members(app: TestApp) {
        let owner = app.signup("o@example.com", "broker").await;
        let member = app
            .invite_and_join(&owner, "m@example.com", "dispatcher")
            .await;
        let bystander = app
            .invite_and_join(&owner, "by@example.com", "dispatcher")
            .await;
        let stranger = app.signup("s@example.com", "broker").await;
        expect_problem(
            post(
                &app,
                "/v1/chat/conversations",
                &owner,
                json!({"member_ids": [owner.user_id]}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            post(
                &app,
                "/v1/chat/conversations",
                &owner,
                json!({"member_ids": [member.user_id], "title": "a\u{0}b"}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let c = json_of(
            post(
                &app,
                "/v1/chat/conversations",
                &owner,
                json!({"member_ids": [member.user_id, member.user_id], "title": "Night desk"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = c["id"].as_str().unwrap().to_string();
        assert_eq!(c["member_ids"].as_array().unwrap().len(), 2);
        let mut member_live = socket(&app, &member).await;
        let mut bystander_live = socket(&app, &bystander).await;
        let msgs = format!("/v1/chat/conversations/{id}/messages");
        json_of(
            post(
                &app,
                &msgs,
                &owner,
                json!({"text": "Cover the Laredo loads tonight?"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let heard = next_of(&mut member_live, "chat.message.v1", 10)
            .await
            .expect("the member hears it");
        assert_eq!(
            heard["payload"]["message"]["text"],
            "Cover the Laredo loads tonight?"
        );
        assert!(
            next_of(&mut bystander_live, "chat.message.v1", 1)
                .await
                .is_none(),
            "a bystander heard a direct message"
        );
        for outsider in [&bystander, &stranger] {
            expect_problem(
                app.get(
                    &format!("/v1/chat/conversations/{id}"),
                    Some(&outsider.access),
                )
                .await,
                404,
                "not-found",
            )
            .await;
            expect_problem(
                app.get(&msgs, Some(&outsider.access)).await,
                404,
                "not-found",
            )
            .await;
            expect_problem(
                post(&app, &msgs, outsider, json!({"text": "me too"})).await,
                404,
                "not-found",
            )
            .await;
        }
        assert_eq!(unread(&app, &member, &id).await, 1);
        let listed = json_of(
            app.get("/v1/chat/conversations", Some(&member.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed[0]["unread"], 1);
    }
);

both_backends!(
    /// PCI: a card number pasted into a message is masked to its last four digits before it
    /// is stored, answered or listed; a message without one is kept exactly.
    async fn a_card_number_pasted_into_a_message_is_never_stored(app: TestApp) {
        let broker = app.signup("pan-b@example.com", "broker").await;
        let carrier = app.signup("pan-c@example.com", "carrier").await;
        let load =
            lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("PAN", 250_000)).await;
        let c = json_of(
            start_about(&app, &carrier, json!({"load_id": load})).await,
            StatusCode::CREATED,
        )
        .await;
        let msgs = format!(
            "/v1/chat/conversations/{}/messages",
            c["id"].as_str().unwrap()
        );
        for (sent, kept) in [
            (
                "my card is 4242 4242 4242 4242 exp 12/29",
                "my card is [card ••••4242] exp 12/29",
            ),
            ("or 5555-5555-5555-4444", "or [card ••••4444]"),
            ("378282246310005", "[card ••••0005]"),
            (
                "MC 123456 — call 415-555-0142",
                "MC 123456 — call 415-555-0142",
            ),
        ] {
            let m = json_of(
                post(&app, &msgs, &carrier, json!({ "text": sent })).await,
                StatusCode::CREATED,
            )
            .await;
            assert_eq!(m["text"], kept);
        }
        let listed = json_of(app.get(&msgs, Some(&broker.access)).await, StatusCode::OK).await;
        let all = listed.to_string();
        for number in ["4242 4242", "5555-5555", "378282246"] {
            assert!(!all.contains(number), "{all}");
        }
    }
);
