//! A customer's webhook receiver on loopback, for tests and the webhooks benchmark. It
//! verifies each delivery's Standard Webhooks signature as a customer's library would,
//! answers as told (fail a share of requests, follow a script of statuses, hang, be down
//! with its port closed), and keeps every request it received with its answer.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use lanerunner_webhooks::signature::{self, Secret};
use rand::Rng;
use tokio_util::sync::CancellationToken;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: serde_json::Value,
    /// The signature matched one of the secrets the receiver held.
    pub verified: bool,
    pub answered: u16,
    pub at: Instant,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
struct Plan {
    secrets: Vec<Secret>,
    /// Share of verified requests answered 500, at random.
    fail_ratio: f64,
    /// Statuses for the next requests, in order, before the ratio applies.
    script: VecDeque<u16>,
}

struct Shared {
    plan: Mutex<Plan>,
    hang: AtomicBool,
    /// Answer requests without a valid signature as any other (for a peer that signs none).
    accept_unsigned: AtomicBool,
    log: Mutex<Vec<Received>>,
}

pub struct Receiver {
    pub url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<CancellationToken>,
}

impl Receiver {
    /// Listens on a fresh loopback port; deliveries go to `<url>` (path `/hooks`).
    pub async fn start() -> anyhow::Result<Arc<Receiver>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            plan: Mutex::new(Plan::default()),
            hang: AtomicBool::new(false),
            accept_unsigned: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
        });
        let token = CancellationToken::new();
        serve(listener, shared.clone(), token.clone());
        Ok(Arc::new(Receiver {
            url: format!("http://{addr}/hooks"),
            addr,
            shared,
            server: Mutex::new(token),
        }))
    }

    /// The secrets it verifies with (any one matching is enough).
    pub fn hold(&self, secrets: &[&str]) {
        self.shared.plan.lock().unwrap().secrets = secrets
            .iter()
            .map(|s| Secret::parse(s).expect("a whsec_ secret"))
            .collect();
    }

    pub fn fail_ratio(&self, ratio: f64) {
        self.shared.plan.lock().unwrap().fail_ratio = ratio;
    }

    pub fn script(&self, statuses: &[u16]) {
        self.shared.plan.lock().unwrap().script = statuses.iter().copied().collect();
    }

    pub fn hang(&self, hang: bool) {
        self.shared.hang.store(hang, Ordering::SeqCst);
    }

    pub fn accept_unsigned(&self, accept: bool) {
        self.shared.accept_unsigned.store(accept, Ordering::SeqCst);
    }

    /// Forgets what it received.
    pub fn clear(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// Closes the port for `down`, then listens on it again.
    pub fn go_down(self: &Arc<Self>, down: Duration) {
        self.server.lock().unwrap().cancel();
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(down).await;
            loop {
                match tokio::net::TcpListener::bind(me.addr).await {
                    Ok(listener) => {
                        let token = CancellationToken::new();
                        *me.server.lock().unwrap() = token.clone();
                        serve(listener, me.shared.clone(), token);
                        return;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Each `webhook-id` acknowledged (answered 2xx), with how many requests for it came
    /// after its first acknowledgement (the duplicates at-least-once may cost).
    pub fn acknowledged(&self) -> HashMap<String, usize> {
        let mut acked: HashMap<String, usize> = HashMap::new();
        for r in self.shared.log.lock().unwrap().iter() {
            if let Some(after) = acked.get_mut(&r.id) {
                *after += 1;
            } else if (200..300).contains(&r.answered) {
                acked.insert(r.id.clone(), 0);
            }
        }
        acked
    }
}

fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, token: CancellationToken) {
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(token.cancelled_owned())
            .await;
    });
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if shared.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let id = header(&headers, "webhook-id");
    let timestamp = header(&headers, "webhook-timestamp");
    let sig = header(&headers, "webhook-signature");
    let answered = {
        let mut plan = shared.plan.lock().unwrap();
        let verified = signature::verify(
            &plan.secrets,
            &id,
            &timestamp,
            &sig,
            &body,
            chrono::Utc::now().timestamp(),
            signature::DEFAULT_TOLERANCE_SECS,
        )
        .is_ok();
        let answered = if !verified && !shared.accept_unsigned.load(Ordering::SeqCst) {
            401
        } else if let Some(next) = plan.script.pop_front() {
            next
        } else if rand::thread_rng().gen::<f64>() < plan.fail_ratio {
            500
        } else {
            200
        };
        shared.log.lock().unwrap().push(Received {
            id,
            timestamp,
            signature: sig,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            verified,
            answered,
            at: Instant::now(),
            received_at: chrono::Utc::now(),
        });
        answered
    };
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
