//! A stand-in for QCMobile, for tests: an axum server on 127.0.0.1 that answers both lookups
//! in FMCSA's JSON from a table the test fills, checks the web key (401 otherwise), and can
//! be told to fail (503) so tests see what an outage does.
//!
//! ```no_run
//! use lanerunner_fmcsa::testing::QcMobileStandIn;
//! use lanerunner_fmcsa::wire::Carrier;
//! let fmcsa = QcMobileStandIn::start("web-key");
//! fmcsa.put(Some(123456), QcMobileStandIn::good(2_751_903));
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::wire::Carrier;

#[derive(Default)]
struct Shared {
    key: String,
    by_dot: Mutex<HashMap<u64, Carrier>>,
    docket_to_dot: Mutex<HashMap<u64, u64>>,
    down: AtomicBool,
    requests: AtomicUsize,
}

/// The running stand-in; stops when dropped.
pub struct QcMobileStandIn {
    pub base_url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl QcMobileStandIn {
    pub fn start(key: &str) -> Self {
        let shared = Arc::new(Shared {
            key: key.to_owned(),
            ..Shared::default()
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/qc/services/carriers/{dot}", get(by_dot))
            .route("/qc/services/carriers/docket-number/{mc}", get(by_docket))
            .with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name("fmcsa-stand-in".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("stand-in runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await
                        .expect("stand-in serves");
                });
            })
            .expect("spawn stand-in");
        Self {
            base_url: format!("http://{addr}/qc/services"),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A carrier in good standing: allowed to operate, common authority active, $1M BIPD
    /// on file against $750k required.
    pub fn good(dot: u64) -> Carrier {
        Carrier {
            dot_number: dot,
            legal_name: Some(format!("CARRIER {dot} LLC")),
            allowed_to_operate: Some("Y".into()),
            status_code: Some("A".into()),
            common_authority_status: Some("A".into()),
            contract_authority_status: Some("N".into()),
            broker_authority_status: Some("N".into()),
            bipd_insurance_on_file: Some("1000".into()),
            bipd_insurance_required: Some("Y".into()),
            bipd_required_amount: Some("750".into()),
            cargo_insurance_on_file: Some("100".into()),
            ..Carrier::default()
        }
    }

    /// Knows `carrier`, under MC docket `mc` too when given (replacing what it knew).
    pub fn put(&self, mc: Option<u64>, carrier: Carrier) {
        if let Some(mc) = mc {
            self.shared
                .docket_to_dot
                .lock()
                .unwrap()
                .insert(mc, carrier.dot_number);
        }
        self.shared
            .by_dot
            .lock()
            .unwrap()
            .insert(carrier.dot_number, carrier);
    }

    /// Answer 503 to everything while `down`.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

impl Drop for QcMobileStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn refused(shared: &Shared, q: &HashMap<String, String>) -> Option<Response> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if shared.down.load(Ordering::SeqCst) {
        return Some(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    if q.get("webKey") != Some(&shared.key) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"content": "Webkey not found"})),
            )
                .into_response(),
        );
    }
    None
}

async fn by_dot(
    State(s): State<Arc<Shared>>,
    Path(dot): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &q) {
        return r;
    }
    let found = dot
        .parse::<u64>()
        .ok()
        .and_then(|d| s.by_dot.lock().unwrap().get(&d).cloned());
    match found {
        Some(c) => Json(json!({"content": {"carrier": c, "_links": {}}, "retrievalDate": "2026-12-04T00:00:00.000+0000"})).into_response(),
        None => Json(json!({"content": null, "retrievalDate": "2026-12-04T00:00:00.000+0000"})).into_response(),
    }
}

async fn by_docket(
    State(s): State<Arc<Shared>>,
    Path(mc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &q) {
        return r;
    }
    let found = mc.parse::<u64>().ok().and_then(|mc| {
        let dot = *s.docket_to_dot.lock().unwrap().get(&mc)?;
        s.by_dot.lock().unwrap().get(&dot).cloned()
    });
    let content: Vec<_> = found.map(|c| json!({"carrier": c})).into_iter().collect();
    Json(json!({"content": content})).into_response()
}
