//! Test support shared by the platform's and the application's tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Set to `skip` to run only what needs no engine (SQLite, the in-process bus, streams and
/// cache): tests that need PostgreSQL, RabbitMQ, Redis or Kafka then return at once and say
/// so. Unset (as in CI), such a test that cannot reach its engine fails loudly.
pub const TEST_ENGINES_ENV: &str = "LANERUNNER_TEST_ENGINES";

/// True (after saying so on stderr) when `LANERUNNER_TEST_ENGINES=skip` asks to skip tests
/// that need `engines`; the test then returns without checking anything.
pub fn skip_engine_test(engines: &str) -> bool {
    let skip = std::env::var(TEST_ENGINES_ENV).is_ok_and(|v| v == "skip");
    if skip {
        eprintln!("skipped: needs {engines} ({TEST_ENGINES_ENV}=skip)");
    }
    skip
}

/// A TCP proxy on loopback in front of a real server (a broker, Redis) that can cut every
/// connection and refuse new ones, as a server restart or outage looks to a client, without
/// disturbing the real server that other tests share.
pub struct FlakyProxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl FlakyProxy {
    /// Forwards `127.0.0.1:<port>` to `target` (`host:port`).
    pub async fn start(target: &str) -> std::io::Result<FlakyProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Mutex::new(CancellationToken::new()));
        let stop = CancellationToken::new();
        let (up2, cut2, stop2, target) =
            (up.clone(), cut.clone(), stop.clone(), target.to_string());
        tokio::spawn(async move {
            loop {
                let (mut client, _) = tokio::select! {
                    _ = stop2.cancelled() => return,
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let token = cut2.lock().expect("proxy lock").clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = token.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        Ok(FlakyProxy {
            port,
            up,
            cut,
            stop,
        })
    }

    /// The server goes away: open connections are cut and new ones refused.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        let old = std::mem::take(&mut *self.cut.lock().expect("proxy lock"));
        old.cancel();
    }

    /// The server is back: new connections are forwarded again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut.lock().expect("proxy lock").cancel();
    }
}
