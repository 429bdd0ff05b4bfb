//! The storage service over real HTTP, on SQLite and PostgreSQL (bytes in the local
//! directory) and on an S3 bucket: files checked by content, sealed at rest, read back
//! against their checksum, downloaded through signed links, rewrapped after a key rotation,
//! and deleted for good.

use lanerunner::both_backends;
use lanerunner::storage_keys::{self, KeyringFile};
use lanerunner::testing::{expect_problem, json_of, skip_engine_test, Account, Backend, TestApp};
use lanerunner_storage::keyring::KeyEncryptionKeys;
use reqwest::StatusCode;
use serde_json::json;

/// A small but real PDF: a page with a line of text.
fn pdf() -> Vec<u8> {
    let mut b = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n".to_vec();
    b.extend(b"% Proof of delivery, load LR-1001, signed by the consignee\n".repeat(40));
    b.extend(b"trailer<</Root 1 0 R>>\n%%EOF\n");
    b
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

async fn upload(
    app: &TestApp,
    who: &Account,
    name: &str,
    ct: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let req = app
        .client
        .post(app.url(&format!("/v1/files?name={name}")))
        .header("content-type", ct)
        .body(body);
    app.send(req, Some(&who.access)).await
}

/// Every file under the data directory's blobs, with its bytes.
fn blobs_on_disk(app: &TestApp) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.config.data_dir.join("blobs/files"), &mut out);
    out
}

