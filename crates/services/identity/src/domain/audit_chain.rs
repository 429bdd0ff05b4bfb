//! The audit trail's hash chains, free of I/O: what a record's hash covers, and what a walk
//! along a chain finds wrong.
//!
//! One chain per organization (and one, the nil UUID, for records of no organization). A
//! record's hash is SHA-256 over its position, its fields and the previous record's hash,
//! each field written with its length first so no two different records encode alike; the
//! detail JSON is written with its keys sorted, since PostgreSQL's `jsonb` does not keep
//! the order it was given. Timestamps are taken to the microsecond, as both stores keep them.
//!
//! Two formats. v1 hashes the client address itself. v2 (every record chained since erasure
//! came) hashes a salted digest of it instead, so the address — personal data — can be
//! erased (GDPR art. 17, or its retention running out) without touching the chain: the
//! address and its salt go, the digest stays and the record still verifies. Without the
//! salt the digest tells nothing, where an unsalted hash of an IPv4 address would be
//! reversed by trying all four billion.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash a chain's first record follows.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record's hash covers, besides the previous hash.
#[derive(Debug, Clone)]
pub struct Chained<'a> {
    pub chain_id: Uuid,
    pub seq: i64,
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub outcome: &'a str,
    pub target_id: Option<Uuid>,
    pub client_addr: &'a str,
    /// v2: how the address enters the hash; none for a v1 record.
    pub addr_seal: Option<AddrSeal<'a>>,
    pub detail: &'a serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// A v2 record's address digest and, until the address is erased, its salt.
#[derive(Debug, Clone, Copy)]
pub struct AddrSeal<'a> {
    pub salt: Option<&'a str>,
    pub digest: &'a str,
}

/// The digest a v2 record's hash covers in place of its address.
pub fn address_digest(salt: &str, addr: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        b"lanerunner.audit.addr".as_slice(),
        salt.as_bytes(),
        addr.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    super::digest::hex(&h.finalize())
}

/// Whether a v2 record's address agrees with its seal: the salt and address give the
/// digest, or both are erased (the address empty). A v1 record has nothing to agree with.
fn seal_holds(r: &Chained<'_>) -> bool {
    match r.addr_seal {
        None => true,
        Some(AddrSeal {
            salt: Some(salt),
            digest,
        }) => address_digest(salt, r.client_addr) == digest,
        Some(AddrSeal { salt: None, .. }) => r.client_addr.is_empty(),
    }
}

/// The chain a record of `org` joins.
pub fn chain_of(org: Option<Uuid>) -> Uuid {
    org.unwrap_or(Uuid::nil())
}

/// `at` to the microsecond: what both stores keep, so a record read back hashes alike.
pub fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The record's hash, hex.
pub fn record_hash(prev_hash: &str, r: &Chained<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    let uuid = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    field(match r.addr_seal {
        None => b"lanerunner.audit.v1",
        Some(_) => b"lanerunner.audit.v2",
    });
    field(prev_hash.as_bytes());
    field(r.chain_id.to_string().as_bytes());
    field(&r.seq.to_be_bytes());
    field(r.id.to_string().as_bytes());
    field(uuid(r.org_id).as_bytes());
    field(uuid(r.actor_id).as_bytes());
    field(r.action.as_bytes());
    field(r.outcome.as_bytes());
    field(uuid(r.target_id).as_bytes());
    match r.addr_seal {
        None => field(r.client_addr.as_bytes()),
        Some(seal) => field(seal.digest.as_bytes()),
    }
    field(canonical_json(r.detail).as_bytes());
    field(
        to_micros(r.occurred_at)
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .as_bytes(),
    );
    super::digest::hex(&h.finalize())
}

/// JSON with every object's keys sorted, and no spaces.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A record as stored, for checking: its fields and what it says its hashes are.
#[derive(Debug, Clone)]
pub struct Stored<'a> {
    pub record: Chained<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// What is wrong at a place in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Break {
    /// The record's fields no longer give its hash: it was changed.
    Altered,
    /// Records are missing before this one: deleted.
    Missing,
    /// The record does not follow the one before it: moved, or inserted.
    Unlinked,
    /// The chain ends before its head says it does: its newest records were deleted.
    Truncated,
    /// A record an anchor vouched for now has another hash, or is gone: the chain was
    /// rewritten from there on.
    AnchorMismatch,
    /// The chain has records but no head row: the head was deleted, so appends would start
    /// the chain over.
    HeadMissing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainBreak {
    /// The chain position where it shows.
    pub seq: i64,
    /// The record there, when there is one.
    pub record_id: Option<Uuid>,
    #[serde(rename = "break")]
    pub kind: Break,
}

/// Walks a chain record by record, in `seq` order, as they are read.
#[derive(Debug)]
pub struct Walk {
    expected_seq: i64,
    prev_hash: String,
    /// Anchors not yet reached (position, hash), in order.
    anchors: std::collections::VecDeque<(i64, String)>,
    pub records: i64,
    pub problems: Vec<ChainBreak>,
}

