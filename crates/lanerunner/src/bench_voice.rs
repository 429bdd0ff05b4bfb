//! `lanerunner bench voice`: whole calls to a broker's line as Twilio makes them — the
//! signed first webhook, then each `<Gather>` result posted, signed, to the action URL the
//! last TwiML gave — and the agent's turn latency (webhook in → TwiML out, at the caller
//! over loopback HTTP) per kind of turn. Each call: the greeting, the MC number (vetting),
//! the load by reference (the pitch), an offer above the broker's agent's limit (the
//! negotiation service opens the negotiation and the agent counters in the same turn), and
//! "no thanks" (the negotiation closes, the call is debriefed). `concurrency` carriers
//! call at once, each its own carrier organization.
//!
//! The peer: a TwiML endpoint that checks the same signature and answers a fixed
//! `<Gather>` — what any webhook costs on this machine, the floor under the agent's turns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use lanerunner_twilio::testing::TwilioStandIn;
use serde_json::json;

use crate::testing::{json_of, Account, Backend, TestApp};

pub struct VoiceBench {
    pub calls: usize,
    pub concurrency: usize,
    pub backend: Backend,
}

const ACCOUNT: &str = "AC00000000000000000000000000bench";
const TOKEN: &str = "bench-auth-token";
const LINE: &str = "+15005550100";
const KINDS: [&str; 5] = [
    "greeting",
    "mc number",
    "load lookup",
    "offer + agent counter",
    "decline + debrief",
];

use crate::bench_webhooks::percentile;

fn action_of(twiml: &str) -> Option<String> {
    let start = twiml.find("action=\"")? + "action=\"".len();
    let end = start + twiml[start..].find('"')?;
    Some(twiml[start..end].replace("&amp;", "&"))
}

/// One call by carrier `mc`; the latency of each of its five turns in milliseconds.
async fn one_call(
    twilio: &TwilioStandIn,
    inbound: &str,
    sid: &str,
    mc: u64,
) -> anyhow::Result<[f64; 5]> {
    let mut took = [0.0; 5];
    let started = Instant::now();
    let (status, mut twiml) = twilio
        .post_signed(
            inbound,
            &[
                ("CallSid", sid),
                ("AccountSid", ACCOUNT),
                ("From", "+14155550123"),
                ("To", LINE),
            ],
        )
        .await?;
    took[0] = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(status == 200, "greeting: {status} {twiml}");
    let mc = mc.to_string();
    let turns: [(&str, &str); 4] = [
        ("Digits", mc.as_str()),
        ("SpeechResult", "reference L R one zero zero two"),
        ("SpeechResult", "I'd need thirty five hundred all in"),
        ("SpeechResult", "no thanks"),
    ];
    for (i, (field, value)) in turns.iter().enumerate() {
        let action = action_of(&twiml)
            .ok_or_else(|| anyhow::anyhow!("turn {i}: the agent stopped listening: {twiml}"))?;
        let started = Instant::now();
        let (status, body) = twilio
            .post_signed(
                &action,
                &[("CallSid", sid), ("AccountSid", ACCOUNT), (field, value)],
            )
            .await?;
        took[i + 1] = started.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(status == 200, "turn {i}: {status} {body}");
        twiml = body;
    }
    anyhow::ensure!(twiml.contains("<Hangup/>"), "the call did not end: {twiml}");
    Ok(took)
}

