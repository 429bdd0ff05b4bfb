//! What a backup is, as data: its manifest (written last, so a backup without one is
//! incomplete), the header sealed inside every part (binding the part to its backup and
//! deployment, so parts cannot be swapped between backups or a manifest edited unnoticed),
//! the packing of stored files into parts, and the rules a restore checks before it
//! touches anything. No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest's format; a newer format is refused by an older binary.
pub const FORMAT: u32 = 1;

/// The manifest's name inside a backup's folder.
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One SQLite file per service.
    Sqlite,
    /// One `pg_dump` archive of every service's schema, taken in one snapshot.
    Postgres,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    /// A service's store (SQLite) or every service's schema (PostgreSQL).
    Store,
    /// Stored files (documents, the analytics archive), packed.
    Blobs,
    /// The local key-encryption keyring, encrypted to its own recipients.
    Keys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Its name within the backup (`stores/loads.sqlite`); the object is `<id>/<name>.age`.
    pub name: String,
    pub kind: PartKind,
    /// SHA-256 of the encrypted object, checked before anything is decrypted.
    pub sha256: String,
    /// Size of the encrypted object.
    pub bytes: u64,
    /// Files in a blobs part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
}

impl Part {
    pub fn object_key(&self, backup: &str) -> String {
        format!("{backup}/{}.age", self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEntry {
    pub service: String,
    /// The newest migration applied to it when the backup was taken.
    pub migration_version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub deployment: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub lanerunner_version: String,
    pub store: StoreKind,
    pub stores: Vec<StoreEntry>,
    pub parts: Vec<Part>,
    /// With `keys.kek = aws_kms` the key material stays in KMS; the backup names the key
    /// its data keys are wrapped with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    pub fn part(&self, kind: PartKind) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(move |p| p.kind == kind)
    }
}

/// A backup's id: its start time to the millisecond, sortable, and a random suffix so
/// two started at the same instant do not collide.
pub fn backup_id(at: DateTime<Utc>, random: u32) -> String {
    format!("{}-{random:08x}", at.format("%Y%m%dT%H%M%S%3fZ"))
}

/// Whether `s` has the shape of a backup id (and so is safe as a folder name).
pub fn is_backup_id(s: &str) -> bool {
    let Some((time, suffix)) = s.split_once('-') else {
        return false;
    };
    time.len() == 19
        && suffix.len() == 8
        && suffix.bytes().all(|b| b.is_ascii_hexdigit())
        && chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%S%3fZ").is_ok()
}

/// Sealed at the front of every part's plaintext (one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartHeader {
    pub backup: String,
    pub deployment: String,
    pub part: String,
}

/// The header line sealed in front of a part's payload.
pub fn header_line(header: &PartHeader) -> Vec<u8> {
    let mut out = serde_json::to_vec(header).expect("a header serializes");
    out.push(b'\n');
    out
}

/// Checks that a decrypted part's header line (the first line of its plaintext) is the one
/// this manifest's part must carry.
pub fn check_header(manifest: &Manifest, part: &Part, line: &[u8]) -> Result<(), Refusal> {
    let bad = |why: String| Refusal::Corrupt {
        part: part.name.clone(),
        why,
    };
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err(bad("no part header".into()));
    };
    let header: PartHeader =
        serde_json::from_slice(line).map_err(|e| bad(format!("unreadable part header: {e}")))?;
    let expected = PartHeader {
        backup: manifest.id.clone(),
        deployment: manifest.deployment.clone(),
        part: part.name.clone(),
    };
    if header != expected {
        return Err(bad(format!(
            "the part was sealed as {} of backup {} of deployment {:?}: it does not belong to this manifest",
            header.part, header.backup, header.deployment
        )));
    }
    Ok(())
}

/// Why a backup is not restored (or does not verify). Nothing is touched when one of
/// these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("backup manifest is unreadable: {0}")]
    UnreadableManifest(String),
    #[error("backup format {found} is newer than this release understands ({FORMAT}): restore with a newer lanerunner")]
    NewerFormat { found: u32 },
    #[error("backup {backup} is of deployment {found:?}, this is {expected:?}: refusing to restore another deployment's data (pass --from-deployment {found} if that is what you mean)")]
    OtherDeployment {
        backup: String,
        found: String,
        expected: String,
    },
    #[error("backup {backup} holds {found} stores and this deployment runs on {expected}: restore it into a deployment of the same kind")]
    OtherStoreKind {
        backup: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error("part {part} is corrupt: {why}")]
    Corrupt { part: String, why: String },
    #[error("part {part} is missing from the backup location")]
    Missing { part: String },
    #[error("the {service} store in the backup is at migration {found}, newer than this release knows ({known}): restore with the release that wrote it")]
    NewerStore {
        service: String,
        found: i64,
        known: i64,
    },
    #[error("the target is not empty ({0}): pass --force to replace it")]
    NotEmpty(String),
}

