//! The KMS seam: what wraps and unwraps data keys. Embedded, the local keyring file (the
//! one storage's objects use); at scale, an AWS KMS key, which never leaves KMS. Only data
//! keys (32 bytes) cross this seam, never a record.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::json;

use super::envelope::DataKey;
use super::keyring::{KeyEncryptionKeys, Wrapped};

/// A data key as stored: which key-encryption key wrapped it, and the wrapped bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// `local:<version>`, or `aws-kms:<key id>`.
    pub kek: String,
    pub bytes: Vec<u8>,
}

#[async_trait]
pub trait KeyWrapper: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    /// The key-encryption key new data keys are wrapped with now (as in [`WrappedKey::kek`]).
    async fn current(&self) -> anyhow::Result<String>;
    async fn wrap(&self, dek: &DataKey) -> anyhow::Result<WrappedKey>;
    async fn unwrap(&self, wrapped: &WrappedKey) -> anyhow::Result<DataKey>;
}

/// The local keyring (a file embedded, a mounted secret at scale), read again when rotated.
pub struct LocalKek(pub Arc<dyn KeyEncryptionKeys>);

const LOCAL: &str = "local:";

#[async_trait]
impl KeyWrapper for LocalKek {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn current(&self) -> anyhow::Result<String> {
        Ok(format!("{LOCAL}{}", self.0.keyring().await?.current()))
    }

    async fn wrap(&self, dek: &DataKey) -> anyhow::Result<WrappedKey> {
        let w = self.0.keyring().await?.wrap(dek)?;
        Ok(WrappedKey {
            kek: format!("{LOCAL}{}", w.version),
            bytes: w.bytes,
        })
    }

    async fn unwrap(&self, wrapped: &WrappedKey) -> anyhow::Result<DataKey> {
        let version = wrapped
            .kek
            .strip_prefix(LOCAL)
            .and_then(|v| v.parse().ok())
            .with_context(|| {
                format!(
                    "data key wrapped by {:?}, not by the local keyring (keys.kek changed?)",
                    wrapped.kek
                )
            })?;
        Ok(self.0.keyring().await?.unwrap(&Wrapped {
            version,
            bytes: wrapped.bytes.clone(),
        })?)
    }
}

/// An AWS KMS key over KMS's JSON API (`TrentService.Encrypt` / `Decrypt`, SigV4-signed).
/// The encryption context binds every wrapped key to LaneRunner's data keys, so a
/// ciphertext made by KMS for anything else does not unwrap here.
pub struct AwsKms {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    key_id: String,
    credentials: Credentials,
}

const AWS_KMS: &str = "aws-kms:";

impl AwsKms {
    pub fn new(
        key_id: String,
        region: String,
        endpoint: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
    ) -> anyhow::Result<Self> {
        let access = access_key_id
            .or_else(|| std::env::var("AWS_ACCESS_KEY_ID").ok())
            .context("AWS KMS needs keys.kms_access_key_id or AWS_ACCESS_KEY_ID")?;
        let secret = secret_access_key
            .or_else(|| std::env::var("AWS_SECRET_ACCESS_KEY").ok())
            .context("AWS KMS needs keys.kms_secret_access_key or AWS_SECRET_ACCESS_KEY")?;
        let endpoint = endpoint.unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com"));
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            key_id,
            credentials: Credentials::new(access, secret, None, None, "lanerunner-config"),
        })
    }

    async fn call(
        &self,
        action: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let body = serde_json::to_vec(&body)?;
        let url = format!("{}/", self.endpoint);
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("TrentService.{action}"))
            .body(body.clone())?;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            request
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or_default())),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let response = self
            .http
            .execute(reqwest::Request::try_from(request)?)
            .await
            .with_context(|| format!("KMS {action}: no answer from {}", self.endpoint))?;
        let status = response.status();
        let answer: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("KMS {action}: an answer that is not JSON ({status})"))?;
        if !status.is_success() {
            anyhow::bail!(
                "KMS {action} refused ({status}): {} {}",
                answer["__type"].as_str().unwrap_or("?"),
                answer["message"]
                    .as_str()
                    .or(answer["Message"].as_str())
                    .unwrap_or("")
            );
        }
        Ok(answer)
    }
}

fn context() -> serde_json::Value {
    json!({ "purpose": "lanerunner data key" })
}

#[async_trait]
impl KeyWrapper for AwsKms {
    fn backend(&self) -> &'static str {
        "aws_kms"
    }

    async fn current(&self) -> anyhow::Result<String> {
        Ok(format!("{AWS_KMS}{}", self.key_id))
    }

    async fn wrap(&self, dek: &DataKey) -> anyhow::Result<WrappedKey> {
        let answer = self
            .call(
                "Encrypt",
                json!({
                    "KeyId": self.key_id,
                    "Plaintext": B64.encode(dek.0),
                    "EncryptionContext": context(),
                }),
            )
            .await?;
        let blob = answer["CiphertextBlob"]
            .as_str()
            .context("KMS Encrypt: no CiphertextBlob")?;
        Ok(WrappedKey {
            kek: format!("{AWS_KMS}{}", self.key_id),
            bytes: B64
                .decode(blob)
                .context("KMS Encrypt: CiphertextBlob not base64")?,
        })
    }

    async fn unwrap(&self, wrapped: &WrappedKey) -> anyhow::Result<DataKey> {
        anyhow::ensure!(
            wrapped.kek.starts_with(AWS_KMS),
            "data key wrapped by {:?}, not by AWS KMS (keys.kek changed?)",
            wrapped.kek
        );
        let answer = self
            .call(
                "Decrypt",
                json!({
                    "CiphertextBlob": B64.encode(&wrapped.bytes),
                    "EncryptionContext": context(),
                }),
            )
            .await?;
        let plain = answer["Plaintext"]
            .as_str()
            .context("KMS Decrypt: no Plaintext")?;
        Ok(DataKey::from_bytes(&B64.decode(plain)?)?)
    }
}
