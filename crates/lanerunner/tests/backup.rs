//! Backups and disaster recovery: a backup taken while brokers keep posting loads,
//! the stores, files and keyring destroyed, the backup restored, and everything committed
//! before the backup began is there, readable (its sealed fields open under the restored
//! keys) and consistent (the audit chains verify, the outbox publishes what it held).
//! Refused before anything is touched: a corrupt part, a part of another backup, a backup
//! of another deployment, the wrong identity, a target that holds data without --force.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lanerunner::backup::{self, manifest::Refusal, CreateOptions, OpenOptions, RestoreOptions};
use lanerunner::both_backends;
use lanerunner::testing::{
    dallas_atlanta_load, destroy_stores, json_of, posted, TestApp, TEST_PASSWORD,
};
use lanerunner_platform::{on_db, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Identity files for the data and for the keyring, and a backup location, removed after.
struct Custody {
    dir: PathBuf,
    data: PathBuf,
    keys: PathBuf,
    data_public: String,
    keys_public: String,
}

impl Custody {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("lr-backup-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("location")).unwrap();
        let (data_text, data_public) = backup::new_identity();
        let (keys_text, keys_public) = backup::new_identity();
        let (data, keys) = (dir.join("data.age-identity"), dir.join("keys.age-identity"));
        std::fs::write(&data, data_text).unwrap();
        std::fs::write(&keys, keys_text).unwrap();
        Custody {
            dir,
            data,
            keys,
            data_public,
            keys_public,
        }
    }

    fn configure(&self, config: &Config) -> Config {
        let mut c = config.clone();
        c.backup.url = format!("file://{}", self.dir.join("location").display());
        c.backup.deployment = "prod".into();
        c.backup.recipients = vec![self.data_public.clone()];
        c.backup.keys_recipients = vec![self.keys_public.clone()];
        c.backup.keep = 3;
        c
    }

    fn open(&self) -> OpenOptions {
        OpenOptions {
            identity: Some(self.data.clone()),
            keys_identity: Some(self.keys.clone()),
        }
    }

    fn part_path(&self, backup: &str, part: &str) -> PathBuf {
        self.dir
            .join("location")
            .join(backup)
            .join(format!("{part}.age"))
    }
}

impl Drop for Custody {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn login(app: &TestApp, email: &str) -> String {
    let res = app
        .post_json(
            "/v1/auth/login",
            &json!({ "email": email, "password": TEST_PASSWORD }),
            None,
        )
        .await;
    let body = json_of(res, StatusCode::OK).await;
    body["access_token"]
        .as_str()
        .or(body["tokens"]["access_token"].as_str())
        .expect("an access token")
        .to_string()
}

fn refusal(e: anyhow::Error) -> Refusal {
    e.downcast::<Refusal>()
        .unwrap_or_else(|e| panic!("expected a refusal, got: {e:#}"))
}

fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

async fn loads_of(app: &TestApp, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/loads?limit=100&cursor={c}"),
            None => "/v1/loads?limit=100".to_string(),
        };
        let page = json_of(app.get(&path, Some(token)).await, StatusCode::OK).await;
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

both_backends! {
    async fn a_restore_brings_back_everything_committed_before_the_backup(app: TestApp) {
        let custody = Custody::new();
        let broker = app.signup("backup-broker@example.com", "broker").await;
        let carrier = app.signup("backup-carrier@example.com", "carrier").await;
        let mut before = Vec::new();
        for i in 0..15 {
            before.push(posted(&app, &broker, &dallas_atlanta_load(&format!("B-{i}"), 250_000 + i)).await);
        }
        // A stored file (sealed by the storage service's keyring) and a phone number (a
        // sealed field): both must open after the restore.
        let file = app
            .send(
                app.client
                    .post(app.url("/v1/files?name=rate-con.pdf"))
                    .header("content-type", "application/pdf")
                    .body(b"%PDF-1.4 rate confirmation".to_vec()),
                Some(&broker.access),
            )
            .await;
        let file = json_of(file, StatusCode::CREATED).await["id"].as_str().unwrap().to_string();

        // Brokers keep posting while the backup is taken.
        let writing = Arc::new(AtomicBool::new(true));
        let config = custody.configure(&app.config);
        let app = Arc::new(app);
        let writer = {
            let (app, broker, writing) = (app.clone(), broker.clone(), writing.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while writing.load(Ordering::SeqCst) {
                    posted(&app, &broker, &dallas_atlanta_load(&format!("D-{n}"), 260_000)).await;
                    n += 1;
                }
                n
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let manifest = backup::create(&config, &CreateOptions::default()).await.expect("the backup is taken");
        writing.store(false, Ordering::SeqCst);
        let during = writer.await.unwrap();
        assert!(during > 0, "loads were posted while the backup ran");
        assert!(manifest.stores.iter().any(|s| s.service == "loads"), "{manifest:?}");
        assert!(manifest.part(backup::manifest::PartKind::Keys).next().is_some());
        let after = posted(&app, &broker, &dallas_atlanta_load("AFTER", 270_000)).await;

        let verified = backup::verify(&config, "latest", &custody.open()).await.expect("the backup verifies");
        assert_eq!(verified.decrypted, manifest.parts.len());
        assert!(verified.objects >= 1, "the stored file is in the backup");

        // Restoring over live data is refused without --force, and nothing changes.
        let app = Arc::into_inner(app).expect("the writer is done");
        let stopped = app.stop().await;
        let restore = RestoreOptions { open: custody.open(), ..Default::default() };
        let refused = backup::restore(&config, &manifest.id, &restore).await.unwrap_err();
        assert!(matches!(refusal(refused), Refusal::NotEmpty(_)));

        destroy_stores(&config).await.unwrap();
        let report = backup::restore(&config, &manifest.id, &restore).await.expect("the restore succeeds");
        assert!(report.keys_restored);
        assert!(report.stores.contains(&"identity".to_string()));
        assert!(!files_under(&config.data_dir.join("keys")).is_empty(), "the keyring is back");

        let app = stopped.start().await;
        let token = login(&app, &broker.email).await;
        let loads = loads_of(&app, &token).await;
        for id in &before {
            assert!(loads.contains(id), "load {id}, committed before the backup, is restored");
        }
        assert!(!loads.contains(&after), "a load posted after the backup is not in it");
        let content = app.get(&format!("/v1/files/{file}/content"), Some(&token)).await;
        assert_eq!(content.status(), StatusCode::OK);
        assert_eq!(content.bytes().await.unwrap().as_ref(), b"%PDF-1.4 rate confirmation");
        let audit = json_of(app.get("/v1/org/audit-events/verify", Some(&token)).await, StatusCode::OK).await;
        assert_eq!(audit["intact"], true, "{audit}");
        login(&app, &carrier.email).await;

        // The outbox publishes what it held when the backup was taken, once.
        let db = app.app().db("loads").unwrap();
        let mut unpublished = i64::MAX;
        for _ in 0..100 {
            unpublished = on_db!(&db, |p| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"
            )
            .fetch_one(p)
            .await)
            .unwrap();
            if unpublished == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(unpublished, 0, "the restored outbox drains");
    }

    async fn an_erasure_made_after_the_backup_is_made_again_after_the_restore(app: TestApp) {
        let custody = Custody::new();
        let owner = app.signup("reerase-owner@example.com", "broker").await;
        let gone = app.invite_and_join(&owner, "reerase-me@example.com", "dispatcher").await;
        let uid: uuid::Uuid = gone.user_id.parse().unwrap();
        let config = custody.configure(&app.config);
        let manifest = backup::create(&config, &CreateOptions::default()).await.unwrap();

        // After the backup: the member leaves and is erased.
        json_of(
            app.patch_json(&format!("/v1/org/users/{uid}"), &json!({"active": false}), Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        json_of(
            app.post_json(&format!("/v1/org/users/{uid}/erasure"), &json!({}), Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        let blobs = lanerunner_platform::blob::open(&config.blob, &config.data_dir).unwrap();
        let key = format!("privacy/erasures/{}/{uid}.json", owner.org_id);
        let entry: Value = serde_json::from_slice(&blobs.get(&key).await.expect("the erasure is in the register")).unwrap();
        assert_eq!(entry["erased_by"], owner.user_id.as_str(), "{entry}");
        assert!(!String::from_utf8_lossy(&blobs.get(&key).await.unwrap()).contains("reerase-me"), "ids only");

        // The stores go back to before the erasure; the file store (the register) stays.
        let stopped = app.stop().await;
        let restore = RestoreOptions { open: custody.open(), force: true, ..Default::default() };
        backup::restore(&config, &manifest.id, &restore).await.expect("the restore succeeds");
        let restored = lanerunner_platform::db::connect(&config, "identity").await.unwrap();
        let whole: Option<String> = on_db!(&restored, |p| sqlx::query_scalar(
            "SELECT email FROM users WHERE id = $1 AND erased_at IS NULL"
        )
        .bind(uid)
        .fetch_optional(p)
        .await)
        .unwrap();
        assert_eq!(whole.as_deref(), Some("reerase-me@example.com"), "the restored store has them whole");
        restored.close().await;

        // Identity erases them again before serving: deactivated, emptied, recorded, and
        // announced (notifications erases its copy again).
        let app = stopped.start().await;
        let theirs = json!({"email": "reerase-me@example.com", "password": TEST_PASSWORD});
        assert_eq!(app.post_json("/v1/auth/login", &theirs, None).await.status(), 401);
        // Tokens from before the restore may name sessions it does not hold: sign in again.
        let owner_token = login(&app, &owner.email).await;
        let shown = json_of(app.get(&format!("/v1/org/users/{uid}"), Some(&owner_token)).await, StatusCode::OK).await;
        assert_eq!(shown["name"], "Erased member", "{shown}");
        assert_eq!(shown["active"], false);
        let audit = json_of(app.get("/v1/org/audit-events?limit=200", Some(&owner_token)).await, StatusCode::OK).await;
        let again = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "member_erased" && a["detail"]["reapplied"].is_object())
            .unwrap_or_else(|| panic!("the re-erasure is recorded: {audit}"));
        assert_eq!(again["target_id"], gone.user_id.as_str());
        assert_eq!(again["detail"]["reapplied"]["first_erased_by"], owner.user_id.as_str());
        let verify = json_of(app.get("/v1/org/audit-events/verify", Some(&owner_token)).await, StatusCode::OK).await;
        assert_eq!(verify["intact"], true, "{verify}");
        let notifications = app.app().db("notifications").unwrap();
        let mut email = None;
        for _ in 0..150 {
            email = on_db!(&notifications, |p| sqlx::query_scalar::<_, String>(
                "SELECT email FROM nt_members WHERE user_id = $1"
            )
            .bind(uid)
            .fetch_optional(p)
            .await)
            .unwrap();
            if email.as_deref() == Some("") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(email.as_deref(), Some(""), "notifications erased its restored copy");

        // A second reconciliation finds nothing to do.
        let done = app.app().identity().unwrap().reconcile_erasures().await.unwrap();
        assert_eq!((done.entries, done.reapplied.len(), done.recorded), (1, 0, 0), "{done:?}");
    }

    async fn a_damaged_or_foreign_backup_is_refused_before_anything_is_touched(app: TestApp) {
        let custody = Custody::new();
        let broker = app.signup("damage-broker@example.com", "broker").await;
        posted(&app, &broker, &dallas_atlanta_load("X-1", 250_000)).await;
        let config = custody.configure(&app.config);
        let first = backup::create(&config, &CreateOptions::default()).await.unwrap();
        posted(&app, &broker, &dallas_atlanta_load("X-2", 250_000)).await;
        let second = backup::create(&config, &CreateOptions::default()).await.unwrap();
        let stopped = app.stop().await;
        let before = files_under(&config.data_dir);
        let force = RestoreOptions { open: custody.open(), force: true, ..Default::default() };

        // Another deployment's backup.
        let mut staging = config.clone();
        staging.backup.deployment = "staging".into();
        let e = backup::restore(&staging, &second.id, &force).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::OtherDeployment { .. }));

        // The wrong identity.
        let stranger = custody.dir.join("stranger");
        std::fs::write(&stranger, backup::new_identity().0).unwrap();
        let wrong = RestoreOptions {
            open: OpenOptions { identity: Some(stranger), keys_identity: None },
            force: true,
            ..Default::default()
        };
        let e = backup::restore(&config, &second.id, &wrong).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::Corrupt { ref why, .. } if why.contains("none of the given identities")));

        // A part of another backup in its place, checksum and all: its sealed header gives it away.
        let part = second.parts.iter().find(|p| p.name == "stores/identity.sqlite" || p.name == "stores/postgres.dump").unwrap();
        std::fs::copy(custody.part_path(&first.id, &part.name), custody.part_path(&second.id, &part.name)).unwrap();
        let manifest_path = custody.dir.join("location").join(&second.id).join("manifest.json");
        let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        let swapped = std::fs::read(custody.part_path(&second.id, &part.name)).unwrap();
        for p in m["parts"].as_array_mut().unwrap() {
            if p["name"] == part.name.as_str() {
                p["sha256"] = json!(sha256_hex(&swapped));
                p["bytes"] = json!(swapped.len());
            }
        }
        std::fs::write(&manifest_path, serde_json::to_vec(&m).unwrap()).unwrap();
        let e = backup::restore(&config, &second.id, &force).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::Corrupt { ref why, .. } if why.contains("does not belong")));

        // A flipped bit: the checksum catches it, with or without keys.
        let path = custody.part_path(&first.id, &part.name);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        let e = backup::verify(&config, &first.id, &OpenOptions::default()).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::Corrupt { ref why, .. } if why.contains("checksum")));
        let e = backup::restore(&config, &first.id, &force).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::Corrupt { .. }));

        // A missing part, an unknown id.
        std::fs::remove_file(custody.part_path(&first.id, &part.name)).unwrap();
        let e = backup::verify(&config, &first.id, &OpenOptions::default()).await.unwrap_err();
        assert!(matches!(refusal(e), Refusal::Missing { .. }));
        assert!(backup::verify(&config, "../../etc", &OpenOptions::default()).await.is_err());

        if config.database.url.is_none() {
            assert_eq!(files_under(&config.data_dir), before, "nothing under the data directory changed");
        }
        let app = stopped.start().await;
        let token = login(&app, &broker.email).await;
        assert_eq!(loads_of(&app, &token).await.len(), 2, "the deployment still holds its data");
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn keep_prunes_the_oldest_and_create_needs_recipients() {
    let app = TestApp::spawn(lanerunner::testing::Backend::Sqlite).await;
    let custody = Custody::new();
    let config = custody.configure(&app.config);
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            backup::create(&config, &CreateOptions::default())
                .await
                .unwrap()
                .id,
        );
    }
    let listed: Vec<String> = backup::list(&config)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(listed, ids[1..], "keep = 3: the oldest is gone");

    let mut none = config.clone();
    none.backup.recipients.clear();
    let e = backup::create(&none, &CreateOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("backup.recipients is not set"), "{e}");
    let mut no_keys = config.clone();
    no_keys.backup.keys_recipients.clear();
    let e = backup::create(&no_keys, &CreateOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("backup.keys_recipients"), "{e}");
    let without = backup::create(&no_keys, &CreateOptions { without_keys: true })
        .await
        .unwrap();
    assert!(without
        .part(backup::manifest::PartKind::Keys)
        .next()
        .is_none());
    let mut bad = config.clone();
    bad.backup.recipients = vec!["age1notakey".into()];
    assert!(backup::create(&bad, &CreateOptions::default())
        .await
        .is_err());
}