/// The checks made on the manifest alone, before any part is fetched.
pub fn check_restorable(
    manifest: &Manifest,
    deployment: &str,
    from_deployment: Option<&str>,
    store: StoreKind,
    known_version: impl Fn(&str) -> Option<i64>,
) -> Result<(), Refusal> {
    if manifest.format > FORMAT {
        return Err(Refusal::NewerFormat {
            found: manifest.format,
        });
    }
    let accepted = from_deployment.unwrap_or(deployment);
    if manifest.deployment != accepted {
        return Err(Refusal::OtherDeployment {
            backup: manifest.id.clone(),
            found: manifest.deployment.clone(),
            expected: accepted.to_string(),
        });
    }
    if manifest.store != store {
        return Err(Refusal::OtherStoreKind {
            backup: manifest.id.clone(),
            found: manifest.store.as_str(),
            expected: store.as_str(),
        });
    }
    for entry in &manifest.stores {
        let known = known_version(&entry.service).unwrap_or(0);
        if entry.migration_version > known {
            return Err(Refusal::NewerStore {
                service: entry.service.clone(),
                found: entry.migration_version,
                known,
            });
        }
    }
    Ok(())
}

/// The backups to delete so that `keep` complete ones remain (newest kept), plus every
/// incomplete one older than the newest complete backup (a run that died part way).
/// `ids` are sorted oldest first; `complete` says which have a manifest.
pub fn to_prune(ids: &[(String, bool)], keep: u32) -> Vec<String> {
    if keep == 0 {
        return Vec::new();
    }
    let complete: Vec<&String> = ids.iter().filter(|(_, c)| *c).map(|(i, _)| i).collect();
    let newest_complete = complete.last().copied();
    let excess = complete.len().saturating_sub(keep as usize);
    let mut out: Vec<String> = complete[..excess].iter().map(|s| s.to_string()).collect();
    if let Some(newest) = newest_complete {
        out.extend(
            ids.iter()
                .filter(|(id, c)| !c && id < newest)
                .map(|(id, _)| id.clone()),
        );
    }
    out.sort();
    out
}

