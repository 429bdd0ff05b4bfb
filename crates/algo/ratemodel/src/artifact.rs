//! The model file: a one-line JSON header (format, format version, body length and
//! SHA-256) and the model as JSON. Loading checks all of it and the model itself, so a
//! truncated, corrupted or foreign file is refused with the reason instead of served.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::RateModel;

pub const FORMAT: &str = "lanerunner.rate-model";
/// Bumped whenever the body changes incompatibly; an older or newer file is refused.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    format_version: u32,
    bytes: usize,
    sha256: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArtifactError {
    #[error("not a LaneRunner rate model: {0}")]
    NotAModel(String),
    #[error("rate model format version {found} is not this build's ({FORMAT_VERSION})")]
    Incompatible { found: u32 },
    #[error("the model file is corrupt: {0}")]
    Corrupt(String),
    #[error("the model cannot be served: {0}")]
    Unservable(String),
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn encode(model: &RateModel) -> Vec<u8> {
    let body = serde_json::to_vec(model).expect("a model serializes");
    let header = Header {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        bytes: body.len(),
        sha256: sha256_hex(&body),
    };
    let mut out = serde_json::to_vec(&header).expect("a header serializes");
    out.push(b'\n');
    out.extend_from_slice(&body);
    out
}

pub fn decode(bytes: &[u8]) -> Result<RateModel, ArtifactError> {
    let nl = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| ArtifactError::NotAModel("no header line".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..nl])
        .map_err(|e| ArtifactError::NotAModel(format!("header: {e}")))?;
    if header.format != FORMAT {
        return Err(ArtifactError::NotAModel(format!(
            "format {:?}",
            header.format
        )));
    }
    if header.format_version != FORMAT_VERSION {
        return Err(ArtifactError::Incompatible {
            found: header.format_version,
        });
    }
    let body = &bytes[nl + 1..];
    if body.len() != header.bytes {
        return Err(ArtifactError::Corrupt(format!(
            "{} bytes where the header says {}",
            body.len(),
            header.bytes
        )));
    }
    if sha256_hex(body) != header.sha256 {
        return Err(ArtifactError::Corrupt("the checksum does not match".into()));
    }
    let model: RateModel =
        serde_json::from_slice(body).map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    model.check().map_err(ArtifactError::Unservable)?;
    Ok(model)
}
