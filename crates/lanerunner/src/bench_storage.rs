//! `lanerunner bench storage`: what encryption at rest costs. The same files go through the
//! raw blob seam (put and get as they are) and through the storage service's path (a new
//! data key, AES-256-GCM sealing, the data key wrapped by the key-encryption key, the
//! SHA-256 checksum; then unwrapping and opening, whose tag checks the bytes, on the way
//! back), on the local
//! directory and on an S3 bucket (moto on loopback, `scripts/s3.sh`), with the same
//! concurrency. Throughput is plaintext MB a second.

use std::sync::Arc;
use std::time::Instant;

use lanerunner_platform::blob::{self, Blobs};
use lanerunner_platform::config::BlobConfig;
use lanerunner_storage::envelope::DataKey;
use lanerunner_storage::keyring::{Keyring, Wrapped};

pub struct StorageBench {
    pub files: usize,
    pub size_bytes: usize,
    pub concurrency: usize,
    /// `local`, `s3` or `both`.
    pub backend: String,
    pub s3_endpoint: String,
}

#[derive(Clone, Copy)]
enum Path {
    Raw,
    /// The raw seam plus the SHA-256 the service records on upload: what storing costs
    /// without encryption.
    Checksummed,
    Sealed,
}

struct Row {
    backend: &'static str,
    path: &'static str,
    put_mbps: f64,
    get_mbps: f64,
}

fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::new(1, [(1, vec![7u8; 32])].into()).expect("a one-key keyring"))
}

/// Puts then gets every file with `concurrency` at a time; the seconds each phase took.
async fn run(
    blobs: &Blobs,
    prefix: &str,
    path: Path,
    files: &[Arc<Vec<u8>>],
    concurrency: usize,
) -> anyhow::Result<(f64, f64)> {
    let keys = keyring();
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let wrapped: Arc<std::sync::Mutex<Vec<Option<(Wrapped, String)>>>> =
        Arc::new(std::sync::Mutex::new(vec![None; files.len()]));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, body) in files.iter().enumerate() {
        let (blobs, keys, sem, wrapped, body) = (
            blobs.clone(),
            keys.clone(),
            sem.clone(),
            wrapped.clone(),
            body.clone(),
        );
        let key = format!("{prefix}/{i}");
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await?;
            let bytes = match path {
                Path::Raw => body.to_vec(),
                Path::Checksummed => {
                    tokio::task::spawn_blocking(move || {
                        let _sum = lanerunner_storage::checksum(&body);
                        body.to_vec()
                    })
                    .await?
                }
                Path::Sealed => {
                    let id = key.clone();
                    let (sealed, w, sum) =
                        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                            let sum = lanerunner_storage::checksum(&body);
                            let dek = DataKey::generate()?;
                            let sealed = dek.seal(id.as_bytes(), &body)?;
                            Ok((sealed, keys.wrap(&dek)?, sum))
                        })
                        .await??;
                    wrapped.lock().expect("not poisoned")[i] = Some((w, sum));
                    sealed
                }
            };
            blobs.put(&key, bytes).await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let put = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, body) in files.iter().enumerate() {
        let (blobs, keys, sem, wrapped, body) = (
            blobs.clone(),
            keys.clone(),
            sem.clone(),
            wrapped.clone(),
            body.clone(),
        );
        let key = format!("{prefix}/{i}");
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await?;
            let stored = blobs.get(&key).await?;
            let plain = match path {
                Path::Raw | Path::Checksummed => stored,
                Path::Sealed => {
                    let (w, _checksum) = wrapped.lock().expect("not poisoned")[i]
                        .clone()
                        .expect("put first");
                    // As the service reads: the GCM tag proves the bytes (no second hash).
                    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
                        let dek = keys.unwrap(&w)?;
                        Ok(dek.open(key.as_bytes(), stored)?)
                    })
                    .await??
                }
            };
            anyhow::ensure!(
                plain.len() == body.len(),
                "read back {} of {} bytes",
                plain.len(),
                body.len()
            );
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((put, start.elapsed().as_secs_f64()))
}