both_backends!(
    async fn a_file_is_sealed_at_rest_read_back_whole_and_kept_from_other_organizations(
        app: TestApp,
    ) {
        let broker = app.signup("files-b@example.com", "broker").await;
        let rival = app.signup("files-r@example.com", "broker").await;
        let body = pdf();
        let file = json_of(
            upload(
                &app,
                &broker,
                "pod%20LR-1001.pdf",
                "application/pdf",
                body.clone(),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(file["name"], "pod LR-1001.pdf");
        assert_eq!(file["content_type"], "application/pdf");
        assert_eq!(file["size_bytes"], body.len());
        let id = file["id"].as_str().unwrap().to_owned();

        // At rest: sealed bytes only (when the bytes are local), 28 bytes longer, no plaintext.
        if app.config.blob.url.is_empty() {
            let stored = blobs_on_disk(&app);
            assert_eq!(
                stored.len(),
                1,
                "{:?}",
                stored.iter().map(|s| &s.0).collect::<Vec<_>>()
            );
            assert_eq!(stored[0].1.len(), body.len() + 28);
            assert!(
                !stored[0].1.windows(14).any(|w| w == b"Proof of deliv"),
                "the plaintext is not on disk"
            );
        }

        let res = app
            .get(&format!("/v1/files/{id}/content"), Some(&broker.access))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"pod LR-1001.pdf\""));
        assert_eq!(res.bytes().await.unwrap().to_vec(), body);

        let page = json_of(
            app.get("/v1/files", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["items"][0]["id"], id.as_str());
        assert!(page.get("next_cursor").is_none(), "{page}");
        expect_problem(
            app.get("/v1/files?cursor=not-ours", Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;

        // Another organization finds nothing: not the file, its content, a link or a delete.
        for path in [format!("/v1/files/{id}"), format!("/v1/files/{id}/content")] {
            expect_problem(app.get(&path, Some(&rival.access)).await, 404, "not-found").await;
        }
        expect_problem(
            app.post_json(
                &format!("/v1/files/{id}/links"),
                &json!({}),
                Some(&rival.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.delete(&format!("/v1/files/{id}"), Some(&rival.access))
                .await,
            404,
            "not-found",
        )
        .await;
        let theirs = json_of(
            app.get("/v1/files", Some(&rival.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs["items"], json!([]));
    }

    async fn a_file_that_lies_about_its_type_or_size_is_refused_and_nothing_is_kept(app: TestApp) {
        let broker = app.signup("lies@example.com", "broker").await;
        let p = expect_problem(
            upload(
                &app,
                &broker,
                "invoice.pdf",
                "application/pdf",
                PNG.to_vec(),
            )
            .await,
            415,
            "content-type-mismatch",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("PNG"), "{p}");
        expect_problem(
            upload(
                &app,
                &broker,
                "invoice.pdf",
                "application/pdf",
                b"#!/bin/sh\necho hi\n".to_vec(),
            )
            .await,
            415,
            "file-type-not-accepted",
        )
        .await;
        expect_problem(
            upload(&app, &broker, "empty.pdf", "application/pdf", Vec::new()).await,
            422,
            "validation",
        )
        .await;
        let p = expect_problem(
            upload(
                &app,
                &broker,
                "big.pdf",
                "application/pdf",
                vec![b'%'; 5000],
            )
            .await,
            413,
            "file-too-large",
        )
        .await;
        assert_eq!(p["max_bytes"], 4096);
        expect_problem(
            upload(
                &app,
                &broker,
                "a%07b.pdf",
                "application/pdf",
                pdf()[..1500].to_vec(),
            )
            .await,
            422,
            "validation",
        )
        .await;
        // Declared as nothing in particular, it is what its bytes are.
        let png = json_of(
            upload(
                &app,
                &broker,
                "..%2F..%2Fetc%2Fphoto.png",
                "application/octet-stream",
                PNG.to_vec(),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (png["content_type"].as_str(), png["name"].as_str()),
            (Some("image/png"), Some("photo.png"))
        );
        let page = json_of(
            app.get("/v1/files", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            1,
            "only the good file was kept"
        );
    }

    async fn a_signed_link_downloads_without_a_session_until_it_expires(app: TestApp) {
        let broker = app.signup("links@example.com", "broker").await;
        let body = pdf()[..1500].to_vec();
        let file = json_of(
            upload(&app, &broker, "bol.pdf", "application/pdf", body.clone()).await,
            StatusCode::CREATED,
        )
        .await;
        let id = file["id"].as_str().unwrap();
        expect_problem(
            app.post_json(
                &format!("/v1/files/{id}/links"),
                &json!({"expires_in_secs": 5}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let link = json_of(
            app.post_json(
                &format!("/v1/files/{id}/links"),
                &json!({"expires_in_secs": 600}),
                Some(&broker.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let url = link["url"].as_str().unwrap();
        let local = url.replacen(&app.config.public_url, &app.base_url(), 1);
        let res = app.client.get(&local).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().to_vec(), body);
        // Changed in any part, it is not a link.
        let longer = local.replace("expires=", "expires=9");
        expect_problem(
            app.client.get(&longer).send().await.unwrap(),
            404,
            "not-found",
        )
        .await;
        let forged = format!("{}{}", &local[..local.len() - 4], "0000");
        expect_problem(
            app.client.get(&forged).send().await.unwrap(),
            404,
            "not-found",
        )
        .await;
        // Expired: signed with the deployment's own key an hour ago.
        let keys = KeyringFile::open_or_create(storage_keys::path_of(&app.config)).unwrap();
        let ring = keys.keyring().await.unwrap();
        let past = chrono::Utc::now().timestamp() - 3600;
        let s = lanerunner_storage::link::sign(&ring, id.parse().unwrap(), past).unwrap();
        let old = app.url(&format!(
            "/v1/files/{id}/download?expires={}&v={}&signature={}",
            s.expires, s.version, s.signature
        ));
        expect_problem(
            app.client.get(&old).send().await.unwrap(),
            410,
            "link-expired",
        )
        .await;
    }

    async fn a_key_rotation_rewraps_every_object_and_none_becomes_unreadable(app: TestApp) {
        let broker = app.signup("rotate@example.com", "broker").await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let mut body = pdf()[..1500].to_vec();
            body.extend(format!("% copy {i}\n").bytes());
            let f = json_of(
                upload(
                    &app,
                    &broker,
                    &format!("c{i}.pdf"),
                    "application/pdf",
                    body.clone(),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
            ids.push((f["id"].as_str().unwrap().to_owned(), body));
        }
        let storage = app
            .app()
            .typed::<lanerunner_storage::StorageService>()
            .unwrap()
            .storage()
            .clone();
        assert_eq!(storage.versions_in_use().await.unwrap(), [(1, 3)]);
        // The file system's clock may not tick between two writes of the keyring.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(
            storage_keys::rotate(&storage_keys::path_of(&app.config)).unwrap(),
            2
        );
        // Readable before the sweep (under v1) …
        for (id, body) in &ids {
            let res = app
                .get(&format!("/v1/files/{id}/content"), Some(&broker.access))
                .await;
            assert_eq!(res.bytes().await.unwrap().to_vec(), *body);
        }
        // … new files go under v2, and the sweep moves the old ones (twice is a no-op).
        json_of(
            upload(
                &app,
                &broker,
                "new.pdf",
                "application/pdf",
                pdf()[..1500].to_vec(),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(storage.rewrap().await.unwrap(), 3);
        assert_eq!(storage.rewrap().await.unwrap(), 0);
        assert_eq!(storage.versions_in_use().await.unwrap(), [(2, 4)]);
        for (id, body) in &ids {
            let res = app
                .get(&format!("/v1/files/{id}/content"), Some(&broker.access))
                .await;
            assert_eq!(res.bytes().await.unwrap().to_vec(), *body);
        }
    }

    async fn deleting_a_file_removes_its_key_and_its_bytes(app: TestApp) {
        let broker = app.signup("gone@example.com", "broker").await;
        let file = json_of(
            upload(
                &app,
                &broker,
                "cert.pdf",
                "application/pdf",
                pdf()[..1500].to_vec(),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = file["id"].as_str().unwrap();
        let link = json_of(
            app.post_json(
                &format!("/v1/files/{id}/links"),
                &json!({}),
                Some(&broker.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let res = app
            .delete(&format!("/v1/files/{id}"), Some(&broker.access))
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        if app.config.blob.url.is_empty() {
            assert!(
                blobs_on_disk(&app).is_empty(),
                "the sealed bytes are gone from the disk"
            );
        }
        expect_problem(
            app.get(&format!("/v1/files/{id}/content"), Some(&broker.access))
                .await,
            404,
            "not-found",
        )
        .await;
        let url =
            link["url"]
                .as_str()
                .unwrap()
                .replacen(&app.config.public_url, &app.base_url(), 1);
        expect_problem(app.client.get(&url).send().await.unwrap(), 404, "not-found").await;
        expect_problem(
            app.delete(&format!("/v1/files/{id}"), Some(&broker.access))
                .await,
            404,
            "not-found",
        )
        .await;
    }
);

/// A viewer reads files but neither stores nor deletes them; an API key needs `files:*`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_store_files() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("owner@example.com", "carrier").await;
    let viewer = app
        .invite_and_join(&owner, "viewer@example.com", "viewer")
        .await;
    let file = json_of(
        upload(&app, &owner, "pod.png", "image/png", PNG.to_vec()).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        upload(&app, &viewer, "pod.png", "image/png", PNG.to_vec()).await,
        403,
        "forbidden",
    )
    .await;
    let id = file["id"].as_str().unwrap();
    expect_problem(
        app.delete(&format!("/v1/files/{id}"), Some(&viewer.access))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/files/{id}/content"), Some(&viewer.access))
            .await
            .status(),
        StatusCode::OK
    );
    let key = json_of(
        app.post_json(
            "/v1/org/api-keys",
            &json!({"name": "tms", "scopes": ["loads:read"]}),
            Some(&owner.access),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = key["secret"].as_str().unwrap();
    expect_problem(
        upload(
            &app,
            &Account {
                access: secret.into(),
                ..owner.clone()
            },
            "x.png",
            "image/png",
            PNG.to_vec(),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

/// The same files in an S3 bucket: moto's server on 127.0.0.1:5000 (`scripts/s3.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_sealed_to_an_s3_bucket() {
    if skip_engine_test("an S3 server (moto, scripts/s3.sh)") {
        return;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, lanerunner::testing::use_local_s3).await;
    let broker = app.signup("s3-files@example.com", "broker").await;
    let body = pdf();
    let file = json_of(
        upload(&app, &broker, "pod.pdf", "application/pdf", body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let blobs = lanerunner_platform::blob::open(&app.config.blob, &app.config.data_dir).unwrap();
    let keys: Vec<String> = blobs.list("files").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let sealed = blobs.get(&keys[0]).await.unwrap();
    assert_eq!(sealed.len(), body.len() + 28);
    assert!(!sealed.windows(14).any(|w| w == b"Proof of deliv"));
    let res = app
        .get(&format!("/v1/files/{id}/content"), Some(&broker.access))
        .await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), body);
    assert_eq!(
        app.delete(&format!("/v1/files/{id}"), Some(&broker.access))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        blobs.list("files").await.unwrap().is_empty(),
        "deleted from the bucket"
    );
    assert!(!app.config.data_dir.join("blobs/files").exists());
}