impl Default for Walk {
    fn default() -> Self {
        Walk::with_anchors(Vec::new())
    }
}

impl Walk {
    /// A walk that also checks the chain still passes through each anchor: the record at
    /// its position must have its hash.
    pub fn with_anchors(mut anchors: Vec<(i64, String)>) -> Self {
        anchors.sort();
        Walk {
            expected_seq: 1,
            prev_hash: GENESIS.to_owned(),
            anchors: anchors.into(),
            records: 0,
            problems: Vec::new(),
        }
    }

    /// Anchors at positions before `seq` that no record was read at.
    fn anchors_passed(&mut self, seq: i64) {
        while let Some((at, _)) = self.anchors.front().filter(|(at, _)| *at < seq) {
            let at = *at;
            self.anchors.pop_front();
            self.problems.push(ChainBreak {
                seq: at,
                record_id: None,
                kind: Break::AnchorMismatch,
            });
        }
    }

    /// Checks the next record read.
    pub fn step(&mut self, s: &Stored<'_>) {
        let seq = s.record.seq;
        self.anchors_passed(seq);
        if let Some((_, hash)) = self.anchors.front().filter(|(at, _)| *at == seq) {
            if hash != s.hash {
                self.problems.push(ChainBreak {
                    seq,
                    record_id: Some(s.record.id),
                    kind: Break::AnchorMismatch,
                });
            }
            self.anchors.pop_front();
        }
        if seq > self.expected_seq {
            self.problems.push(ChainBreak {
                seq,
                record_id: Some(s.record.id),
                kind: Break::Missing,
            });
        }
        if s.prev_hash != self.prev_hash {
            self.problems.push(ChainBreak {
                seq,
                record_id: Some(s.record.id),
                kind: Break::Unlinked,
            });
        }
        if !seal_holds(&s.record) || record_hash(s.prev_hash, &s.record) != s.hash {
            self.problems.push(ChainBreak {
                seq,
                record_id: Some(s.record.id),
                kind: Break::Altered,
            });
        }
        self.records += 1;
        self.expected_seq = seq + 1;
        self.prev_hash = s.hash.to_owned();
    }

    /// Ends the walk against the chain's head (`seq`, `hash`, as the head row says; none
    /// when the row is gone).
    pub fn finish(&mut self, head: Option<(i64, &str)>) {
        self.anchors_passed(i64::MAX);
        let (last, last_hash) = (self.expected_seq - 1, self.prev_hash.clone());
        match head {
            None => self.problems.push(ChainBreak {
                seq: last,
                record_id: None,
                kind: Break::HeadMissing,
            }),
            Some((seq, _)) if seq > last => self.problems.push(ChainBreak {
                seq: last + 1,
                record_id: None,
                kind: Break::Truncated,
            }),
            Some((seq, hash)) if seq == last && hash != last_hash => {
                self.problems.push(ChainBreak {
                    seq,
                    record_id: None,
                    kind: Break::Altered,
                })
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record's id, detail and time.
    type Row = (Uuid, serde_json::Value, DateTime<Utc>);

    fn chain(n: i64) -> Vec<Row> {
        (1..=n)
            .map(|i| {
                (
                    Uuid::now_v7(),
                    json!({"b": i, "a": [1, {"z": true, "y": null}]}),
                    Utc::now(),
                )
            })
            .collect()
    }

    fn record(seq: i64, row: &Row) -> Chained<'_> {
        Chained {
            chain_id: Uuid::nil(),
            seq,
            id: row.0,
            org_id: None,
            actor_id: Some(Uuid::nil()),
            action: "login",
            outcome: "success",
            target_id: None,
            client_addr: "127.0.0.1",
            addr_seal: None,
            detail: &row.1,
            occurred_at: row.2,
        }
    }

    /// (record, prev_hash, hash) for each row, chained in order.
    fn hashes(rows: &[Row]) -> Vec<(String, String)> {
        let mut prev = GENESIS.to_owned();
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                let h = record_hash(&prev, &record(i as i64 + 1, r));
                let pair = (prev.clone(), h.clone());
                prev = h;
                pair
            })
            .collect()
    }

    fn walk(rows: &[(i64, &Row, &(String, String))], head: (i64, &str)) -> Vec<Break> {
        let mut w = Walk::default();
        for (seq, r, (prev, hash)) in rows {
            w.step(&Stored {
                record: record(*seq, r),
                prev_hash: prev,
                hash,
            });
        }
        w.finish(Some(head));
        w.problems.into_iter().map(|p| p.kind).collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let rows = chain(5);
        let h = hashes(&rows);
        let all: Vec<_> = (0..5).map(|i| (i as i64 + 1, &rows[i], &h[i])).collect();
        assert!(walk(&all, (5, &h[4].1)).is_empty());
    }

