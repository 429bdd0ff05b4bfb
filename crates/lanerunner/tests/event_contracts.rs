//! Event contracts between services: every event the loads service publishes that another
//! service consumes is produced here through the API, taken off the bus as it was
//! published, and read with the consumer's own types. A field renamed or retyped on one side
//! fails here, not in production as a dead letter.

use std::collections::HashMap;
use std::time::Duration;

use lanerunner::testing::{at, json_of, Backend, TestApp};
use lanerunner_core::EventEnvelope;
use lanerunner_matching_service::events as consumed;
use lanerunner_platform::bus::Subscription;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Reads `event` as the consumer does, naming the event and the field that failed.
fn read_as<T: DeserializeOwned>(event: &EventEnvelope) -> T {
    serde_json::from_value(event.payload.clone()).unwrap_or_else(|e| {
        panic!(
            "{} does not read as the consumer's {}: {e}\n{}",
            event.event_type,
            std::any::type_name::<T>(),
            event.payload
        )
    })
}

/// Takes everything published until each of `topics` has been seen; the first of each.
async fn first_of_each(
    sub: &mut Box<dyn Subscription>,
    topics: &[String],
) -> HashMap<String, EventEnvelope> {
    let mut seen: HashMap<String, EventEnvelope> = HashMap::new();
    while !topics.iter().all(|t| seen.contains_key(t)) {
        let delivery = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap_or_else(|_| panic!("missing events; seen {:?}", seen.keys()))
            .expect("the bus is open");
        let event = delivery.event.clone();
        delivery.ack().await;
        seen.entry(event.event_type.to_string()).or_insert(event);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_publishes_matching_reads() {
    // The consumer follows exactly the topics the publisher declares.
    let published: Vec<String> = [
        lanerunner_loads::events::LOAD_POSTED,
        lanerunner_loads::events::LOAD_UPDATED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
        lanerunner_loads::events::TRUCK_POSTED,
        lanerunner_loads::events::TRUCK_REMOVED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    assert_eq!(consumed::consumed_topics(), published);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let bus = app.app().bus();
    let mut sub = bus
        .subscribe_broadcast(&["load.#", "truck.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-b@example.com", "broker").await;
    let carrier = app.signup("contract-c@example.com", "carrier").await;
    let load = json!({"reference": "EC-1", "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000,
        "commodity": "paper", "rate": {"kind": "all_in", "amount_cents": 250000},
        "stops": [{"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": at(3, 8), "end": at(3, 14)}},
                  {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": at(5, 9)}]});
    let created = json_of(
        app.post_json("/v1/loads", &load, Some(&broker.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let posted = app
        .post_json(
            &format!("/v1/loads/{id}/post"),
            &json!({}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(posted.status(), StatusCode::OK);
    let etag = posted.headers()["etag"].to_str().unwrap().to_owned();
    let mut changed = load.clone();
    changed["weight_lbs"] = json!(41000);
    let res = app
        .client
        .put(app.url(&format!("/v1/loads/{id}")))
        .bearer_auth(&broker.access)
        .header("if-match", etag)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "update: {}", res.status());
    let truck = json!({"equipment": "V", "trailer_length_ft": 53, "available_at": {"place": "Irving, TX"},
        "available_from": at(2, 6), "available_until": at(4, 18), "max_deadhead_miles": 150});
    let posted = json_of(
        app.post_json("/v1/trucks", &truck, Some(&carrier.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let truck_id = posted["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/v1/trucks/{truck_id}"), Some(&carrier.access))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    let seen = first_of_each(&mut sub, &published).await;

    let terms: consumed::LoadTerms = read_as(&seen["load.posted.v1"]);
    assert_eq!(terms.id.to_string(), id);
    assert_eq!(terms.all_in_rate_cents, Some(250_000));
    let updated: consumed::LoadUpdated = read_as(&seen["load.updated.v1"]);
    assert_eq!(updated.load.weight_lbs, 41_000);
    let status: consumed::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    assert_eq!(status.load_id.to_string(), id);
    let truck: consumed::TruckPosting = read_as(&seen["truck.posted.v1"]);
    assert_eq!(truck.id.to_string(), truck_id);
    let removed: consumed::TruckRemoved = read_as(&seen["truck.removed.v1"]);
    assert_eq!(removed.truck_id.to_string(), truck_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_publishes_analytics_reads() {
    use lanerunner_analytics::events as analytics;
    let publisher: Vec<String> = [
        lanerunner_loads::events::LOAD_BOOKED,
        lanerunner_loads::events::LOAD_POSTED,
        lanerunner_loads::events::TRUCK_POSTED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    assert_eq!(analytics::consumed_topics(), publisher);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.#", "truck.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-b@example.com", "broker").await;
    let carrier = app.signup("contract-c@example.com", "carrier").await;
    let load = json!({"reference": "EC-2", "equipment": "R", "trailer_length_ft": 53, "weight_lbs": 38000,
        "commodity": "produce", "temperature_f": {"min_f": 34, "max_f": 38}, "rate": {"kind": "all_in", "amount_cents": 310000},
        "stops": [{"kind": "pickup", "location": {"place": "Fresno, CA"}, "window": {"start": at(2, 8), "end": at(2, 12)}},
                  {"kind": "delivery", "location": {"place": "Denver, CO"}, "appointment": at(4, 9)}]});
    let created = json_of(
        app.post_json("/v1/loads", &load, Some(&broker.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("post", json!({})),
        (
            "status",
            json!({"event": "cover", "booking": {"carrier_org_id": carrier.org_id, "rate_cents": 300000}}),
        ),
    ] {
        let res = app
            .post_json(
                &format!("/v1/loads/{id}/{path}"),
                &body,
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let truck = json!({"equipment": "R", "trailer_length_ft": 53, "available_at": {"place": "Fresno, CA"},
        "available_from": at(1, 6), "available_until": at(3, 18), "max_deadhead_miles": 150});
    let res = app
        .post_json("/v1/trucks", &truck, Some(&carrier.access))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let seen = first_of_each(&mut sub, &publisher).await;
    let booked: analytics::Booked = read_as(&seen["load.booked.v1"]);
    assert_eq!(
        (booked.load_id.to_string(), booked.rate_cents),
        (id.clone(), 300_000)
    );
    assert!(
        booked.load.lane.is_some(),
        "a booked load names its lane's markets"
    );
    let posted: analytics::LoadTerms = read_as(&seen["load.posted.v1"]);
    assert_eq!(
        (posted.all_in_rate_cents, posted.equipment.as_str()),
        (Some(310_000), "R")
    );
    assert!(
        posted.lane.is_some(),
        "a posted load names its lane's markets"
    );
    let status: analytics::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    assert_eq!(status.load_id.to_string(), id);
    let truck: analytics::TruckPosted = read_as(&seen["truck.posted.v1"]);
    assert_eq!(truck.equipment, "R");
    // And each reads into a market record without a quarantine reason.
    let places = lanerunner_analytics::ingest::Places::embedded();
    for t in &publisher[..3] {
        let r = lanerunner_analytics::ingest::read(&seen[t], &places, chrono::Utc::now());
        assert!(matches!(r, Ok(Some(_))), "{t}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_analytics_publishes_ml_reads() {
    use lanerunner_analytics::events as analytics;
    use lanerunner_ml::events::{self as ml, Record};
    let publisher: Vec<String> = [analytics::BOOKING_RECORDED, analytics::POSTING_RECORDED]
        .iter()
        .map(|t| t.topic())
        .collect();
    assert_eq!(ml::consumed_topics(), publisher);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["market.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-mb@example.com", "broker").await;
    let carrier = app.signup("contract-mc@example.com", "carrier").await;
    let load = json!({"reference": "EC-3", "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 30000,
        "commodity": "paper", "rate": {"kind": "all_in", "amount_cents": 250000},
        "stops": [{"kind": "pickup", "location": {"place": "Memphis, TN"}, "window": {"start": at(2, 8), "end": at(2, 12)}},
                  {"kind": "delivery", "location": {"place": "Columbus, OH"}, "appointment": at(3, 9)}]});
    lanerunner::testing::book(&app, &broker, &carrier, &load).await;
    let seen = first_of_each(&mut sub, &publisher).await;
    match ml::read(&seen["market.booking_recorded.v1"]) {
        Ok(Some(Record::Booking(b))) => {
            assert_eq!(b.dest_market, "COL-OH");
            assert_eq!(
                (b.rate_cents, b.origin_market.as_str()),
                (250_000, "MEM-TN")
            );
        }
        other => panic!("the booking record does not read as ml's: {other:?}"),
    }
    match ml::read(&seen["market.posting_recorded.v1"]) {
        Ok(Some(Record::Posting(p))) => assert_eq!(p.equipment, "V"),
        other => panic!("the posting record does not read as ml's: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_publishes_negotiation_reads() {
    use lanerunner_negotiation_service::events as negotiation;
    let publisher: Vec<String> = [
        lanerunner_loads::events::LOAD_POSTED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    // It also reads the carriers service's standings (`what_carriers_publishes_negotiation_reads`).
    let mut consumed = publisher.clone();
    consumed.push(lanerunner_carriers::events::CARRIER_STANDING.topic());
    assert_eq!(negotiation::consumed_topics(), consumed);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-nb@example.com", "broker").await;
    let load = lanerunner::testing::dallas_atlanta_load("EC-N", 240_000);
    let created = json_of(
        app.post_json("/v1/loads", &load, Some(&broker.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("post", json!({})),
        (
            "status",
            json!({"event": "cancel", "reason": "contract test"}),
        ),
    ] {
        let res = app
            .post_json(
                &format!("/v1/loads/{id}/{path}"),
                &body,
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let seen = first_of_each(&mut sub, &publisher).await;
    let posted: negotiation::Posted = read_as(&seen["load.posted.v1"]);
    assert_eq!(
        (posted.id.to_string(), posted.all_in_rate_cents),
        (id.clone(), Some(240_000))
    );
    assert!(
        posted.stops.iter().any(|s| s.kind == "pickup"),
        "a posted load names its pickup"
    );
    assert!(posted.loaded_miles > 0.0);
    assert_eq!(posted.visibility, "public");
    let status: negotiation::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    // The first status change is the posting itself.
    assert_eq!(
        (status.load_id.to_string(), status.to.as_str()),
        (id, "posted")
    );
    assert!(status.version > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_negotiation_publishes_loads_reads() {
    let topic = lanerunner_negotiation_service::events::NEGOTIATION_AGREED.topic();
    assert_eq!(lanerunner_loads::events::NEGOTIATION_AGREED.topic(), topic);
    // The chat service reads the updates (and the loads' postings) with its own types.
    let updated = lanerunner_negotiation_service::events::NEGOTIATION_UPDATED.topic();
    let posted = lanerunner_loads::events::LOAD_POSTED.topic();
    assert_eq!(
        lanerunner_chat::events::consumed_topics(),
        vec![posted.clone(), updated.clone()]
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&[topic.as_str(), updated.as_str(), posted.as_str()])
        .await
        .unwrap();
    let broker = app.signup("contract-ab@example.com", "broker").await;
    let carrier = app.signup("contract-ac@example.com", "carrier").await;
    let load = lanerunner::testing::dallas_atlanta_load("EC-A", 240_000);
    let id = lanerunner::testing::posted(&app, &broker, &load).await;
    let book = json!({"load_id": id, "move": {"move": "book_now"}});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while app
        .post_json("/v1/negotiations", &book, Some(&carrier.access))
        .await
        .status()
        != StatusCode::CREATED
    {
        assert!(tokio::time::Instant::now() < deadline, "never booked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = first_of_each(&mut sub, &[topic.clone(), updated.clone(), posted.clone()]).await;
    let agreed: lanerunner_loads::events::NegotiationAgreed = read_as(&seen[&topic]);
    let shown: lanerunner_chat::events::NegotiationUpdated = read_as(&seen[&updated]);
    assert_eq!(
        (
            shown.seq,
            shown.side.as_str(),
            shown.carrier_org_id.to_string()
        ),
        (1, "carrier", carrier.org_id.clone())
    );
    assert_eq!(shown.event["event"], "agreed");
    let on_board: lanerunner_chat::events::Posted = read_as(&seen[&posted]);
    assert_eq!(
        (on_board.stops.len(), on_board.visibility.as_str()),
        (2, "public")
    );
    assert_eq!(
        (
            agreed.load_id.to_string(),
            agreed.carrier_org_id.to_string(),
            agreed.total_cents
        ),
        (id, carrier.org_id.clone(), 240_000)
    );
    assert_eq!(agreed.broker_org_id.to_string(), broker.org_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_carriers_publishes_negotiation_reads() {
    use lanerunner_negotiation_service::events as negotiation;
    let topic = lanerunner_carriers::events::CARRIER_STANDING.topic();
    assert_eq!(negotiation::CARRIER_STANDING.topic(), topic);
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["carrier.#"])
        .await
        .unwrap();
    let carrier = app.signup("contract-cs@example.com", "carrier").await;
    let res = app
        .put_json(
            "/v1/carriers/authority",
            &json!({"usdot_number": 2_751_903, "mc_number": 938_251, "insurance_expires_on": "2099-06-30"}),
            Some(&carrier.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = first_of_each(&mut sub, std::slice::from_ref(&topic)).await;
    let standing: negotiation::CarrierStanding = read_as(&seen["carrier.standing.v1"]);
    assert_eq!(
        (
            standing.carrier_org_id.to_string(),
            standing.standing.as_str()
        ),
        (carrier.org_id, "unverified")
    );
    assert_eq!(standing.reasons.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_identity_and_carriers_publish_documents_reads() {
    use lanerunner_documents::events as documents;
    let publishers: Vec<String> = [
        lanerunner_loads::events::LOAD_BOOKED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
        lanerunner_identity::events::ORG_CREATED,
        lanerunner_carriers::events::CARRIER_STANDING,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    // It also reads the payment service's invoices (`what_documents_publishes_payments_reads`).
    let mut consumed = publishers.clone();
    consumed.push(lanerunner_payments::events::INVOICE_ISSUED.topic());
    assert_eq!(documents::consumed_topics(), consumed);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.#", "identity.#", "carrier.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-db@example.com", "broker").await;
    let carrier = app.signup("contract-dc@example.com", "carrier").await;
    let res = app
        .put_json(
            "/v1/carriers/authority",
            &json!({"usdot_number": 2_751_903, "mc_number": 938_251, "insurance_expires_on": "2099-06-30"}),
            Some(&carrier.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut load = lanerunner::testing::dallas_atlanta_load("EC-D", 260_000);
    load["stops"][0]["facility"] = json!("Dock 7");
    load["temperature_f"] = json!(null);
    load["contact"] = json!({"name": "Desk", "phone": "214-555-0100"});
    let id = lanerunner::testing::posted(&app, &broker, &load).await;
    let res = app
        .post_json(
            &format!("/v1/loads/{id}/status"),
            &json!({"event": "cover", "booking": {"carrier_org_id": carrier.org_id}}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let seen = first_of_each(&mut sub, &publishers).await;
    let booked: documents::LoadBooked = read_as(&seen["load.booked.v1"]);
    assert_eq!(booked.load_id.to_string(), id);
    assert_eq!(
        booked.carrier_org_id.map(|c| c.to_string()),
        Some(carrier.org_id.clone())
    );
    assert_eq!(booked.rate_cents, 260_000);
    assert_eq!(booked.load.reference, "EC-D");
    assert_eq!(booked.load.stops[0].facility.as_deref(), Some("Dock 7"));
    assert_eq!(booked.load.stops[0].location.label, "Dallas, TX");
    assert_eq!(booked.load.stops[1].kind, "delivery");
    assert!(booked.load.stops[1].window.appointment);
    assert_eq!(booked.load.equipment, "V");
    assert_eq!(
        booked.load.contact.and_then(|c| c.phone).as_deref(),
        Some("214-555-0100")
    );
    let status: documents::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    assert_eq!(status.load_id.to_string(), id);
    let org: documents::OrgCreated = read_as(&seen["identity.org_created.v1"]);
    assert_eq!(
        (org.org_id.to_string(), org.kind.as_str()),
        (broker.org_id, "broker")
    );
    let standing: documents::CarrierStanding = read_as(&seen["carrier.standing.v1"]);
    assert_eq!(
        (standing.usdot_number, standing.mc_number),
        (2_751_903, Some(938_251))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_identity_publishes_notifications_reads() {
    use lanerunner_identity::events as identity;
    use lanerunner_notifications::events as notifications;
    let members: Vec<String> = [
        identity::USER_REGISTERED,
        identity::USER_ROLE_CHANGED,
        identity::USER_DEACTIVATED,
        identity::USER_REACTIVATED,
        identity::USER_ERASED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    let consumed = notifications::consumed_topics();
    assert_eq!(consumed[..members.len()], members[..]);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["identity.#"])
        .await
        .unwrap();
    let owner = app.signup("contract-io@example.com", "broker").await;
    let member = app
        .invite_and_join(&owner, "contract-im@example.com", "dispatcher")
        .await;
    let user = format!("/v1/org/users/{}", member.user_id);
    for body in [
        json!({"role": "admin"}),
        json!({"active": false}),
        json!({"active": true}),
        json!({"active": false}),
    ] {
        let res = app.patch_json(&user, &body, Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK, "{body}");
    }
    let res = app
        .post_json(&format!("{user}/erasure"), &json!({}), Some(&owner.access))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let seen = first_of_each(&mut sub, &members).await;
    let registered: notifications::UserRegistered = read_as(&seen["identity.user_registered.v1"]);
    assert_eq!(
        (
            registered.user_id.to_string(),
            registered.email.as_str(),
            registered.role.as_str()
        ),
        (owner.user_id.clone(), "contract-io@example.com", "owner")
    );
    assert_eq!(registered.org_id.to_string(), owner.org_id);
    let role: notifications::UserRoleChanged = read_as(&seen["identity.user_role_changed.v1"]);
    assert_eq!(
        (role.user_id.to_string(), role.to.as_str()),
        (member.user_id.clone(), "admin")
    );
    for topic in [
        "identity.user_deactivated.v1",
        "identity.user_reactivated.v1",
        "identity.user_erased.v1",
    ] {
        let who: notifications::UserActive = read_as(&seen[topic]);
        assert_eq!(who.user_id.to_string(), member.user_id, "{topic}");
        assert_eq!(
            seen[topic].org_id.map(|o| o.to_string()),
            Some(owner.org_id.clone())
        );
    }
    // The erasure names no one: nothing in it but ids.
    let erased = seen["identity.user_erased.v1"].payload.to_string();
    assert!(!erased.contains('@'), "{erased}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_documents_publishes_payments_reads() {
    use lanerunner_payments::events as payments;
    let topic = lanerunner_documents::events::CHECKLIST_COMPLETED.topic();
    assert_eq!(payments::consumed_topics(), [topic.clone()]);
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["documents.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-pb@example.com", "broker").await;
    let carrier = app.signup("contract-pc@example.com", "carrier").await;
    let load =
        lanerunner::testing::complete_paperwork(&app, &broker, &carrier, "EC-P", 230_000).await;
    let seen = first_of_each(&mut sub, std::slice::from_ref(&topic)).await;
    let done: payments::ChecklistCompleted = read_as(&seen["documents.checklist_completed.v1"]);
    assert_eq!(done.load_id.to_string(), load);
    assert_eq!(done.broker_org_id.to_string(), broker.org_id);
    assert_eq!(
        done.carrier_org_id.map(|c| c.to_string()),
        Some(carrier.org_id)
    );
    assert_eq!(
        (done.reference.as_str(), done.rate_cents),
        ("EC-P", 230_000)
    );

    // And back: the invoice the payment service issues, as the documents service reads it.
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["payments.#"])
        .await
        .unwrap();
    let body = json!({"load_id": load, "customer_name": "Big Box", "customer_email": "ap@bigbox.example",
        "lines": [{"description": "Linehaul", "amount_cents": 260_000}]});
    // The payment service takes the completed checklist off the bus in its own time: the
    // load is invoiceable once it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = app
            .post_json("/v1/payments/invoices", &body, Some(&broker.access))
            .await;
        if res.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(
            res.status(),
            StatusCode::CONFLICT,
            "paperwork-incomplete, until it is not"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load never became invoiceable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let topic = lanerunner_payments::events::INVOICE_ISSUED.topic();
    let seen = first_of_each(&mut sub, std::slice::from_ref(&topic)).await;
    let issued: lanerunner_documents::events::InvoiceIssued =
        read_as(&seen["payments.invoice_issued.v1"]);
    assert_eq!(issued.load_id.to_string(), load);
    assert_eq!(issued.org_id.to_string(), broker.org_id);
    assert_eq!(
        (issued.amount_cents, issued.lines[0].amount_cents),
        (260_000, 260_000)
    );
    assert!(issued.number.starts_with("INV-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_publishes_tracking_reads_and_what_tracking_publishes_loads_reads() {
    use lanerunner_tracking::events as tracking;
    let published: Vec<String> = [
        lanerunner_loads::events::LOAD_BOOKED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    assert_eq!(tracking::consumed_topics(), published);
    assert_eq!(
        lanerunner_loads::events::TRACKING_STOP_EVENT.topic(),
        tracking::STOP_EVENT.topic()
    );

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.#", "tracking.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-tb@example.com", "broker").await;
    let carrier = app.signup("contract-tc@example.com", "carrier").await;
    let id = lanerunner::testing::book(
        &app,
        &broker,
        &carrier,
        &lanerunner::testing::dallas_atlanta_load("EC-T", 240_000),
    )
    .await;
    let seen = first_of_each(&mut sub, &published).await;
    let booked: tracking::LoadBooked = read_as(&seen["load.booked.v1"]);
    assert_eq!(booked.load_id.to_string(), id);
    assert_eq!(booked.load.stops.len(), 2);
    assert_eq!(booked.load.stops[1].kind, "delivery");
    assert!((booked.load.stops[0].location.lat - 32.78).abs() < 0.1);
    assert_eq!(booked.load.stops[1].location.timezone, "America/New_York");
    assert!(booked.load.stops[0].window.start < booked.load.stops[1].window.end);
    let status: tracking::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    assert_eq!(status.load_id.to_string(), id);

    // The driver arrives: the stop event tracking publishes is what loads reads.
    lanerunner::testing::poll(&app, &format!("/v1/loads/{id}/tracking"), &carrier, |t| {
        t["status"] == "active"
    })
    .await;
    let link = json_of(
        app.post_json(
            &format!("/v1/loads/{id}/tracking/links"),
            &json!({"kind": "driver"}),
            Some(&carrier.access),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .post_json(
            &format!(
                "/v1/track/driver/{}/check-ins",
                link["token"].as_str().unwrap()
            ),
            &json!({"event": "arrived"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = first_of_each(&mut sub, &[tracking::STOP_EVENT.topic()]).await;
    let stop: lanerunner_loads::events::StopEvent = read_as(&seen["tracking.stop_event.v1"]);
    assert_eq!(
        (
            stop.load_id.to_string(),
            stop.event.as_str(),
            stop.source.as_str()
        ),
        (id, "arrive_pickup", "driver")
    );
    assert_eq!(stop.broker_org_id.to_string(), broker.org_id);
}

/// The webhooks service forwards events' payloads as they are published, so its contract
/// is its catalog: every event a customer can subscribe to is one its owning service
/// publishes under that exact name and version (a renamed or re-versioned event would
/// otherwise leave subscribers silently hearing nothing).
#[test]
fn every_webhook_event_type_is_one_a_service_publishes() {
    use lanerunner_core::EventType;
    let published: [EventType; 18] = [
        lanerunner_loads::events::LOAD_POSTED,
        lanerunner_loads::events::LOAD_UPDATED,
        lanerunner_loads::events::LOAD_BOOKED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
        lanerunner_loads::events::TRUCK_POSTED,
        lanerunner_loads::events::TRUCK_REMOVED,
        lanerunner_loads::events::SEARCH_ALERT,
        lanerunner_matching_service::events::MATCH_SUGGESTED,
        lanerunner_negotiation_service::events::NEGOTIATION_UPDATED,
        lanerunner_negotiation_service::events::NEGOTIATION_AGREED,
        lanerunner_chat::events::CHAT_MESSAGE,
        lanerunner_tracking::events::UPDATED,
        lanerunner_tracking::events::STOP_EVENT,
        lanerunner_tracking::events::LATE_RISK,
        lanerunner_documents::events::DOCUMENT_SIGNED,
        lanerunner_documents::events::CHECKLIST_COMPLETED,
        lanerunner_payments::events::INVOICE_ISSUED,
        lanerunner_voice::events::CALL_COMPLETED,
    ];
    let mut published: Vec<String> = published.iter().map(|t| t.topic()).collect();
    published.sort();
    let mut catalog = lanerunner_webhooks::events::consumed_topics();
    catalog.sort();
    assert_eq!(catalog, published);
}

/// The notifications service reads the payloads of the events it tells people about as
/// JSON: each, made from its publisher's own type, must make a notice (a renamed field
/// would otherwise make none, silently).
#[test]
fn every_event_notifications_tells_people_about_reads_as_a_notice() {
    use lanerunner_core::{EventEnvelope, EventType, OrgId};
    use lanerunner_notifications::domain::{notice, Kind, SOURCES};
    use uuid::Uuid;
    let (broker, carrier, load, user) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let now = chrono::Utc::now();
    let event = |kind: EventType, org: Uuid, payload: serde_json::Value| {
        EventEnvelope::new(kind, Some(OrgId(org)), load, &payload).unwrap()
    };
    let to_json = |v: &dyn erased::Json| v.json();
    let negotiation = Uuid::now_v7();
    let update = |seq: i64, side: &str, ev: serde_json::Value| {
        lanerunner_negotiation_service::events::Updated {
            negotiation_id: negotiation,
            load_id: load,
            broker_org_id: broker,
            carrier_org_id: carrier,
            status: "open".into(),
            event: ev,
            seq,
            side: side.into(),
            author_id: None,
            text: None,
            at: now,
        }
    };
    let offered = lanerunner_negotiation::protocol::Event::Offered {
        offer: lanerunner_negotiation::protocol::Offer {
            by: lanerunner_negotiation::Side::Broker,
            rate_cents: 240_000,
            accessorials: vec![],
            expires_at: None,
            at: now,
        },
    };
    let agreed = lanerunner_negotiation::protocol::Event::Agreed {
        by: lanerunner_negotiation::Side::Carrier,
        rate_cents: 240_000,
        total_cents: 240_000,
        book_now: false,
    };
    let cases: Vec<(EventEnvelope, Kind)> = vec![
        (
            event(
                lanerunner_loads::events::SEARCH_ALERT,
                carrier,
                to_json(&lanerunner_loads::events::SearchAlert {
                    search_id: Uuid::now_v7(),
                    search_name: "Reefer out of Chicago",
                    carrier_org_id: carrier,
                    user_id: user,
                    load_id: load,
                    deadhead_miles: 12.0,
                    loaded_miles: 700.0,
                    rate_per_mile_cents: 250.0,
                }),
            ),
            Kind::SearchAlert,
        ),
        (
            event(
                lanerunner_matching_service::events::MATCH_SUGGESTED,
                broker,
                to_json(&lanerunner_matching_service::events::MatchSuggested {
                    load_id: load,
                    truck_id: Uuid::now_v7(),
                    broker_org_id: broker,
                    carrier_org_id: carrier,
                    source: lanerunner_matching_service::events::SuggestionSource::LoadPosted,
                    rank: 1,
                    run_id: None,
                    cost_cents: 1000.0,
                    deadhead_miles: 30.0,
                    terms: vec![],
                }),
            ),
            Kind::Match,
        ),
        (
            event(
                lanerunner_negotiation_service::events::NEGOTIATION_UPDATED,
                carrier,
                to_json(&update(
                    2,
                    "broker",
                    serde_json::to_value(&offered).unwrap(),
                )),
            ),
            Kind::Offer,
        ),
        (
            event(
                lanerunner_negotiation_service::events::NEGOTIATION_UPDATED,
                broker,
                to_json(&update(
                    3,
                    "carrier",
                    serde_json::to_value(&agreed).unwrap(),
                )),
            ),
            Kind::Booked,
        ),
        (
            event(
                lanerunner_tracking::events::LATE_RISK,
                broker,
                to_json(&lanerunner_tracking::events::LateRisk {
                    load_id: load,
                    broker_org_id: broker,
                    carrier_org_id: Some(carrier),
                    reference: "PO-1".into(),
                    stop: "Atlanta, GA".into(),
                    eta: now + chrono::Duration::hours(3),
                    window_end: now + chrono::Duration::hours(2),
                }),
            ),
            Kind::LateRisk,
        ),
        (
            event(
                lanerunner_documents::events::DOCUMENT_SIGNED,
                broker,
                to_json(&lanerunner_documents::events::DocumentSigned {
                    document_id: Uuid::now_v7(),
                    signed_version_id: Uuid::now_v7(),
                    load_id: load,
                    kind: "rate_confirmation",
                    party: "carrier",
                    signer_user_id: user,
                    document_sha256: "00",
                    signed_sha256: "11",
                    signed_at: now,
                }),
            ),
            Kind::Paperwork,
        ),
        (
            event(
                lanerunner_documents::events::CHECKLIST_COMPLETED,
                broker,
                to_json(&lanerunner_documents::events::ChecklistCompleted {
                    load_id: load,
                    broker_org_id: broker,
                    carrier_org_id: Some(carrier),
                    reference: "PO-1".into(),
                    rate_cents: 240_000,
                    completed_at: now,
                }),
            ),
            Kind::Paperwork,
        ),
        (
            event(
                lanerunner_payments::events::INVOICE_ISSUED,
                broker,
                to_json(&lanerunner_payments::events::InvoiceIssued {
                    invoice_id: Uuid::now_v7(),
                    org_id: broker,
                    load_id: load,
                    number: "INV-000001".into(),
                    customer_name: "Shipper Co".into(),
                    customer_email: "ap@shipper.example".into(),
                    currency: "usd".into(),
                    lines: vec![],
                    amount_cents: 300_000,
                    issued_at: now,
                    due_at: now + chrono::Duration::days(30),
                }),
            ),
            Kind::Invoice,
        ),
    ];
    let mut covered: Vec<String> = Vec::new();
    for (e, kind) in &cases {
        let n =
            notice(e).unwrap_or_else(|| panic!("{} made no notice: {}", e.event_type, e.payload));
        assert_eq!(n.kind, *kind, "{}", e.event_type);
        covered.push(e.event_type.to_string());
    }
    covered.sort();
    covered.dedup();
    let mut sources: Vec<String> = SOURCES.iter().map(|s| s.to_string()).collect();
    sources.sort();
    assert_eq!(covered, sources);
}

mod erased {
    /// Any publisher's payload as JSON, for building events in one list.
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_loads_carriers_and_matching_publish_voice_reads() {
    use lanerunner_voice::events as voice;
    use uuid::Uuid;
    let publisher: Vec<String> = [
        lanerunner_loads::events::LOAD_POSTED,
        lanerunner_loads::events::LOAD_STATUS_CHANGED,
        lanerunner_carriers::events::CARRIER_STANDING,
    ]
    .iter()
    .map(|t| t.topic())
    .collect();
    let mut consumed = publisher.clone();
    consumed.extend([
        lanerunner_matching_service::events::MATCH_SUGGESTED.topic(),
        lanerunner_loads::events::LOAD_BOOKED.topic(),
        lanerunner_tracking::events::UPDATED.topic(),
    ]);
    assert_eq!(voice::consumed_topics(), consumed);

    // Check calls learn where a load's truck was last seen from tracking's own payload.
    let seen_at = chrono::Utc::now();
    let tracked: voice::Tracked = serde_json::from_value(
        serde_json::to_value(lanerunner_tracking::events::Updated {
            load_id: Uuid::nil(),
            reference: "EC-V-7".into(),
            lat: 33.5,
            lon: -86.8,
            at: seen_at,
            next_stop: None,
            inside_fence: false,
            eta: None,
            late: false,
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!((tracked.load_id, tracked.at), (Uuid::nil(), seen_at));

    // Outreach ranks a load's carriers by matching's suggestions, as matching writes them.
    let (load, carrier_org) = (Uuid::now_v7(), Uuid::now_v7());
    let suggested: voice::Suggested = serde_json::from_value(
        serde_json::to_value(lanerunner_matching_service::events::MatchSuggested {
            load_id: load,
            truck_id: Uuid::now_v7(),
            broker_org_id: Uuid::now_v7(),
            carrier_org_id: carrier_org,
            source: lanerunner_matching_service::events::SuggestionSource::TruckPosted,
            rank: 2,
            run_id: None,
            cost_cents: 4_250.5,
            deadhead_miles: 12.0,
            terms: vec![],
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            suggested.load_id,
            suggested.carrier_org_id,
            suggested.cost_cents
        ),
        (load, carrier_org, 4_250.5)
    );

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut sub = app
        .app()
        .bus()
        .subscribe_broadcast(&["load.#", "carrier.#"])
        .await
        .unwrap();
    let broker = app.signup("contract-vb@example.com", "broker").await;
    let carrier = app.signup("contract-vc@example.com", "carrier").await;
    let res = app
        .put_json(
            "/v1/carriers/authority",
            &json!({"usdot_number": 2_751_904, "mc_number": 938_252, "insurance_expires_on": "2099-06-30"}),
            Some(&carrier.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = lanerunner::testing::posted(
        &app,
        &broker,
        &lanerunner::testing::dallas_atlanta_load("EC-V-7", 240_000),
    )
    .await;
    // Covered: load.booked.v1 names the carrier a check call goes to.
    let res = app
        .post_json(
            &format!("/v1/loads/{id}/status"),
            &json!({"event": "cover", "booking": {"carrier_org_id": carrier.org_id}}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut awaited = publisher.clone();
    awaited.push(lanerunner_loads::events::LOAD_BOOKED.topic());
    let seen = first_of_each(&mut sub, &awaited).await;
    let booked: voice::Booked = read_as(&seen["load.booked.v1"]);
    assert_eq!(
        (
            booked.load_id.to_string(),
            booked.carrier_org_id.map(|c| c.to_string())
        ),
        (id.clone(), Some(carrier.org_id.clone()))
    );

    let posted: voice::Posted = read_as(&seen["load.posted.v1"]);
    assert_eq!(
        (
            posted.id.to_string(),
            posted.reference.as_str(),
            posted.equipment.as_str()
        ),
        (id.clone(), "EC-V-7", "V")
    );
    assert_eq!(
        lanerunner_voice::understand::equipment_name(&posted.equipment),
        "dry_van"
    );
    assert!(posted
        .stops
        .iter()
        .any(|s| s.kind == "pickup" && s.location.label == "Dallas, TX"));
    let status: voice::StatusChanged = read_as(&seen["load.status_changed.v1"]);
    assert_eq!(
        (status.load_id.to_string(), status.to.as_str()),
        (id, "posted")
    );
    let standing: voice::Standing = read_as(&seen["carrier.standing.v1"]);
    assert_eq!(
        (
            standing.carrier_org_id.to_string(),
            standing.mc_number,
            standing.standing.as_str()
        ),
        (carrier.org_id, Some(938_252), "unverified")
    );
}