/// Stored files in one part: for each, the key's length (u32, big-endian), the key, the
/// content's length (u64) and the content.
pub fn pack(objects: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(objects.iter().map(|(k, v)| 12 + k.len() + v.len()).sum());
    for (key, bytes) in objects {
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

pub fn unpack(mut packed: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if buf.len() < n {
            return Err(format!("truncated: {n} bytes expected, {} left", buf.len()));
        }
        let (head, rest) = buf.split_at(n);
        *buf = rest;
        Ok(head)
    }
    let mut out = Vec::new();
    while !packed.is_empty() {
        let klen = u32::from_be_bytes(take(&mut packed, 4)?.try_into().expect("4 bytes")) as usize;
        let key = std::str::from_utf8(take(&mut packed, klen)?)
            .map_err(|_| "a file name is not UTF-8".to_string())?
            .to_string();
        if key.is_empty() || key.starts_with('/') || key.split('/').any(|s| s == "..") {
            return Err(format!("unsafe file name {key:?}"));
        }
        let len = u64::from_be_bytes(take(&mut packed, 8)?.try_into().expect("8 bytes"));
        let len = usize::try_from(len).map_err(|_| "a file is too large".to_string())?;
        out.push((key, take(&mut packed, len)?.to_vec()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            id: "20261205T230000000Z-0000abcd".into(),
            deployment: "prod".into(),
            created_at: Utc::now(),
            finished_at: Utc::now(),
            lanerunner_version: "0.1.0".into(),
            store: StoreKind::Sqlite,
            stores: vec![StoreEntry {
                service: "loads".into(),
                migration_version: 20261201000000,
            }],
            parts: vec![Part {
                name: "stores/loads.sqlite".into(),
                kind: PartKind::Store,
                sha256: "00".into(),
                bytes: 1,
                objects: None,
            }],
            kms_key_id: None,
        }
    }

    #[test]
    fn ids_sort_by_time_and_are_recognized() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T23:01:02.345Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = backup_id(at, 0xabc);
        assert_eq!(id, "20261205T230102345Z-00000abc");
        assert!(is_backup_id(&id));
        for bad in [
            "",
            "x",
            "20261205T230102345Z",
            "20261205T230102345Z-xyz",
            "../../../etc-00000000",
            "20261305T230102345Z-00000abc",
        ] {
            assert!(!is_backup_id(bad), "{bad}");
        }
        assert!(backup_id(at, 0xffff_ffff) < backup_id(at + chrono::Duration::milliseconds(1), 0));
    }

    #[test]
    fn a_part_opens_only_under_its_own_manifest() {
        let m = manifest();
        let part = &m.parts[0];
        let header = PartHeader {
            backup: m.id.clone(),
            deployment: "prod".into(),
            part: part.name.clone(),
        };
        let line = header_line(&header);
        assert!(check_header(&m, part, &line).is_ok());

        let mut other = m.clone();
        other.id = "20261206T000000000Z-00000001".into();
        assert!(matches!(
            check_header(&other, part, &line),
            Err(Refusal::Corrupt { .. })
        ));
        let mut renamed = m.clone();
        renamed.deployment = "staging".into();
        assert!(matches!(
            check_header(&renamed, part, &line),
            Err(Refusal::Corrupt { .. })
        ));
        assert!(matches!(
            check_header(&m, part, b"no header"),
            Err(Refusal::Corrupt { .. })
        ));
        assert!(matches!(
            check_header(&m, part, b"{not json}\n"),
            Err(Refusal::Corrupt { .. })
        ));
    }

    #[test]
    fn restore_checks_deployment_kind_format_and_migrations() {
        let m = manifest();
        let known = |_: &str| Some(20261201000000);
        assert!(check_restorable(&m, "prod", None, StoreKind::Sqlite, known).is_ok());
        assert!(matches!(
            check_restorable(&m, "staging", None, StoreKind::Sqlite, known),
            Err(Refusal::OtherDeployment { .. })
        ));
        assert!(check_restorable(&m, "staging", Some("prod"), StoreKind::Sqlite, known).is_ok());
        assert!(matches!(
            check_restorable(&m, "prod", None, StoreKind::Postgres, known),
            Err(Refusal::OtherStoreKind { .. })
        ));
        assert!(matches!(
            check_restorable(&m, "prod", None, StoreKind::Sqlite, |_| Some(
                20261100000000
            )),
            Err(Refusal::NewerStore { .. })
        ));
        let newer = Manifest {
            format: FORMAT + 1,
            ..m
        };
        assert!(matches!(
            check_restorable(&newer, "prod", None, StoreKind::Sqlite, known),
            Err(Refusal::NewerFormat { .. })
        ));
    }

    #[test]
    fn pruning_keeps_the_newest_complete_backups_and_a_running_one() {
        let ids: Vec<(String, bool)> = [
            ("a", true),
            ("b", false),
            ("c", true),
            ("d", true),
            ("e", false),
        ]
        .iter()
        .map(|(i, c)| (i.to_string(), *c))
        .collect();
        assert_eq!(to_prune(&ids, 2), ["a", "b"]);
        assert_eq!(to_prune(&ids, 3), ["b"]);
        assert_eq!(to_prune(&ids, 0), Vec::<String>::new());
        // `e` may be a backup still being written: never pruned.
        assert!(!to_prune(&ids, 1).contains(&"e".to_string()));
    }

    #[test]
    fn packing_round_trips_and_refuses_damage() {
        let objects = vec![
            ("storage/a.bin".to_string(), vec![0u8, 1, 2]),
            ("archive/x.parquet".to_string(), Vec::new()),
        ];
        let packed = pack(&objects);
        assert_eq!(unpack(&packed).unwrap(), objects);
        assert!(unpack(&packed[..packed.len() - 1]).is_err());
        assert!(unpack(&pack(&[("../etc/passwd".into(), vec![1])])).is_err());
        assert!(unpack(&pack(&[("/abs".into(), vec![1])])).is_err());
        assert!(unpack(&[]).unwrap().is_empty());
    }
}