    #[test]
    fn a_changed_deleted_or_moved_record_breaks_the_chain() {
        let rows = chain(5);
        let h = hashes(&rows);
        let head = (5, h[4].1.as_str());
        // Changed: the third record's detail.
        let mut changed = rows.clone();
        changed[2].1 = json!({"b": 99});
        let all: Vec<_> = (0..5).map(|i| (i as i64 + 1, &changed[i], &h[i])).collect();
        assert_eq!(walk(&all, head), [Break::Altered]);
        // Deleted: the third record.
        let gap: Vec<_> = [0, 1, 3, 4]
            .iter()
            .map(|&i| (i as i64 + 1, &rows[i], &h[i]))
            .collect();
        assert_eq!(walk(&gap, head), [Break::Missing, Break::Unlinked]);
        // Swapped: the second and third records change places (and positions).
        let swapped = [
            (1, &rows[0], &h[0]),
            (2, &rows[2], &h[2]),
            (3, &rows[1], &h[1]),
            (4, &rows[3], &h[3]),
            (5, &rows[4], &h[4]),
        ];
        let found = walk(&swapped, head);
        assert!(found.contains(&Break::Unlinked) && found.contains(&Break::Altered));
        // Truncated: the last two are gone.
        let short: Vec<_> = (0..3).map(|i| (i as i64 + 1, &rows[i], &h[i])).collect();
        assert_eq!(walk(&short, head), [Break::Truncated]);
    }

    #[test]
    fn the_chain_must_pass_through_every_anchor() {
        let rows = chain(5);
        let h = hashes(&rows);
        let run = |anchors: Vec<(i64, String)>, upto: usize| {
            let mut w = Walk::with_anchors(anchors);
            for i in 0..upto {
                w.step(&Stored {
                    record: record(i as i64 + 1, &rows[i]),
                    prev_hash: &h[i].0,
                    hash: &h[i].1,
                });
            }
            w.finish(Some((upto as i64, &h[upto - 1].1)));
            w.problems
                .into_iter()
                .map(|p| (p.seq, p.kind))
                .collect::<Vec<_>>()
        };
        assert!(run(vec![(3, h[2].1.clone()), (5, h[4].1.clone())], 5).is_empty());
        // A rewritten record under an anchor.
        assert_eq!(
            run(vec![(3, "f".repeat(64))], 5),
            [(3, Break::AnchorMismatch)]
        );
        // Cut short below an anchor, head reset to match: only the anchor tells.
        assert_eq!(
            run(vec![(2, h[1].1.clone()), (5, h[4].1.clone())], 4),
            [(5, Break::AnchorMismatch)]
        );
    }

    #[test]
    fn key_order_and_sub_microseconds_do_not_change_a_hash() {
        let at = Utc::now();
        let (a, b) = (json!({"x": 1, "y": [2, 3]}), json!({"y": [2, 3], "x": 1}));
        let id = Uuid::now_v7();
        let (row1, row2) = ((id, a, at), (id, b.clone(), to_micros(at)));
        let r1 = record(1, &row1);
        let mut r2 = record(1, &row2);
        assert_eq!(record_hash(GENESIS, &r1), record_hash(GENESIS, &r2));
        r2.client_addr = "127.0.0.2";
        assert_ne!(record_hash(GENESIS, &r1), record_hash(GENESIS, &r2));
        assert_eq!(canonical_json(&b), r#"{"x":1,"y":[2,3]}"#);
    }

    #[test]
    fn an_erased_address_still_verifies_and_a_changed_one_does_not() {
        let row = (Uuid::now_v7(), json!({}), Utc::now());
        let salt = "5f0c1a";
        let digest = address_digest(salt, "203.0.113.9");
        let mut kept = record(1, &row);
        kept.client_addr = "203.0.113.9";
        kept.addr_seal = Some(AddrSeal {
            salt: Some(salt),
            digest: &digest,
        });
        let hash = record_hash(GENESIS, &kept);
        assert_ne!(
            hash,
            record_hash(GENESIS, &record(1, &row)),
            "v2 differs from v1"
        );
        let check = |r: Chained<'_>| {
            let mut w = Walk::default();
            w.step(&Stored {
                record: r,
                prev_hash: GENESIS,
                hash: &hash,
            });
            w.problems.into_iter().map(|p| p.kind).collect::<Vec<_>>()
        };
        assert!(check(kept.clone()).is_empty());
        // Erased: no address, no salt, the digest kept.
        let mut erased = kept.clone();
        erased.client_addr = "";
        erased.addr_seal = Some(AddrSeal {
            salt: None,
            digest: &digest,
        });
        assert!(check(erased.clone()).is_empty());
        // Another address under the same salt, or one left behind after the salt went.
        let mut changed = kept.clone();
        changed.client_addr = "198.51.100.1";
        assert_eq!(check(changed), [Break::Altered]);
        let mut half = erased;
        half.client_addr = "198.51.100.1";
        assert_eq!(check(half), [Break::Altered]);
        // The digest itself swapped: the record's hash no longer holds.
        let other = address_digest(salt, "198.51.100.1");
        let mut swapped = kept;
        swapped.client_addr = "198.51.100.1";
        swapped.addr_seal = Some(AddrSeal {
            salt: Some(salt),
            digest: &other,
        });
        assert_eq!(check(swapped), [Break::Altered]);
    }
}
