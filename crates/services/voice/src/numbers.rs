//! Callers' phone numbers at rest (issue 17: phone numbers are sensitive fields).
//!
//! A call keeps the number it came from and the number it went to, and a carrier's dispatch
//! number is kept to call it back. All three are sealed under the store's data keys (`lre1.…`),
//! listed in [`SEALED_FIELDS`] so every instance's key sweep re-seals them on rotation — and
//! seals the numbers a previous version stored readable — and `lanerunner keys report`
//! counts them. None is ever looked up by its value (a call is found by its id or the
//! provider's call id, a dispatch number by its carrier), so unlike notifications' numbers
//! they need no blind index.
//!
//! The numbers of the brokers' own lines (`vc_lines`) stay readable: they are published
//! business numbers, and the provider's webhook finds the line by the number it called.
//!
//! Rows are sealed before the transaction that writes them opens and opened after they are
//! read, so the service works with readable numbers and the store only ever holds sealed
//! ones (a sealer may read its keys from the store; never inside a transaction).

use std::sync::Arc;

use lanerunner_core::OrgId;
use lanerunner_platform::sealing::{FieldSealer, IdKind, SealError, SealedField};

use crate::store::{CallRow, Candidate, DispatchRow, OnTheRoad};
use crate::CallId;

/// The number a call came from (a carrier's, for a call that came in).
pub const CALL_FROM: SealedField = SealedField {
    table: "vc_calls",
    column: "from_number",
    id_column: "id",
    id_kind: IdKind::Uuid,
    purpose: "voice.call.from",
};

/// The number a call went to (a carrier's, for a call we placed).
pub const CALL_TO: SealedField = SealedField {
    column: "to_number",
    purpose: "voice.call.to",
    ..CALL_FROM
};

/// The number a carrier agreed to be called on about loads.
pub const DISPATCH_PHONE: SealedField = SealedField {
    table: "vc_dispatch",
    column: "phone",
    id_column: "carrier_org_id",
    id_kind: IdKind::Uuid,
    purpose: "voice.dispatch.phone",
};

/// The columns of this service's store that hold sealed values.
pub const SEALED_FIELDS: &[SealedField] = &[CALL_FROM, CALL_TO, DISPATCH_PHONE];

#[derive(Clone)]
pub struct Numbers(pub Arc<FieldSealer>);

impl Numbers {
    /// `row` as it is stored: its numbers sealed.
    pub async fn sealed_call(&self, row: &CallRow) -> Result<CallRow, SealError> {
        let id = row.id.0.to_string();
        Ok(CallRow {
            from_number: self.0.seal(&CALL_FROM, &id, &row.from_number).await?,
            to_number: self.0.seal(&CALL_TO, &id, &row.to_number).await?,
            ..row.clone()
        })
    }

    /// A stored call with its numbers readable.
    pub async fn open_call(&self, mut row: CallRow) -> Result<CallRow, SealError> {
        let id = row.id.0.to_string();
        row.from_number = self.0.open(&CALL_FROM, &id, &row.from_number).await?;
        row.to_number = self.0.open(&CALL_TO, &id, &row.to_number).await?;
        Ok(row)
    }

    /// [`Self::open_call`] of a call that may not be there.
    pub async fn open_some_call(&self, row: Option<CallRow>) -> Result<Option<CallRow>, SealError> {
        match row {
            Some(r) => self.open_call(r).await.map(Some),
            None => Ok(None),
        }
    }

    /// Stored calls with their numbers readable.
    pub async fn open_calls(&self, rows: Vec<CallRow>) -> Result<Vec<CallRow>, SealError> {
        let mut open = Vec::with_capacity(rows.len());
        for row in rows {
            open.push(self.open_call(row).await?);
        }
        Ok(open)
    }

    /// Carrier `org`'s dispatch number as it is stored.
    pub async fn seal_dispatch(&self, org: OrgId, number: &str) -> Result<String, SealError> {
        self.0
            .seal(&DISPATCH_PHONE, &org.0.to_string(), number)
            .await
    }

    /// A dispatch number as stored, readable.
    async fn open_dispatch_phone(
        &self,
        carrier: uuid::Uuid,
        stored: &str,
    ) -> Result<String, SealError> {
        self.0
            .open(&DISPATCH_PHONE, &carrier.to_string(), stored)
            .await
    }

    pub async fn open_dispatch(&self, mut row: DispatchRow) -> Result<DispatchRow, SealError> {
        row.phone = self
            .open_dispatch_phone(row.carrier_org_id, &row.phone)
            .await?;
        Ok(row)
    }

    pub async fn open_on_the_road(&self, mut road: OnTheRoad) -> Result<OnTheRoad, SealError> {
        road.phone = self
            .open_dispatch_phone(road.carrier_org_id, &road.phone)
            .await?;
        Ok(road)
    }

    pub async fn open_some_road(
        &self,
        road: Option<OnTheRoad>,
    ) -> Result<Option<OnTheRoad>, SealError> {
        match road {
            Some(r) => self.open_on_the_road(r).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn open_candidate(&self, mut c: Candidate) -> Result<Candidate, SealError> {
        c.phone = self.open_dispatch_phone(c.carrier_org_id, &c.phone).await?;
        Ok(c)
    }
}

/// The store's reads of calls, with their numbers opened.
impl crate::service::Calls {
    pub(crate) async fn call_by_sid(&self, sid: &str) -> crate::error::Result<Option<CallRow>> {
        let row = crate::store::call_by_sid(&self.db, sid).await?;
        Ok(self.numbers.open_some_call(row).await?)
    }

    /// A call, for the provider's webhooks (whose signed URL names it).
    pub(crate) async fn call_system(&self, id: CallId) -> crate::error::Result<Option<CallRow>> {
        let row = crate::store::call_system(&self.db, id).await?;
        Ok(self.numbers.open_some_call(row).await?)
    }

    pub(crate) async fn org_call(
        &self,
        org: OrgId,
        id: CallId,
    ) -> crate::error::Result<Option<CallRow>> {
        let row = crate::store::call(&self.db, org, id).await?;
        Ok(self.numbers.open_some_call(row).await?)
    }
}
