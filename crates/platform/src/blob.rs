//! The blob seam: where files go (the analytics archive now; documents and reports next).
//! An `object_store::ObjectStore` — the Arrow project's, which DuckDB, Spark and
//! DataFusion users already trust — opened from `blob.*`: a local directory embedded
//! (`<data_dir>/blobs`), an S3-compatible bucket at scale (`s3://bucket/prefix`, any
//! endpoint: AWS, MinIO, a local `moto_server` in tests). Credentials come from
//! `blob.access_key_id` / `blob.secret_access_key` (set them through the environment,
//! `LANERUNNER_BLOB__…`) or the standard `AWS_*` variables.

use std::path::Path;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

use crate::config::BlobConfig;

pub type Blobs = Arc<dyn ObjectStore>;

/// Opens the configured store; a local directory is created if missing.
pub fn open(config: &BlobConfig, data_dir: &Path) -> anyhow::Result<Blobs> {
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
    use object_store::path::Path as BlobPath;
    use object_store::ObjectStoreExt as _;

    #[tokio::test]
    async fn the_embedded_store_is_a_directory_under_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("lanerunner-blob-{}", uuid::Uuid::new_v4()));
        let blobs = open(&BlobConfig::default(), &dir).unwrap();
        blobs
            .put(&BlobPath::from("a/b.txt"), b"hello".to_vec().into())
            .await
            .unwrap();
        assert_eq!(std::fs::read(dir.join("blobs/a/b.txt")).unwrap(), b"hello");
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
