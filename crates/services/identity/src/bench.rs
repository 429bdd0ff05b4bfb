//! For `lanerunner bench audit`: one audit record written in its own transaction, either
//! joining its organization's hash chain (what the service does) or as the plain insert
//! the trail was before the chains, so the chain's cost is measured against the same path
//! without it; and the chains walked afterwards.

use chrono::Utc;
use lanerunner_core::{AuditId, OrgId};
use lanerunner_platform::Db;
use sqlx::types::Json;

use crate::audit_trail::walk_chain;
use crate::domain::{AuditAction, AuditOutcome};
use crate::store::{self, AuditRow};

fn row(org: OrgId, n: u64) -> AuditRow {
    AuditRow {
        id: AuditId::new(),
        org_id: Some(org),
        actor_id: Some(uuid::Uuid::now_v7()),
        action: AuditAction::Login,
        outcome: AuditOutcome::Failure,
        target_id: None,
        client_addr: "198.51.100.7".into(),
        addr_salt: None,
        addr_digest: None,
        detail: Json(serde_json::json!({"reason": "wrong password", "attempt": n})),
        occurred_at: Utc::now(),
        chain_seq: None,
        prev_hash: None,
        hash: None,
    }
}

/// Writes one record for `org` in its own transaction: chained, or plain.
pub async fn append(db: &Db, org: OrgId, n: u64, chained: bool) -> anyhow::Result<()> {
    let mut a = row(org, n);
    let mut tx = db.begin().await?;
    if chained {
        store::insert_audit(&mut tx, &mut a).await?;
    } else {
        store::write_audit(&mut tx, &a, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Walks every chain: (chains, records, whether every one is intact).
pub async fn verify_all(db: &Db) -> anyhow::Result<(usize, i64, bool)> {
    let heads = store::chain_heads(db, None).await?;
    let (mut records, mut intact) = (0, true);
    for h in &heads {
        let mut walk = walk_chain(db, h.chain_id, Default::default()).await?;
        walk.finish(Some((h.seq, h.hash.as_str())));
        records += walk.records;
        intact &= walk.problems.is_empty();
    }
    Ok((heads.len(), records, intact))
}
