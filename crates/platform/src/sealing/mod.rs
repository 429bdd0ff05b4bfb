//! Envelope encryption at rest.
//!
//! - [`envelope`]: AES-256-GCM under a data key, with additional authenticated data (pure).
//! - [`keyring`]: versioned local key-encryption keys (KEKs) that wrap data keys (pure).
//! - [`kek`]: the KMS seam ([`kek::KeyWrapper`]): the local keyring embedded, AWS KMS at
//!   scale. Only data keys ever cross it.
//! - [`value`]: the stored form of a sealed field, `lre1.<data key version>.<base64url>`
//!   (pure).
//! - [`fields`]: [`FieldSealer`], one per service store: its data keys (table
//!   `data_keys`, wrapped), sealing and opening fields, rotation, the sweep that re-seals
//!   old records, and the report of what each version still protects.
//!
//! Two rotations, both online. A *data key* rotation ([`FieldSealer::rotate`]) makes a new
//! data key active for new writes at once; the sweep re-seals every record under the old one
//! (by compare-and-set, so a concurrent write wins), and the old key is retired (its wrapped
//! copy erased) only when nothing uses it. A *KEK* rotation (a new keyring version, or a new
//! KMS key) only rewraps the few data keys; no record is touched.

pub mod envelope;
pub mod fields;
pub mod kek;
pub mod keyring;
mod store;
pub mod value;

pub use fields::{
    FieldSealer, IdKind, KeyReport, KeyUse, SealError, SealedField, SweepReport, BLIND_INDEX_PREFIX,
};
pub use kek::{KeyWrapper, WrappedKey};
