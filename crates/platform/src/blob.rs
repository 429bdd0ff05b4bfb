//! The blob seam: where files go (the analytics archive now; documents and reports next).
//! Services see [`BlobStore`] — put, get, list by key — and never a backend. The one
//! adapter is `object_store` (the Arrow project's, which DuckDB, Spark and DataFusion users
//! already trust), opened from `blob.*`: a local directory embedded
//! (`<data_dir>/blobs`), an S3-compatible bucket at scale (`s3://bucket/prefix`, any
//! endpoint: AWS, MinIO, a local `moto_server` in tests). Credentials come from
//! `blob.access_key_id` / `blob.secret_access_key` (set them through the environment,
//! `LANERUNNER_BLOB__…`) or the standard `AWS_*` variables.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::BlobConfig;

/// Files by key (`archive/bookings/date=2026-12-04/part-….parquet`).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()>;
    async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>>;
    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>>;
    /// Removes `key`; removing what is not there is not an error (deletes are retried).
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
    /// Writes the file at `path` under `key`, streamed in parts (a backup is gigabytes:
    /// never held in memory whole).
    async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()>;
    /// Streams `key` into a new file at `path`, passing every chunk to `seen` on the way
    /// (a checksum); returns the size.
    async fn get_to_file(
        &self,
        key: &str,
        path: &Path,
        seen: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> anyhow::Result<u64>;
}

pub type Blobs = Arc<dyn BlobStore>;

/// The adapter: any `object_store` backend.
struct ObjectStoreBlobs(Arc<dyn ObjectStore>);

#[async_trait]
impl BlobStore for ObjectStoreBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.0.put(&Key::from(key), bytes.into()).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        Ok(self.0.get(&Key::from(key)).await?.bytes().await?.to_vec())
    }

    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let metas: Vec<_> = self.0.list(Some(&Key::from(prefix))).try_collect().await?;
        let mut keys: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.0.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt as _;
        let mut file = tokio::fs::File::open(path).await?;
        let upload = self.0.put_multipart(&Key::from(key)).await?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut buf = vec![0u8; 8 << 20];
        let written: anyhow::Result<()> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                // At most a few parts in flight: memory stays bounded by them.
                writer.wait_for_capacity(4).await?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match written {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    async fn get_to_file(
        &self,
        key: &str,
        path: &Path,
        seen: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> anyhow::Result<u64> {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = self.0.get(&Key::from(key)).await?.into_stream();
        let mut file = tokio::fs::File::create(path).await?;
        let mut size = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            seen(&chunk);
            file.write_all(&chunk).await?;
            size += chunk.len() as u64;
        }
        file.flush().await?;
        Ok(size)
    }
}

/// Opens the configured store; a local directory is created if missing.
pub fn open(config: &BlobConfig, data_dir: &Path) -> anyhow::Result<Blobs> {
    Ok(Arc::new(ObjectStoreBlobs(open_store(config, data_dir)?)))
}

fn open_store(config: &BlobConfig, data_dir: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let url = config.url.trim();
    if url.is_empty() {
        let dir = data_dir.join("blobs");
        std::fs::create_dir_all(&dir)?;
        return Ok(Arc::new(LocalFileSystem::new_with_prefix(&dir)?));
    }
    if let Some(dir) = url.strip_prefix("file://") {
        std::fs::create_dir_all(dir)?;
        return Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?));
    }
    let Some(rest) = url.strip_prefix("s3://") else {
        anyhow::bail!("blob.url {url:?}: expected s3://bucket[/prefix] or file:///directory");
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    anyhow::ensure!(!bucket.is_empty(), "blob.url {url:?} names no bucket");
    let mut s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&config.region)
        .with_allow_http(config.allow_http);
    if let Some(endpoint) = config.endpoint.as_deref().filter(|e| !e.is_empty()) {
        s3 = s3.with_endpoint(endpoint);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        s3 = s3.with_access_key_id(id).with_secret_access_key(secret);
    }
    let s3 = s3.build()?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_embedded_store_is_a_directory_under_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("lanerunner-blob-{}", uuid::Uuid::new_v4()));
        let blobs = open(&BlobConfig::default(), &dir).unwrap();
        blobs.put("a/b.txt", b"hello".to_vec()).await.unwrap();
        blobs.put("a/c.txt", b"again".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(dir.join("blobs/a/b.txt")).unwrap(), b"hello");
        assert_eq!(blobs.get("a/c.txt").await.unwrap(), b"again");
        assert_eq!(blobs.list("a").await.unwrap(), ["a/b.txt", "a/c.txt"]);
        assert!(blobs.list("none").await.unwrap().is_empty());
        assert!(blobs.get("a/missing.txt").await.is_err());
        blobs.delete("a/b.txt").await.unwrap();
        assert!(
            !dir.join("blobs/a/b.txt").exists(),
            "deleted means gone from the disk"
        );
        blobs.delete("a/b.txt").await.unwrap();
        assert_eq!(blobs.list("a").await.unwrap(), ["a/c.txt"]);

        // Files go up and come down streamed, in parts larger than one chunk.
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (src, back) = (dir.join("big.src"), dir.join("big.back"));
        std::fs::write(&src, &big).unwrap();
        blobs.put_file("files/big.bin", &src).await.unwrap();
        let mut seen = 0usize;
        let size = blobs
            .get_to_file("files/big.bin", &back, &mut |chunk| seen += chunk.len())
            .await
            .unwrap();
        assert_eq!((size, seen), (big.len() as u64, big.len()));
        assert_eq!(std::fs::read(&back).unwrap(), big);
        assert!(blobs
            .get_to_file("files/none", &back, &mut |_| {})
            .await
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_url_of_another_kind_is_refused() {
        for url in ["ftp://x", "s3://", "bucket-without-scheme"] {
            let config = BlobConfig {
                url: url.into(),
                ..BlobConfig::default()
            };
            let e = open(&config, Path::new("/tmp"))
                .err()
                .expect(url)
                .to_string();
            assert!(e.contains("blob.url"), "{url}: {e}");
        }
    }
}