pub async fn bench(b: StorageBench) -> anyhow::Result<String> {
    let mut files = Vec::new();
    for i in 0..b.files {
        // Incompressible bytes, like photos and scans.
        let mut f = vec![0u8; b.size_bytes];
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
        for chunk in f.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        files.push(Arc::new(f));
    }
    let total_mb = (b.files * b.size_bytes) as f64 / 1e6;
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-bench-storage-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut backends: Vec<(&'static str, Blobs)> = Vec::new();
    if b.backend == "local" || b.backend == "both" {
        backends.push(("local directory", blob::open(&BlobConfig::default(), &dir)?));
    }
    if b.backend == "s3" || b.backend == "both" {
        let config = BlobConfig {
            url: format!(
                "s3://lanerunner-test/bench-{}",
                uuid::Uuid::new_v4().simple()
            ),
            endpoint: Some(b.s3_endpoint.clone()),
            allow_http: true,
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
            ..BlobConfig::default()
        };
        backends.push(("S3 (moto on loopback)", blob::open(&config, &dir)?));
    }
    anyhow::ensure!(
        !backends.is_empty(),
        "unknown backend {:?}; use local, s3 or both",
        b.backend
    );
    let mut rows = Vec::new();
    for (name, blobs) in &backends {
        // A warm-up round of each path, then the measured rounds, alternating, best of three.
        for (round, path) in [Path::Raw, Path::Checksummed, Path::Sealed]
            .into_iter()
            .cycle()
            .take(12)
            .enumerate()
        {
            let (put, get) = run(
                blobs,
                &format!("bench/r{round}"),
                path,
                &files,
                b.concurrency,
            )
            .await?;
            if round < 3 {
                continue;
            }
            let label = match path {
                Path::Raw => "raw seam",
                Path::Checksummed => "raw seam + SHA-256 on upload",
                Path::Sealed => "encrypted (+ SHA-256 on upload)",
            };
            let row = Row {
                backend: name,
                path: label,
                put_mbps: total_mb / put,
                get_mbps: total_mb / get,
            };
            match rows
                .iter_mut()
                .find(|r: &&mut Row| r.backend == row.backend && r.path == row.path)
            {
                Some(best) => {
                    best.put_mbps = best.put_mbps.max(row.put_mbps);
                    best.get_mbps = best.get_mbps.max(row.get_mbps);
                }
                None => rows.push(row),
            }
        }
        for k in blobs.list("bench").await? {
            blobs.delete(&k).await?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut out = format!(
        "{} files of {:.1} MB (incompressible), {} at a time; plaintext MB/s, best of 3 rounds after a warm-up\n\n| backend | path | upload MB/s | download MB/s | cost vs the raw seam (up / down) | encryption alone, vs raw + SHA-256 (up / down) |\n|---|---|---:|---:|---:|---:|\n",
        b.files,
        b.size_bytes as f64 / 1e6,
        b.concurrency
    );
    let cost = |r: &Row, base: &str| {
        let base = rows
            .iter()
            .find(|x| x.backend == r.backend && x.path == base)
            .expect("every path measured");
        format!(
            "{:.1} % / {:.1} %",
            100.0 * (1.0 - r.put_mbps / base.put_mbps),
            100.0 * (1.0 - r.get_mbps / base.get_mbps)
        )
    };
    for r in &rows {
        let (vs_raw, alone) = match r.path {
            "raw seam" => ("—".to_owned(), "—".to_owned()),
            "raw seam + SHA-256 on upload" => (cost(r, "raw seam"), "—".to_owned()),
            _ => (cost(r, "raw seam"), cost(r, "raw seam + SHA-256 on upload")),
        };
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {} | {} |\n",
            r.backend, r.path, r.put_mbps, r.get_mbps, vs_raw, alone
        ));
    }
    Ok(out)
}
