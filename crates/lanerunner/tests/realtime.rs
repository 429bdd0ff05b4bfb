//! The realtime WebSocket: a client hears its organization's events as they happen, never
//! another organization's, on either backend; and with two instances on PostgreSQL +
//! RabbitMQ + Redis, a client connected to B hears what happened through A.

use std::time::Duration;

use futures::StreamExt;
use lanerunner::both_backends;
use lanerunner::testing::{Account, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(app: &TestApp, who: &Account) -> Socket {
    let url = format!(
        "ws://{}/v1/realtime?access_token={}",
        app.address, who.access
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the WebSocket opens");
    assert_eq!(next_json(&mut socket).await["type"], "ready");
    socket
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a good frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next message of `kind`, skipping others (a load's creation also says `load.created`
/// to nobody, but posting says both `load.status_changed` and `load.posted`).
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let m = next_json(socket).await;
        if m["type"] == kind {
            return m;
        }
    }
}

async fn nothing(socket: &mut Socket) {
    match tokio::time::timeout(Duration::from_millis(700), socket.next()).await {
        Err(_) => {}
        Ok(Some(Ok(Message::Ping(_)))) => {}
        Ok(other) => panic!("expected silence, got {other:?}"),
    }
}

fn load() -> Value {
    let day = |d: i64, h: u32| {
        format!(
            "{}T{h:02}:00:00",
            (chrono::Utc::now().date_naive() + chrono::Duration::days(d)).format("%Y-%m-%d")
        )
    };
    json!({"reference": "RT-1", "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
        "stops": [{"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": day(3, 8), "end": day(3, 14)}},
                  {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": day(5, 9)}]})
}

async fn post_a_load(app: &TestApp, who: &Account) -> String {
    let res = app.post_json("/v1/loads", &load(), Some(&who.access)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post_json(
            &format!("/v1/loads/{id}/post"),
            &json!({}),
            Some(&who.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    id
}

both_backends!(
    async fn a_client_hears_its_organization_s_events_and_no_one_else_s(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let rival = app.signup("r@example.com", "broker").await;
        let mut mine = open(&app, &broker).await;
        let mut theirs = open(&app, &rival).await;
        let id = post_a_load(&app, &broker).await;
        let m = next_of(&mut mine, "load.status_changed.v1").await;
        assert_eq!(m["aggregate_id"], id.as_str());
        assert_eq!(m["payload"]["from"], "draft");
        assert_eq!(m["payload"]["to"], "posted");
        assert!(m["id"].is_string() && m["occurred_at"].is_string());
        // A public load's posting is board news: every organization hears that, and only
        // that (not the broker's status changes).
        let board = next_of(&mut theirs, "load.posted.v1").await;
        assert_eq!(board["aggregate_id"], id.as_str());
        assert!(board["payload"]["max_rate_cents"].is_null(), "{board}");
        nothing(&mut theirs).await;
        // A private posting is the broker's own.
        let mut private = load();
        private["visibility"] = json!("private");
        let res = app
            .post_json("/v1/loads", &private, Some(&broker.access))
            .await;
        let private_id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = app
            .post_json(
                &format!("/v1/loads/{private_id}/post"),
                &json!({}),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let m = next_of(&mut mine, "load.posted.v1").await;
        assert!(m["aggregate_id"] == id.as_str() || m["aggregate_id"] == private_id.as_str());
        nothing(&mut theirs).await;
        // A private load leaving the board is not news to anyone else either.
        let res = app
            .post_json(
                &format!("/v1/loads/{private_id}/unpost"),
                &json!({}),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        nothing(&mut theirs).await;
        // A public one leaving it is: its id and new status, not who or why.
        let res = app
            .post_json(
                &format!("/v1/loads/{id}/cancel"),
                &json!({"reason": "shipper moved the freight by rail"}),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let gone = next_of(&mut theirs, "board.load_removed").await;
        assert_eq!(
            gone["payload"],
            json!({"load_id": id, "status": "cancelled"})
        );
        assert!(!gone.to_string().contains("rail"), "{gone}");
        nothing(&mut theirs).await;
    }

    async fn a_socket_needs_a_valid_token(app: TestApp) {
        let url = format!("ws://{}/v1/realtime", app.address);
        let refused = tokio_tungstenite::connect_async(url)
            .await
            .expect_err("no token, no socket");
        match refused {
            tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
            other => panic!("expected an HTTP 401, got {other:?}"),
        }
        let url = format!("ws://{}/v1/realtime?access_token=forged", app.address);
        assert!(tokio_tungstenite::connect_async(url).await.is_err());
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_instance_b_hears_what_happened_through_instance_a() {
    let a = TestApp::spawn(Backend::FullStack).await;
    let b = a.spawn_sibling().await;
    let broker = a.signup("b@example.com", "broker").await;
    let mut on_b = open(&b, &broker).await;
    let id = post_a_load(&a, &broker).await;
    let m = next_of(&mut on_b, "load.posted.v1").await;
    assert_eq!(m["aggregate_id"], id.as_str());
    assert!(m["payload"].get("max_rate_cents").is_none());
    drop(on_b);
    drop(b);
}

both_backends!(
    async fn the_broker_and_the_carrier_watch_the_truck_live_and_no_one_else_does(app: TestApp) {
        let broker = app.signup("rt-trk-b@example.com", "broker").await;
        let carrier = app.signup("rt-trk-c@example.com", "carrier").await;
        let other = app.signup("rt-trk-o@example.com", "carrier").await;
        let id = lanerunner::testing::book(
            &app,
            &broker,
            &carrier,
            &lanerunner::testing::dallas_atlanta_load("RT-TRK", 230_000),
        )
        .await;
        lanerunner::testing::poll(&app, &format!("/v1/loads/{id}/tracking"), &carrier, |t| {
            t["status"] == "active"
        })
        .await;
        let link = lanerunner::testing::json_of(
            app.post_json(
                &format!("/v1/loads/{id}/tracking/links"),
                &json!({"kind": "driver"}),
                Some(&carrier.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let (mut b, mut c, mut o) = (
            open(&app, &broker).await,
            open(&app, &carrier).await,
            open(&app, &other).await,
        );
        let res = app
            .post_json(
                &format!(
                    "/v1/track/driver/{}/positions",
                    link["token"].as_str().unwrap()
                ),
                &json!({"lat": 32.5, "lon": -96.5}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        for socket in [&mut b, &mut c] {
            let m = next_of(socket, "tracking.updated.v1").await;
            assert_eq!(m["payload"]["load_id"], id.as_str());
            assert_eq!(m["payload"]["lat"], 32.5);
            assert_eq!(m["payload"]["next_stop"], "Dallas, TX");
            assert!(m["payload"]["eta"].is_string(), "{m}");
        }
        nothing(&mut o).await;
    }
);