fn report(name: &str, per_kind: &[Vec<f64>], calls: usize, wall: Duration) -> String {
    let mut out = format!(
        "\n{name}: {calls} calls in {:.1} s ({:.0} turns/s)\n",
        wall.as_secs_f64(),
        (calls * per_kind.len()) as f64 / wall.as_secs_f64()
    );
    out += "| turn | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n";
    let mut all: Vec<f64> = Vec::new();
    for (kind, v) in KINDS.iter().zip(per_kind) {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        all.extend(&v);
        out += &format!(
            "| {kind} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            percentile(&v, 0.5),
            percentile(&v, 0.9),
            percentile(&v, 0.99),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    all.sort_by(f64::total_cmp);
    out += &format!(
        "| every turn | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        percentile(&all, 0.5),
        percentile(&all, 0.9),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN)
    );
    out
}

pub async fn bench(opts: VoiceBench) -> anyhow::Result<String> {
    let twilio = Arc::new(TwilioStandIn::start(ACCOUNT, TOKEN).await?);
    let app =
        TestApp::spawn_with_twilio(opts.backend, &twilio.base_url, ACCOUNT, TOKEN, |_| {}).await;
    let broker = app.signup("voice-bench@broker.example", "broker").await;
    json_of(
        app.put_json(
            &format!("/v1/voice/lines/{LINE}"),
            &json!({"company_name": "Bench Logistics", "transfer_number": "+15005550199"}),
            Some(&broker.access),
        )
        .await,
        reqwest::StatusCode::OK,
    )
    .await;
    let load = crate::testing::posted(
        &app,
        &broker,
        &crate::testing::dallas_atlanta_load("LR-1002", 210_000),
    )
    .await;
    let policy = json!({"start_cents": 200_000, "target_cents": 215_000, "max_cents": 230_000});
    let concurrency = opts.concurrency.max(1);
    let mut carriers: Vec<(Account, u64)> = Vec::new();
    for i in 0..concurrency {
        let carrier = app
            .signup(&format!("voice-bench-{i}@carrier.example"), "carrier")
            .await;
        let mc = 700_000 + i as u64;
        let res = app
            .put_json("/v1/carriers/authority", &json!({"usdot_number": 3_000_000 + i as u64, "mc_number": mc, "insurance_expires_on": "2099-06-30"}), Some(&carrier.access))
            .await;
        anyhow::ensure!(
            res.status().is_success(),
            "declaring authority: {}",
            res.status()
        );
        carriers.push((carrier, mc));
    }
    // The load and the standings reach negotiation and voice as events.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app
            .put_json(
                &format!("/v1/negotiations/policies/{load}"),
                &policy,
                Some(&broker.access),
            )
            .await;
        if res.status() == reqwest::StatusCode::OK {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the load never reached the negotiation service"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inbound = app.url("/v1/voice/twilio/inbound");
    loop {
        let warm = one_call(
            &twilio,
            &inbound,
            &format!("CAwarm{}", uuid::Uuid::now_v7().simple()),
            carriers.last().unwrap().1,
        )
        .await;
        if warm.is_ok() {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the voice service never learned the load and the carriers: {warm:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut out = format!(
        "Voice agent: {} calls, {concurrency} at once (each its own carrier), {} store, 5 turns a call over loopback HTTP, every request signed as Twilio signs.\n",
        opts.calls,
        if opts.backend == Backend::Sqlite { "SQLite" } else { "PostgreSQL" }
    );
    let run = |target: String| {
        let twilio = twilio.clone();
        let carriers = carriers.clone();
        async move {
            let started = Instant::now();
            // One caller per carrier at a time, as on a real line: a carrier's second call
            // while its first is still going would continue the same negotiation.
            let callers = carriers.iter().enumerate().map(|(w, (_, mc))| {
                let (twilio, target, mc) = (twilio.clone(), target.clone(), *mc);
                let mine = (w..opts.calls).step_by(carriers.len()).count();
                async move {
                    let mut took = Vec::with_capacity(mine);
                    for _ in 0..mine {
                        let sid = format!("CA{}", uuid::Uuid::now_v7().simple());
                        took.push(one_call(&twilio, &target, &sid, mc).await);
                    }
                    took
                }
            });
            let results: Vec<anyhow::Result<[f64; 5]>> = futures::future::join_all(callers)
                .await
                .into_iter()
                .flatten()
                .collect();
            let wall = started.elapsed();
            let mut per_kind = vec![Vec::new(); 5];
            for r in results {
                let took = r?;
                for (k, t) in took.iter().enumerate() {
                    per_kind[k].push(*t);
                }
            }
            anyhow::Ok((per_kind, wall))
        }
    };
    let (per_kind, wall) = run(inbound).await?;
    out += &report("LaneRunner's agent", &per_kind, opts.calls, wall);
    drop(app);

    let peer = peer_endpoint().await?;
    let (per_kind, wall) = run(peer).await?;
    out += &report(
        "Peer (a fixed TwiML <Gather> behind the same signature check)",
        &per_kind,
        opts.calls,
        wall,
    );
    Ok(out)
}

/// The floor: checks `X-Twilio-Signature` over its own URL and answers the same fixed
/// `<Gather>` whose action is itself, then a `<Hangup/>` on the fifth request of a call.
async fn peer_endpoint() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/twiml", listener.local_addr()?);
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        u32,
    >::new()));
    let me = url.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let (me, seen) = (me.clone(), seen.clone());
        async move {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let signature = headers
                .get("x-twilio-signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !lanerunner_twilio::verify(TOKEN, &me, &params, signature) {
                return (axum::http::StatusCode::FORBIDDEN, String::new());
            }
            let sid = params
                .iter()
                .find(|(k, _)| k == "CallSid")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let n = {
                let mut seen = seen.lock().unwrap();
                let n = seen.entry(sid).or_default();
                *n += 1;
                *n
            };
            let xml = if n >= 5 {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>Thanks. Goodbye.</Say><Hangup/></Response>".to_owned()
            } else {
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Gather input=\"speech dtmf\" action=\"{me}\" method=\"POST\"><Say>Go on.</Say></Gather></Response>")
            };
            (axum::http::StatusCode::OK, xml)
        }
    };
    let router = axum::Router::new().route("/twiml", axum::routing::post(handler));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(url)
}
