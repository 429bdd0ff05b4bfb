//! The flows: a carrier declares its authority and it is checked at once; a carrier or a
//! broker asks for a re-check; the sweep re-checks what is due. Every check that changes a
//! standing (and every declaration) publishes `carrier.standing.v1` in its transaction.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::{EventEnvelope, OrgId};
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use sqlx::types::Json;

use crate::domain::{assess, Assessment, Checked, Declaration, Source};
use crate::error::{CarrierError, Result};
use crate::events::{StandingChanged, CARRIER_STANDING};
use crate::registry::AuthorityRegistry;
use crate::store::{self, AuthorityRow};
use crate::views::{AuthorityView, DeclareRequest};

/// How many due re-checks one sweep takes on.
const SWEEP_BATCH: i64 = 50;

#[derive(Debug, Clone)]
pub struct CarriersSettings {
    /// How long a check stands before the sweep makes it again.
    pub recheck_every: Duration,
    /// How often every instance looks for due re-checks.
    pub sweep_every: std::time::Duration,
}

pub struct Carriers {
    db: Db,
    outbox: OutboxSignal,
    registry: Arc<dyn AuthorityRegistry>,
    settings: CarriersSettings,
}

impl Carriers {
    pub fn new(
        ctx: &ServiceContext,
        registry: Arc<dyn AuthorityRegistry>,
        settings: CarriersSettings,
    ) -> Self {
        Carriers {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
            registry,
            settings,
        }
    }

    pub fn sweep_every(&self) -> std::time::Duration {
        self.settings.sweep_every
    }

    /// A carrier states its numbers and insurance; they are checked with the registry now.
    /// If the registry cannot be asked, nothing is recorded (503).
    pub async fn declare(&self, caller: &Caller, req: DeclareRequest) -> Result<AuthorityView> {
        if caller.org_kind != OrgKind::Carrier || caller.role == Role::Viewer {
            return Err(CarrierError::Forbidden(
                "only a carrier's members (not viewers) declare its authority",
            ));
        }
        let now = Utc::now();
        let d = Declaration::new(
            req.usdot_number,
            req.mc_number,
            req.insurance_expires_on,
            now.date_naive(),
        )?;
        let checked = self.ask(&d).await?;
        let a = assess(&d, &checked, now.date_naive());
        let row = AuthorityRow {
            carrier_org_id: caller.org,
            usdot_number: d.usdot_number as i64,
            mc_number: d.mc_number.map(|n| n as i64),
            insurance_expires_on: Some(d.insurance_expires_on),
            source: a.source.as_str().into(),
            standing: a.standing.as_str().into(),
            reasons: Json(a.reasons.clone()),
            record: record_json(&checked),
            legal_name: legal_name(&checked),
            checked_at: now,
            next_check_at: self.next_check(now, d.insurance_expires_on),
            version: 1,
            declared_by: caller.user_id(),
            declared_at: now,
        };
        let mut tx = self.db.begin().await?;
        if let Err(e) = store::put(&mut tx, &row).await {
            return Err(if store::is_number_claimed(&e) {
                CarrierError::NumberClaimed(d.usdot_number)
            } else {
                e.into()
            });
        }
        publish(&mut tx, &row).await?;
        self.commit(tx).await?;
        Ok(view(row))
    }

    /// The carrier's authority as last checked: its own, or, for a broker or shipper, any
    /// carrier's (what FMCSA publishes is public; who declared it is not shown).
    pub async fn authority(&self, caller: &Caller, carrier: OrgId) -> Result<AuthorityView> {
        Self::may_look(caller, carrier)?;
        store::get(&self.db, carrier)
            .await?
            .map(view)
            .ok_or(CarrierError::NotFound("carrier authority"))
    }

    /// Checks a carrier again now: the carrier itself, or a broker about to book it.
    pub async fn recheck(&self, caller: &Caller, carrier: OrgId) -> Result<AuthorityView> {
        Self::may_look(caller, carrier)?;
        if caller.role == Role::Viewer {
            return Err(CarrierError::Forbidden(
                "a viewer cannot ask for a re-check",
            ));
        }
        let row = store::get(&self.db, carrier)
            .await?
            .ok_or(CarrierError::NotFound("carrier authority"))?;
        Ok(view(self.check_again(row, Utc::now()).await?))
    }

    fn may_look(caller: &Caller, carrier: OrgId) -> Result<()> {
        if caller.org == carrier || matches!(caller.org_kind, OrgKind::Broker | OrgKind::Shipper) {
            Ok(())
        } else {
            // A carrier asking about another carrier learns nothing, not even existence.
            Err(CarrierError::NotFound("carrier authority"))
        }
    }

