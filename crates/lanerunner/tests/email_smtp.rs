//! Email over SMTP to a real server on loopback (aiosmtpd, `scripts/smtp-sink.py`), with
//! authentication: an invitation arrives as text and HTML alternatives, from the inviting
//! organization by name at the configured address; a recipient the server refuses for good is not tried again, one it turns away for
//! now is; a server that never answers is given up on at the timeout and tried again, and
//! nothing is lost for the recipients it did accept.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use lanerunner::testing::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

struct Sink {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Sink {
    async fn start() -> Sink {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("lr-smtp-{}", uuid::Uuid::now_v7().simple()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .arg(port.to_string())
            .args(["lanerunner", "s3cret-pass"])
            .spawn()
            .expect("python3 runs the SMTP sink (pip install aiosmtpd)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Sink { child, dir, port };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SMTP sink never listened on {port}");
    }

    fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    fn rcpts(&self, address: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("rcpt.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.ends_with(&format!(" {address}")))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_go_out_over_smtp_and_refusals_are_told_apart() {
    let sink = Sink::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.email.smtp_url = Some(format!(
            "smtp://lanerunner:s3cret-pass@127.0.0.1:{}",
            sink.port
        ));
        c.email.smtp_timeout_ms = 1_500;
        c.email.from = "Acme Freight Ops <ops@acme.example>".into();
        c.bus.redelivery_delay_ms = 200;
    })
    .await;
    let owner = app.signup("smtp-owner@example.com", "broker").await;
    let invite = |email: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            let res = app
                .post_json(
                    "/v1/org/invitations",
                    &json!({"email": email, "role": "dispatcher"}),
                    Some(&owner.access),
                )
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
    };

    invite("dana@example.com").await;
    until("the invitation's delivery", || {
        sink.messages()
            .iter()
            .any(|m| m.contains("To: dana@example.com"))
    })
    .await;
    let mail = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("To: dana@example.com"))
        .unwrap();
    assert!(
        mail.contains("From: \"broker co via Acme Freight Ops\" <ops@acme.example>"),
        "{mail}"
    );
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(mail.contains("Message-ID: <"), "{mail}");
    // The spool is not written when SMTP is configured.
    assert!(app.mails().is_empty());

    // Refused for good: one attempt, never again. Turned away for now: tried again.
    invite("refuse-me@example.com").await;
    invite("busy-now@example.com").await;
    until("the busy recipient's retry", || {
        sink.rcpts("busy-now@example.com").len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sink.rcpts("refuse-me@example.com"),
        ["550 refuse-me@example.com"]
    );

    // A server that never answers: given up on at the timeout, tried again; the mail to a
    // recipient it accepts still arrives.
    invite("slow-one@example.com").await;
    invite("erin@example.com").await;
    until("the mail after the slow one", || {
        sink.messages()
            .iter()
            .any(|m| m.contains("To: erin@example.com"))
    })
    .await;
    until("the slow recipient's second attempt", || {
        sink.rcpts("slow-one@example.com").len() >= 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_refuses_a_url_that_is_not_smtp() {
    let mut config = lanerunner::testing::test_config(std::env::temp_dir());
    config.email.smtp_url = Some("http://mail.example.com".into());
    assert!(config
        .validate()
        .unwrap_err()
        .to_string()
        .contains("email.smtp_url"));
}
