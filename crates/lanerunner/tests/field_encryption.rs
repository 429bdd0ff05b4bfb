//! Envelope encryption of sensitive fields: TOTP secrets and token signing keys are stored
//! sealed; a data key rotation is used for new writes at once and moved onto every old
//! record by the sweep while sign-ins go on, none failing; the old key is then retired, and
//! a value under it (or one copied from another record, or one altered) is refused without
//! exposing anything; values from before sealing existed are read and then sealed; AWS KMS
//! (moto on loopback) wraps the data keys at scale, and a change of KMS key rewraps them.

use std::sync::Arc;
use std::time::Duration;

use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, json_of, Account, TestApp, TEST_PASSWORD};
use lanerunner_identity::domain::TotpSecret;
use lanerunner_identity::SEALED_FIELDS;
use lanerunner_platform::sealing::kek::{AwsKms, LocalKek};
use lanerunner_platform::sealing::keyring::{FixedKeys, Keyring};
use lanerunner_platform::sealing::{FieldSealer, KeyWrapper, SealError};
use lanerunner_platform::{on_db, Db};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

const TOTP: &lanerunner_platform::sealing::SealedField = &lanerunner_identity::sealed::TOTP_SECRET;

fn step() -> i64 {
    chrono::Utc::now().timestamp() / 30
}

fn code(secret: &str, step: i64) -> String {
    TotpSecret::from_base32(secret).unwrap().code_at(step)
}