    /// Re-checks every declaration that is due; returns how many were re-checked. A
    /// registry outage leaves them due, to be tried on the next sweep.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut done = 0;
        for row in store::due(&self.db, now, SWEEP_BATCH).await? {
            match self.check_again(row, now).await {
                Ok(_) => done += 1,
                Err(CarrierError::Unavailable(e)) => {
                    tracing::warn!(error = %e, "the authority registry could not be asked; will retry");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Asks the registry about `row`'s declaration again and records the answer, by
    /// compare-and-set: a declaration made meanwhile wins and this check is dropped.
    async fn check_again(&self, row: AuthorityRow, now: DateTime<Utc>) -> Result<AuthorityRow> {
        let d = Declaration {
            usdot_number: row.usdot_number as u64,
            mc_number: row.mc_number.map(|n| n as u64),
            insurance_expires_on: row.insurance_expires_on.unwrap_or(now.date_naive()),
        };
        let checked = self.ask(&d).await?;
        let a = assess(&d, &checked, now.date_naive());
        let changed = changes(&row, &a);
        let read_version = row.version;
        let next = AuthorityRow {
            source: a.source.as_str().into(),
            standing: a.standing.as_str().into(),
            reasons: Json(a.reasons),
            record: record_json(&checked),
            legal_name: legal_name(&checked),
            checked_at: now,
            next_check_at: self.next_check(now, d.insurance_expires_on),
            version: read_version + 1,
            ..row
        };
        let mut tx = self.db.begin().await?;
        if !store::update_check(&mut tx, &next, read_version).await? {
            // Declared again while we asked: that declaration carries its own check. (The
            // transaction ends before the pool is read again.)
            drop(tx);
            return store::get(&self.db, next.carrier_org_id)
                .await?
                .ok_or(CarrierError::NotFound("carrier authority"));
        }
        if changed {
            publish(&mut tx, &next).await?;
        }
        self.commit(tx).await?;
        Ok(next)
    }

    async fn ask(&self, d: &Declaration) -> Result<Checked> {
        self.registry
            .check(d)
            .await
            .map_err(|e| CarrierError::Unavailable(e.0))
    }

    /// The next re-check: after the interval, or the day after the insurance lapses when
    /// that comes first (so a lapse is noticed the day it happens).
    fn next_check(&self, now: DateTime<Utc>, insurance_expires_on: NaiveDate) -> DateTime<Utc> {
        let regular = now + self.settings.recheck_every;
        let lapse = insurance_expires_on
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        match lapse {
            Some(l) if l > now && l < regular => l,
            _ => regular,
        }
    }

    async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

fn changes(row: &AuthorityRow, a: &Assessment) -> bool {
    row.standing != a.standing.as_str()
        || row.source != a.source.as_str()
        || row.reasons.0 != a.reasons
}

fn record_json(c: &Checked) -> Option<Json<serde_json::Value>> {
    match c {
        Checked::Found(r) => serde_json::to_value(r).ok().map(Json),
        _ => None,
    }
}

fn legal_name(c: &Checked) -> Option<String> {
    match c {
        Checked::Found(r) => r.legal_name.clone(),
        _ => None,
    }
}

async fn publish(tx: &mut Tx, row: &AuthorityRow) -> Result<()> {
    let payload = StandingChanged {
        carrier_org_id: row.carrier_org_id.0,
        standing: &row.standing,
        source: &row.source,
        reasons: &row.reasons.0,
        usdot_number: row.usdot_number as u64,
        mc_number: row.mc_number.map(|n| n as u64),
        checked_at: row.checked_at,
    };
    let event = EventEnvelope::new(
        CARRIER_STANDING,
        Some(row.carrier_org_id),
        row.carrier_org_id.0,
        &payload,
    )
    .expect("carrier events serialize");
    outbox::enqueue(tx, &event).await?;
    Ok(())
}

pub(crate) fn view(r: AuthorityRow) -> AuthorityView {
    AuthorityView {
        carrier_org_id: r.carrier_org_id.0,
        usdot_number: r.usdot_number as u64,
        mc_number: r.mc_number.map(|n| n as u64),
        insurance_expires_on: r.insurance_expires_on,
        legal_name: r.legal_name,
        source: Source::parse(&r.source)
            .map(|s| s.as_str())
            .unwrap_or("unknown")
            .into(),
        standing: r.standing,
        reasons: r.reasons.0,
        checked_at: r.checked_at,
        next_check_at: r.next_check_at,
    }
}
