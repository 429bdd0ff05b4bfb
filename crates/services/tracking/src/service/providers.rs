//! Telematics providers' flows: a carrier connects its provider account (the shared secret
//! the provider signs webhooks with), names the truck on each load, and each delivery is
//! verified before it is read, then applied to every load that truck hauls for that carrier.

use std::sync::Arc;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use lanerunner_core::Role;
use lanerunner_platform::http::{Caller, Violations};
use serde::Deserialize;
use uuid::Uuid;

use super::{PositionInput, Tracking};
use crate::error::{Result, TrackingError};
use crate::store;
use crate::telematics::{ProviderDelivery, TelematicsProvider};
use crate::views::{ProviderAccountView, ProviderReceipt, TrackingView, VehicleOutcome};

/// `PUT /v1/tracking/providers/{provider}`: the secret the provider signs webhooks with
/// (Motive: the webhook's shared secret).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderAccountInput {
    pub secret: String,
}

/// `PUT /v1/loads/{id}/tracking/vehicle`: the truck on the load, as the provider names it
/// (Motive: the vehicle's numeric id).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    pub provider: String,
    pub vehicle_id: String,
}

/// The most vehicles one delivery may report (a provider batching a fleet).
const MAX_FIXES: usize = 500;

fn account(name: &str, caller: &Caller, at: DateTime<Utc>) -> ProviderAccountView {
    ProviderAccountView {
        provider: name.to_owned(),
        webhook_url: format!("/v1/tracking/providers/{name}/{}", caller.org),
        connected_at: at,
    }
}

impl Tracking {
    fn provider(&self, name: &str) -> Result<&Arc<dyn TelematicsProvider>> {
        self.providers
            .iter()
            .find(|p| p.name() == name)
            .ok_or(TrackingError::NotFound("telematics provider"))
    }

    /// Connects (or re-keys) the carrier's account with a provider. Owners and admins.
    pub async fn connect_provider(
        &self,
        caller: &Caller,
        provider: &str,
        input: ProviderAccountInput,
    ) -> Result<ProviderAccountView> {
        if !caller.role.is_admin() {
            return Err(TrackingError::Forbidden(
                "owners and admins connect telematics providers",
            ));
        }
        let name = self.provider(provider)?.name();
        let secret = input.secret.trim();
        let mut v = Violations::default();
        if !(16..=256).contains(&secret.len()) {
            v.add("secret", "must be 16 to 256 characters");
        }
        v.into_result(())?;
        let now = Utc::now();
        store::put_provider(&self.db, caller.org, name, secret, now).await?;
        Ok(account(name, caller, now))
    }

    /// The caller's connected providers (never their secrets).
    pub async fn connected_providers(&self, caller: &Caller) -> Result<Vec<ProviderAccountView>> {
        Ok(store::providers(&self.db, caller.org)
            .await?
            .into_iter()
            .map(|(name, at)| account(&name, caller, at))
            .collect())
    }

    /// Disconnects it: its webhooks are refused from now on.
    pub async fn disconnect_provider(&self, caller: &Caller, provider: &str) -> Result<()> {
        if !caller.role.is_admin() {
            return Err(TrackingError::Forbidden(
                "owners and admins disconnect telematics providers",
            ));
        }
        let name = self.provider(provider)?.name();
        if store::delete_provider(&self.db, caller.org, name).await? {
            Ok(())
        } else {
            Err(TrackingError::NotFound("connected provider"))
        }
    }

    /// Names the truck on a load the caller's carrier hauls (or, with `None`, forgets it),
    /// while the load is tracked. The provider must be connected first.
    pub async fn assign_vehicle(
        &self,
        caller: &Caller,
        load: Uuid,
        input: Option<VehicleInput>,
    ) -> Result<TrackingView> {
        if caller.role == Role::Viewer {
            return Err(TrackingError::Forbidden(
                "viewers cannot name a load's truck",
            ));
        }
        let vehicle = match &input {
            None => None,
            Some(i) => {
                let name = self.provider(&i.provider)?.name();
                let id = i.vehicle_id.trim();
                let mut v = Violations::default();
                if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
                    v.add("vehicle_id", "must be 1 to 64 printable characters");
                }
                v.into_result(())?;
                if store::provider_secret(&self.db, caller.org.0, name)
                    .await?
                    .is_none()
                {
                    return Err(TrackingError::Conflict {
                        kind: "provider-not-connected",
                        title: "The provider is not connected",
                        detail: format!(
                            "Connect your {name} account first (PUT /v1/tracking/providers/{name})."
                        ),
                    });
                }
                Some((name, id))
            }
        };
        if !store::set_vehicle(&self.db, caller.org, load, vehicle, Utc::now()).await? {
            let row = self.tracked(caller, load).await?;
            return Err(if row.carrier_org_id != Some(caller.org.0) {
                TrackingError::Forbidden("only the load's carrier names its truck")
            } else {
                TrackingError::Conflict {
                    kind: "tracking-ended",
                    title: "Tracking has ended",
                    detail: format!("The load is {}.", row.status),
                }
            });
        }
        self.view(caller, load).await
    }

    /// A provider's delivery for the carrier `org`: the signature is checked first under
    /// the carrier's secret (nothing read otherwise), then each vehicle's position goes to
    /// every load that vehicle hauls for that carrier, through the same checks as any
    /// position. Vehicles on no tracked load are named in the answer and kept nowhere.
    pub async fn provider_webhook(
        &self,
        provider: &str,
        org: Uuid,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<ProviderReceipt> {
        let p = self.provider(provider)?;
        let refuse = |why: String| {
            tracing::warn!(org = %org, provider, error = %why, "a telematics webhook was refused");
            metrics::counter!("tracking_provider_webhooks_total", "outcome" => "refused")
                .increment(1);
            TrackingError::WebhookRejected(why)
        };
        let secret = store::provider_secret(&self.db, org, p.name())
            .await?
            .ok_or_else(|| refuse(format!("no {} account is connected", p.name())))?;
        p.verify(headers, body, &secret).map_err(refuse)?;
        let fixes = match p.read(body).map_err(refuse)? {
            ProviderDelivery::Ignored(why) => {
                return Ok(ProviderReceipt {
                    applied: vec![],
                    unassigned: vec![],
                    ignored: Some(why),
                })
            }
            ProviderDelivery::Fixes(f) => f,
        };
        if fixes.len() > MAX_FIXES {
            return Err(refuse(format!(
                "{} positions in one delivery; at most {MAX_FIXES}",
                fixes.len()
            )));
        }
        let mut receipt = ProviderReceipt {
            applied: vec![],
            unassigned: vec![],
            ignored: None,
        };
        for fix in fixes {
            let loads = store::loads_on_vehicle(&self.db, org, p.name(), &fix.vehicle).await?;
            if loads.is_empty() {
                metrics::counter!("tracking_positions_total", "outcome" => "unassigned")
                    .increment(1);
                receipt.unassigned.push(fix.vehicle);
                continue;
            }
            let input = PositionInput {
                lat: fix.lat,
                lon: fix.lon,
                at: Some(fix.at),
                speed_mph: fix.speed_mph,
            };
            for load in loads {
                let outcome = self.ingest(load, &input, p.name()).await?;
                receipt.applied.push(VehicleOutcome {
                    vehicle: fix.vehicle.clone(),
                    load_id: load,
                    outcome,
                });
            }
        }
        metrics::counter!("tracking_provider_webhooks_total", "outcome" => "read").increment(1);
        Ok(receipt)
    }
}