/// A broker owner with an authenticator app enrolled, and the time step its confirming
/// code used up.
async fn enrolled(app: &TestApp, email: &str) -> (Account, String, i64) {
    let step = step();
    let acct = app.signup(email, "broker").await;
    let enrol = json_of(
        app.post_json("/v1/me/mfa/totp", &json!({}), Some(&acct.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    json_of(
        app.post_json(
            "/v1/me/mfa/totp/confirm",
            &json!({ "code": code(&secret, step) }),
            Some(&acct.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    (acct, secret, step)
}

/// A code step not used yet and still accepted now.
fn next_step(used: i64) -> i64 {
    step().max(used + 1)
}

/// Password, then the authenticator code for `step`: the status of the second step.
async fn mfa_login(app: &TestApp, email: &str, secret: &str, step: i64) -> reqwest::Response {
    let first = json_of(
        app.post_json(
            "/v1/auth/login",
            &json!({ "email": email, "password": TEST_PASSWORD }),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.post_json(
        "/v1/auth/login/mfa",
        &json!({ "mfa_token": first["mfa_token"], "code": code(secret, step) }),
        None,
    )
    .await
}

async fn stored_secret(db: &Db, user: &str) -> String {
    let id: Uuid = user.parse().unwrap();
    on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT mfa_secret FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_one(p)
    .await
    .unwrap())
}

async fn set_secret(db: &Db, user: &str, value: &str) {
    let id: Uuid = user.parse().unwrap();
    on_db!(db, |p| sqlx::query(
        "UPDATE users SET mfa_secret = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(value)
    .execute(p)
    .await
    .map(|_| ())
    .unwrap());
}

async fn sealer(app: &TestApp, db: &Db) -> Arc<FieldSealer> {
    let kek = lanerunner::keys::kek_from_config(&app.config).unwrap();
    FieldSealer::connect(db.clone(), kek, Duration::from_secs(1))
        .await
        .unwrap()
}

/// Waits (bounded) until `check` holds: another instance's view of the keys changes within
/// `keys.active_refresh_secs`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within 10 s: {what}");
}

both_backends! {
    async fn secrets_are_sealed_and_a_rotation_moves_them_while_sign_ins_go_on(app: TestApp) {
        let db = app.app().db("identity").unwrap();
        let mut users = Vec::new();
        for i in 0..8 {
            users.push(enrolled(&app, &format!("fe{i}@broker.example")).await);
        }

        // Stored sealed under the store's first data key, never in the clear.
        for (acct, secret, _) in &users {
            let stored = stored_secret(&db, &acct.user_id).await;
            assert!(stored.starts_with("lre1.1."), "{stored}");
            assert!(!stored.contains(secret.as_str()));
        }
        let (clear_keys, sealed_keys): (i64, i64) = on_db!(&db, |p| sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE length(pkcs8_der) > 0), COUNT(*) FILTER (WHERE private_key LIKE 'lre1.%') FROM signing_keys"
        )
        .fetch_one(p)
        .await
        .unwrap());
        assert_eq!((clear_keys, sealed_keys > 0), (0, true), "signing keys are sealed");
        let before_rotation = stored_secret(&db, &users[0].0.user_id).await;

        // A rotation (as `lanerunner keys rotate-fields` makes it): the running instance
        // seals new writes under version 2 within its refresh.
        let rotated = lanerunner::keys::rotate(&app.config).await.unwrap();
        assert_eq!(
            rotated,
            vec![("identity", 2), ("notifications", 2), ("voice", 2)]
        );
        let mut n = 0;
        eventually("new secrets are sealed under the new key", || {
            n += 1;
            let app = &app;
            let db = db.clone();
            async move {
                let (acct, _, _) = enrolled(app, &format!("late{n}@broker.example")).await;
                stored_secret(&db, &acct.user_id).await.starts_with("lre1.2.")
            }
        })
        .await;

        // The sweep and a sign-in of every user, released together: none fails.
        let barrier = Arc::new(Barrier::new(users.len() + 1));
        let logins = users.iter().map(|(acct, secret, used)| {
            let (barrier, app) = (barrier.clone(), &app);
            async move {
                barrier.wait().await;
                mfa_login(app, &acct.email, secret, next_step(*used)).await.status()
            }
        });
        let sweep = {
            let (barrier, config) = (barrier.clone(), app.config.clone());
            async move {
                barrier.wait().await;
                lanerunner::keys::sweep(&config).await.unwrap()
            }
        };
        let (statuses, swept) = tokio::join!(futures::future::join_all(logins), sweep);
        assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
        assert_eq!(swept[0].0, "identity");
        assert!(swept[0].1.resealed >= users.len() as u64, "{:?}", swept[0].1);
        for (acct, _, _) in &users {
            assert!(stored_secret(&db, &acct.user_id).await.starts_with("lre1.2."));
        }

        // The report: version 1 protects nothing any more, version 2 everything.
        let report = lanerunner::keys::report(&app.config).await.unwrap();
        let keys = &report[0].1.keys;
        let v1 = keys.iter().find(|k| k.version == 1).unwrap();
        assert_eq!((v1.state.as_str(), v1.protects.values().sum::<u64>()), ("draining", 0));
        let v2 = keys.iter().find(|k| k.version == 2).unwrap();
        assert_eq!(v2.state, "active");
        let totp = v2.protects["users.mfa_secret"];
        assert!(totp > users.len() as u64, "{v2:?}");
        assert!(report[0].1.clear.values().all(|n| *n == 0), "{:?}", report[0].1.clear);
        let text = lanerunner::keys::render(&report);
        assert!(text.contains("identity\tv1\tdraining") && text.contains("identity\tv2\tactive"), "{text}");

        // Retired once unused (here without the grace period): its wrapped copy is erased.
        let direct = sealer(&app, &db).await;
        let swept = direct.sweep(SEALED_FIELDS, 100, Duration::ZERO).await.unwrap();
        assert_eq!(swept.retired, vec![1]);
        let wrapped: String = on_db!(&db, |p| sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE version = 1")
            .fetch_one(p)
            .await
            .unwrap());
        assert_eq!(wrapped, "");

        // A value still under the retired key (a restored copy): refused, clearly, and the
        // sign-in answers a plain 500 that exposes nothing.
        // (Opening comes before the code is checked, so any code shows it.)
        let (victim, secret, _) = &users[0];
        set_secret(&db, &victim.user_id, &before_rotation).await;
        let err = direct.open(TOTP, &victim.user_id, &before_rotation).await.unwrap_err();
        assert!(matches!(err, SealError::Retired(1)), "{err}");
        // The instance re-reads its keys every `keys.active_refresh_secs`; until then it
        // still holds the retired key in memory.
        tokio::time::sleep(Duration::from_millis(app.config.keys.active_refresh_secs * 1000 + 700)).await;
        let res = mfa_login(&app, &victim.email, secret, step()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = res.text().await.unwrap();
        assert!(!body.contains(secret.as_str()) && !body.contains("lre1"), "{body}");
    }

    async fn a_sealed_value_opens_only_where_it_was_sealed_and_clear_ones_get_sealed(app: TestApp) {
        let db = app.app().db("identity").unwrap();
        let (a, a_secret, a_used) = enrolled(&app, "a@broker.example").await;
        let (b, _, _) = enrolled(&app, "b@broker.example").await;

        // A's sealed secret copied onto B's record does not open there: B cannot sign in
        // with A's codes, and nothing is exposed.
        let a_stored = stored_secret(&db, &a.user_id).await;
        set_secret(&db, &b.user_id, &a_stored).await;
        let res = mfa_login(&app, &b.email, &a_secret, next_step(a_used)).await;
        expect_problem(res, 500, "internal").await;
        let direct = sealer(&app, &db).await;
        let err = direct.open(TOTP, &b.user_id, &a_stored).await.unwrap_err();
        assert!(matches!(err, SealError::Unopenable { .. }), "{err}");
        // One altered character: refused too; a damaged form is told apart.
        let mut altered = a_stored.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(matches!(direct.open(TOTP, &a.user_id, &altered).await, Err(SealError::Unopenable { .. })));
        assert!(matches!(direct.open(TOTP, &a.user_id, "lre1.1.!!").await, Err(SealError::Malformed(_))));
        assert!(matches!(direct.open(TOTP, &a.user_id, "lre1.9.AAAA").await, Err(SealError::UnknownKey(9))));

        // A secret stored before sealing existed still works, and the sweep seals it.
        let (c, c_secret, c_used) = enrolled(&app, "c@broker.example").await;
        set_secret(&db, &c.user_id, &c_secret).await;
        assert_eq!(mfa_login(&app, &c.email, &c_secret, next_step(c_used)).await.status(), StatusCode::OK);
        let swept = direct.sweep(SEALED_FIELDS, 100, Duration::from_secs(3600)).await.unwrap();
        assert_eq!(swept.sealed, 1, "{swept:?}");
        let sealed = stored_secret(&db, &c.user_id).await;
        assert!(sealed.starts_with("lre1."), "{sealed}");
        assert_eq!(direct.open(TOTP, &c.user_id, &sealed).await.unwrap(), c_secret);
    }
}

async fn kms_call(target: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post("http://127.0.0.1:5000/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("TrentService.{target}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kms(key_id: &str) -> Arc<dyn KeyWrapper> {
    Arc::new(
        AwsKms::new(
            key_id.into(),
            "us-east-1".into(),
            Some("http://127.0.0.1:5000".into()),
            Some("test".into()),
            Some("test".into()),
        )
        .unwrap(),
    )
}

/// AWS KMS (moto's, on loopback) wraps the data keys: values seal and open; a change of
/// KMS key rewraps the data keys (no record touched); a data key KMS did not wrap, or a
/// keyring that is not KMS, is refused with the reason.
#[tokio::test]
async fn aws_kms_wraps_the_data_keys_and_a_new_kms_key_rewraps_them() {
    if lanerunner::testing::skip_engine_test("moto (S3 and KMS on 127.0.0.1:5000)") {
        return;
    }
    let (dir, db) = scratch_store("kms_test").await;
    on_db!(&db, |p| sqlx::query(
        "CREATE TABLE secrets (id TEXT PRIMARY KEY, value TEXT)"
    )
    .execute(p)
    .await
    .map(|_| ())
    .unwrap());
    let field = lanerunner_platform::sealing::SealedField {
        table: "secrets",
        column: "value",
        id_column: "id",
        id_kind: lanerunner_platform::sealing::IdKind::Text,
        purpose: "secrets.value",
    };

    let first = kms_call("CreateKey", json!({ "Description": "lanerunner test" })).await;
    let first = first["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let sealer = FieldSealer::connect(db.clone(), kms(&first), Duration::from_secs(1))
        .await
        .unwrap();
    let sealed = sealer.seal(&field, "r1", "+14155550142").await.unwrap();
    on_db!(&db, |p| sqlx::query(
        "INSERT INTO secrets VALUES ('r1', $1)"
    )
    .bind(&sealed)
    .execute(p)
    .await
    .map(|_| ())
    .unwrap());
    assert_eq!(
        sealer.open(&field, "r1", &sealed).await.unwrap(),
        "+14155550142"
    );
    let kek: String = on_db!(&db, |p| sqlx::query_scalar(
        "SELECT kek FROM data_keys WHERE version = 1"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(kek, format!("aws-kms:{first}"));

    // The KEK moves to a new KMS key: the sweep rewraps the data key; a fresh instance on
    // the new key alone opens the old record.
    let second = kms_call(
        "CreateKey",
        json!({ "Description": "lanerunner test, rotated" }),
    )
    .await;
    let second = second["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let moved = FieldSealer::connect(db.clone(), kms(&second), Duration::from_secs(1))
        .await
        .unwrap();
    let swept = moved
        .sweep(&[field], 100, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(swept.rewrapped, 1);
    assert_eq!(swept.resealed, 0, "a KEK rotation touches no record");
    let kek: String = on_db!(&db, |p| sqlx::query_scalar(
        "SELECT kek FROM data_keys WHERE version = 1"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(kek, format!("aws-kms:{second}"));
    let fresh = FieldSealer::connect(db.clone(), kms(&second), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        fresh.open(&field, "r1", &sealed).await.unwrap(),
        "+14155550142"
    );

    // The local keyring cannot unwrap what KMS wrapped: refused with the reason.
    let local: Arc<dyn KeyWrapper> = Arc::new(LocalKek(Arc::new(FixedKeys(Arc::new(
        Keyring::new(1, [(1, vec![7; 32])].into()).unwrap(),
    )))));
    let err = FieldSealer::connect(db.clone(), local, Duration::from_secs(1))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("not by the local keyring"),
        "{err}"
    );
    // KMS refuses a wrapped key it never made.
    let bogus = lanerunner_platform::sealing::WrappedKey {
        kek: format!("aws-kms:{second}"),
        bytes: vec![1; 64],
    };
    assert!(kms(&second).unwrap(&bogus).await.is_err());
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `lanerunner bench sealing` at a small size: both paths run, and its rotation serves
/// every request, leaves nothing under the old key and retires it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sealing_benchmark_rotates_online_without_a_failed_request() {
    let report = lanerunner::bench_sealing::bench(lanerunner::bench_sealing::SealingBench {
        ops: 50,
        workers: 2,
        records: 3_000,
        store: "sqlite".into(),
        postgres_admin_url: String::new(),
    })
    .await
    .unwrap();
    assert!(
        report.contains("sealed (LaneRunner)") && report.contains("clear (peer)"),
        "{report}"
    );
    assert!(
        report.contains("**0 failed**") && report.contains("retired"),
        "{report}"
    );
}

/// A SQLite store of the platform's tables alone, in a directory of its own.
async fn scratch_store(name: &str) -> (std::path::PathBuf, Db) {
    let dir = std::env::temp_dir().join(format!("lanerunner-{name}-{}", Uuid::new_v4()));
    let mut config = lanerunner::testing::test_config(dir.clone());
    config.data_dir = dir.clone();
    let db = lanerunner_platform::db::connect(&config, name)
        .await
        .unwrap();
    db.migrate(&lanerunner_platform::db::Migrations::platform())
        .await
        .unwrap();
    (dir, db)
}

fn local_kek(current: u32, versions: &[u32]) -> Arc<dyn KeyWrapper> {
    let keys = versions.iter().map(|v| (*v, vec![*v as u8; 32])).collect();
    Arc::new(LocalKek(Arc::new(FixedKeys(Arc::new(
        Keyring::new(current, keys).unwrap(),
    )))))
}

/// A blind index (how a sealed phone number is found by equality): keyed (not a plain hash
/// of the number), one per use, made once per store even by instances starting at the same
/// instant, the same for every instance and after a restart, kept through a rotation of the
/// key-encryption key (rewrapped by the sweep, the old KEK version then dropped), and
/// refused — never made anew — under a KEK that did not wrap it.
#[tokio::test]
async fn a_blind_index_is_keyed_made_once_and_kept_through_a_kek_rotation() {
    let (dir, db) = scratch_store("blind_index_test").await;
    let number = "+14155550142";

    // Two instances' first use at the same instant: one key, the same index.
    let v1 = local_kek(1, &[1]);
    let (a, b) = (
        FieldSealer::lazy(db.clone(), v1.clone(), Duration::from_secs(60)),
        FieldSealer::lazy(db.clone(), v1.clone(), Duration::from_secs(60)),
    );
    let (ia, ib) = tokio::join!(a.blind_index("p", number), b.blind_index("p", number));
    let index = ia.unwrap();
    assert_eq!(index, ib.unwrap());
    assert!(index.starts_with("bi1."), "{index}");
    let keys: i64 = on_db!(&db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM index_keys"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(keys, 1);
    // Keyed and bound to its use: not SHA-256 of the number, another use another index,
    // another number another index.
    use sha2::Digest as _;
    let plain = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        sha2::Sha256::digest(number.as_bytes()),
    );
    assert!(!index.contains(&plain));
    assert_ne!(index, a.blind_index("q", number).await.unwrap());
    assert_ne!(index, a.blind_index("p", "+14155550143").await.unwrap());
    // A restart reads the same key.
    let restarted = FieldSealer::lazy(db.clone(), v1.clone(), Duration::from_secs(60));
    assert_eq!(restarted.blind_index("p", number).await.unwrap(), index);

    // The KEK moves to version 2: the sweep rewraps the index key (the store's first data
    // key is made now, under version 2), and an instance holding version 2 alone makes the
    // same index.
    let both = FieldSealer::connect(db.clone(), local_kek(2, &[1, 2]), Duration::from_secs(60))
        .await
        .unwrap();
    let swept = both
        .sweep(&[], 100, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(swept.rewrapped, 1, "the index key: {swept:?}");
    let report = both.report(&[]).await.unwrap();
    assert_eq!(report.index_key_kek.as_deref(), Some("local:2"));
    let only_v2 = FieldSealer::lazy(db.clone(), local_kek(2, &[2]), Duration::from_secs(60));
    assert_eq!(only_v2.blind_index("p", number).await.unwrap(), index);

    // A KEK that did not wrap it: refused with the reason, and no second key is made.
    let stranger = FieldSealer::lazy(db.clone(), local_kek(7, &[7]), Duration::from_secs(60));
    let err = stranger.blind_index("p", number).await.unwrap_err();
    assert!(matches!(err, SealError::Kek(_)), "{err}");
    let keys: i64 = on_db!(&db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM index_keys"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(keys, 1);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
