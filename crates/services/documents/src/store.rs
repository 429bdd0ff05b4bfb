//! The documents service's SQL, one text for both backends. Every read of a load or a
//! document names the caller's organization as one of the load's two parties, except the
//! consumers and the generation sweep, which act for the system.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PartyRow {
    pub name: Option<String>,
    pub usdot_number: Option<i64>,
    pub mc_number: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadRow {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub rate_cents: i64,
    pub booked_at: DateTime<Utc>,
    pub status: String,
    pub delivered_at: Option<DateTime<Utc>>,
    pub terms: String,
    pub generation_due: bool,
    pub generation_attempts: i32,
    pub checklist_completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct TemplateRow {
    pub org_id: Uuid,
    pub legal_name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub rate_confirmation_terms: Option<String>,
    pub invoice_terms: Option<String>,
    pub logo: Option<Vec<u8>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: Uuid,
    pub load_id: Uuid,
    pub kind: String,
    pub origin: String,
    pub file_id: Uuid,
    pub file_org_id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub signs: Option<Uuid>,
    pub model: Option<String>,
    pub note: Option<String>,
    pub created_by: Uuid,
    pub created_by_org: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignatureRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub signed_version: Uuid,
    pub party: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub signer_name: String,
    pub signer_title: Option<String>,
    pub signed_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: Option<String>,
    pub document_sha256: String,
}

/// Whether document `d` bears signature `s`: an original bears the signatures made on it;
/// a signed version, every signature made on its original up to and including its own.
pub fn bears(d: &DocumentRow, s: &SignatureRow) -> bool {
    s.document_id == d.id || (d.signs == Some(s.document_id) && s.signed_at <= d.created_at)
}

/// `columns` each prefixed with `alias.`, for a join.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- parties ----

pub async fn set_party_name(tx: &mut Tx, org: Uuid, kind: &str, name: &str) -> sqlx::Result<()> {
    let sql = "INSERT INTO doc_parties (org_id, kind, name) VALUES ($1, $2, $3) \
               ON CONFLICT (org_id) DO UPDATE SET kind = excluded.kind, name = excluded.name";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(kind)
        .bind(name)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn set_party_authority(
    tx: &mut Tx,
    org: Uuid,
    usdot: i64,
    mc: Option<i64>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO doc_parties (org_id, usdot_number, mc_number) VALUES ($1, $2, $3) \
               ON CONFLICT (org_id) DO UPDATE SET usdot_number = excluded.usdot_number, mc_number = excluded.mc_number";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(usdot)
        .bind(mc)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn party(db: &Db, org: Uuid) -> sqlx::Result<Option<PartyRow>> {
    let sql = "SELECT name, usdot_number, mc_number FROM doc_parties WHERE org_id = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

// ---- loads ----

const LOAD_COLUMNS: &str = "load_id, broker_org_id, carrier_org_id, reference, rate_cents, booked_at, status, delivered_at, terms, generation_due, generation_attempts, checklist_completed_at";

/// Records a booking, or a new booking of the same load (covered again after it fell
/// through): its terms replace the old ones and its paperwork is generated again.
pub async fn book_load(tx: &mut Tx, r: &LoadRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO doc_loads ({LOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (load_id) DO UPDATE SET carrier_org_id = excluded.carrier_org_id, reference = excluded.reference, \
         rate_cents = excluded.rate_cents, booked_at = excluded.booked_at, status = excluded.status, \
         delivered_at = NULL, terms = excluded.terms, generation_due = excluded.generation_due, \
         generation_attempts = 0, checklist_completed_at = NULL \
         WHERE doc_loads.booked_at < excluded.booked_at"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(r.load_id)
        .bind(r.broker_org_id)
        .bind(r.carrier_org_id)
        .bind(&r.reference)
        .bind(r.rate_cents)
        .bind(r.booked_at)
        .bind(&r.status)
        .bind(r.delivered_at)
        .bind(&r.terms)
        .bind(r.generation_due)
        .bind(r.generation_attempts)
        .bind(r.checklist_completed_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The load, locked until `tx` ends (the system's view: no organization).
pub async fn lock_load(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!(
        "SELECT {LOAD_COLUMNS} FROM doc_loads WHERE load_id = $1{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn set_status(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    delivered_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let sql = "UPDATE doc_loads SET status = $2, delivered_at = COALESCE(delivered_at, $3) WHERE load_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(status)
        .bind(delivered_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The load, when `org` is its broker or its carrier.
pub async fn load_for(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!(
        "SELECT {LOAD_COLUMNS} FROM doc_loads WHERE load_id = $1 AND (broker_org_id = $2 OR carrier_org_id = $2)"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// The loads `org` is a party to, newest first, older than `before`: the subquery the
/// page's documents and signatures are read with too.
fn loads_page_filter() -> &'static str {
    "SELECT load_id FROM doc_loads WHERE (broker_org_id = $1 OR carrier_org_id = $1) \
     AND ($2 IS NULL OR load_id < $2) ORDER BY load_id DESC LIMIT $3"
}

/// A page of `org`'s loads with their documents and signatures: three queries whatever
/// the page's size.
pub async fn loads_page(
    db: &Db,
    org: OrgId,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<(Vec<LoadRow>, Vec<DocumentRow>, Vec<SignatureRow>)> {
    let filter = loads_page_filter();
    let loads = format!(
        "SELECT {LOAD_COLUMNS} FROM doc_loads WHERE load_id IN ({filter}) ORDER BY load_id DESC"
    );
    let docs = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE load_id IN ({filter}) ORDER BY created_at, id"
    );
    let sigs = format!(
        "SELECT {} FROM document_signatures s JOIN documents d ON d.id = s.document_id \
         WHERE d.load_id IN ({filter}) ORDER BY s.signed_at, s.id",
        qualified("s", SIGNATURE_COLUMNS)
    );
    on_db!(db, |c| {
        let loads: Vec<LoadRow> = sqlx::query_as(&loads)
            .bind(org)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
            .await?;
        let docs: Vec<DocumentRow> = sqlx::query_as(&docs)
            .bind(org)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
            .await?;
        let sigs: Vec<SignatureRow> = sqlx::query_as(&sigs)
            .bind(org)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
            .await?;
        Ok((loads, docs, sigs))
    })
}

/// Loads whose paperwork is still to be generated, oldest booking first.
pub async fn generation_due(db: &Db, limit: i64) -> sqlx::Result<Vec<LoadRow>> {
    let sql = format!(
        "SELECT {LOAD_COLUMNS} FROM doc_loads WHERE generation_due ORDER BY booked_at LIMIT $1"
    );
    on_db!(db, |c| sqlx::query_as(&sql).bind(limit).fetch_all(c).await)
}

/// Marks the booking's paperwork done, if the load was not booked again meanwhile.
pub async fn generation_done(
    tx: &mut Tx,
    id: Uuid,
    booked_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE doc_loads SET generation_due = FALSE WHERE load_id = $1 AND booked_at = $2 AND generation_due";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(booked_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Counts a failed attempt; after `max` the booking's paperwork is left for a person to
/// generate (the broker's "generate again").
pub async fn generation_failed(db: &Db, id: Uuid, max: i32) -> sqlx::Result<()> {
    let sql = "UPDATE doc_loads SET generation_attempts = generation_attempts + 1, \
               generation_due = (generation_attempts + 1 < $2) WHERE load_id = $1";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(max)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Records that the checklist is complete, once; `false` if it already was.
pub async fn checklist_completed(tx: &mut Tx, id: Uuid, at: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "UPDATE doc_loads SET checklist_completed_at = $2 WHERE load_id = $1 AND checklist_completed_at IS NULL";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

// ---- templates ----

const TEMPLATE_COLUMNS: &str = "org_id, legal_name, address, phone, email, rate_confirmation_terms, invoice_terms, logo, updated_at, updated_by";

pub async fn template(db: &Db, org: Uuid) -> sqlx::Result<Option<TemplateRow>> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM doc_templates WHERE org_id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// Sets the template's text fields, keeping its logo.
pub async fn put_template(db: &Db, t: &TemplateRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO doc_templates ({TEMPLATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9) \
         ON CONFLICT (org_id) DO UPDATE SET legal_name = excluded.legal_name, address = excluded.address, \
         phone = excluded.phone, email = excluded.email, rate_confirmation_terms = excluded.rate_confirmation_terms, \
         invoice_terms = excluded.invoice_terms, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
    );
    on_db!(db, |c| sqlx::query(&sql)
        .bind(t.org_id)
        .bind(&t.legal_name)
        .bind(&t.address)
        .bind(&t.phone)
        .bind(&t.email)
        .bind(&t.rate_confirmation_terms)
        .bind(&t.invoice_terms)
        .bind(t.updated_at)
        .bind(t.updated_by)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Sets or clears the logo, creating an empty template if there is none.
pub async fn set_logo(
    db: &Db,
    org: Uuid,
    logo: Option<&[u8]>,
    by: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO doc_templates (org_id, logo, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (org_id) DO UPDATE SET logo = excluded.logo, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(logo)
        .bind(at)
        .bind(by)
        .execute(c)
        .await
        .map(|_| ()))
}

// ---- documents ----

const DOCUMENT_COLUMNS: &str = "id, load_id, kind, origin, file_id, file_org_id, name, content_type, size_bytes, sha256, signs, model, note, created_by, created_by_org, created_at";

pub async fn insert_document(tx: &mut Tx, d: &DocumentRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(d.id)
        .bind(d.load_id)
        .bind(&d.kind)
        .bind(&d.origin)
        .bind(d.file_id)
        .bind(d.file_org_id)
        .bind(&d.name)
        .bind(&d.content_type)
        .bind(d.size_bytes)
        .bind(&d.sha256)
        .bind(d.signs)
        .bind(&d.model)
        .bind(&d.note)
        .bind(d.created_by)
        .bind(d.created_by_org)
        .bind(d.created_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A load's documents, oldest first.
pub async fn documents_of(db: &Db, load: Uuid) -> sqlx::Result<Vec<DocumentRow>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE load_id = $1 ORDER BY created_at, id"
    );
    on_db!(db, |c| sqlx::query_as(&sql).bind(load).fetch_all(c).await)
}

pub async fn documents_of_tx(tx: &mut Tx, load: Uuid) -> sqlx::Result<Vec<DocumentRow>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE load_id = $1 ORDER BY created_at, id"
    );
    on_tx!(tx, |c| sqlx::query_as(&sql).bind(load).fetch_all(c).await)
}

/// The document, when `org` is a party to its load.
pub async fn document_for(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<DocumentRow>> {
    let sql = format!(
        "SELECT {} FROM documents d JOIN doc_loads l ON l.load_id = d.load_id \
         WHERE d.id = $1 AND (l.broker_org_id = $2 OR l.carrier_org_id = $2)",
        qualified("d", DOCUMENT_COLUMNS)
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// Documents with this SHA-256 on loads `org` is a party to.
pub async fn documents_by_sha256(
    db: &Db,
    org: OrgId,
    sha256: &str,
) -> sqlx::Result<Vec<DocumentRow>> {
    let sql = format!(
        "SELECT {} FROM documents d JOIN doc_loads l ON l.load_id = d.load_id \
         WHERE d.sha256 = $1 AND (l.broker_org_id = $2 OR l.carrier_org_id = $2) ORDER BY d.created_at",
        qualified("d", DOCUMENT_COLUMNS)
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(sha256)
        .bind(org)
        .fetch_all(c)
        .await)
}

// ---- signatures ----

const SIGNATURE_COLUMNS: &str = "id, document_id, signed_version, party, org_id, user_id, signer_name, signer_title, signed_at, ip, user_agent, document_sha256";

pub async fn insert_signature(tx: &mut Tx, s: &SignatureRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO document_signatures ({SIGNATURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(s.id)
        .bind(s.document_id)
        .bind(s.signed_version)
        .bind(&s.party)
        .bind(s.org_id)
        .bind(s.user_id)
        .bind(&s.signer_name)
        .bind(&s.signer_title)
        .bind(s.signed_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(&s.document_sha256)
        .execute(c)
        .await
        .map(|_| ()))
}

fn signatures_on_load_sql() -> String {
    format!(
        "SELECT {} FROM document_signatures s JOIN documents d ON d.id = s.document_id \
         WHERE d.load_id = $1 ORDER BY s.signed_at, s.id",
        qualified("s", SIGNATURE_COLUMNS)
    )
}

/// The signatures on a load's documents, in the order they were made.
pub async fn signatures_on_load(db: &Db, load: Uuid) -> sqlx::Result<Vec<SignatureRow>> {
    let sql = signatures_on_load_sql();
    on_db!(db, |c| sqlx::query_as(&sql).bind(load).fetch_all(c).await)
}

pub async fn signatures_on_load_tx(tx: &mut Tx, load: Uuid) -> sqlx::Result<Vec<SignatureRow>> {
    let sql = signatures_on_load_sql();
    on_tx!(tx, |c| sqlx::query_as(&sql).bind(load).fetch_all(c).await)
}

/// The signatures on one document, locked with it until `tx` ends.
pub async fn lock_signatures(tx: &mut Tx, document: Uuid) -> sqlx::Result<Vec<SignatureRow>> {
    // The document row is the lock: every signature on it is made under it.
    let lock = format!("SELECT id FROM documents WHERE id = $1{}", tx.for_update());
    on_tx!(tx, |c| sqlx::query(&lock)
        .bind(document)
        .execute(c)
        .await
        .map(|_| ()))?;
    let sql = format!(
        "SELECT {SIGNATURE_COLUMNS} FROM document_signatures WHERE document_id = $1 ORDER BY signed_at, id"
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(document)
        .fetch_all(c)
        .await)
}

pub async fn signatures_of(db: &Db, document: Uuid) -> sqlx::Result<Vec<SignatureRow>> {
    let sql = format!(
        "SELECT {SIGNATURE_COLUMNS} FROM document_signatures WHERE document_id = $1 ORDER BY signed_at, id"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(document)
        .fetch_all(c)
        .await)
}

// ---- invoices to render ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceDue {
    pub invoice_id: Uuid,
    pub load_id: Uuid,
    pub payload: String,
}

/// Queues an invoice's PDF, once; `false` when its load has no paperwork here.
pub async fn queue_invoice(
    tx: &mut Tx,
    invoice: Uuid,
    load: Uuid,
    org: Uuid,
    payload: &str,
) -> sqlx::Result<bool> {
    let sql = "INSERT INTO doc_invoices (invoice_id, load_id, org_id, payload, generated) \
               SELECT $1, load_id, $3, $4, FALSE FROM doc_loads WHERE load_id = $2 AND broker_org_id = $3 \
               ON CONFLICT (invoice_id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(invoice)
        .bind(load)
        .bind(org)
        .bind(payload)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn invoices_due(db: &Db, limit: i64) -> sqlx::Result<Vec<InvoiceDue>> {
    let sql = "SELECT invoice_id, load_id, payload FROM doc_invoices WHERE NOT generated AND attempts < 5 LIMIT $1";
    on_db!(db, |c| sqlx::query_as(sql).bind(limit).fetch_all(c).await)
}

/// Marks the invoice's PDF done, once (compare-and-set).
pub async fn invoice_done(tx: &mut Tx, invoice: Uuid) -> sqlx::Result<bool> {
    let sql = "UPDATE doc_invoices SET generated = TRUE WHERE invoice_id = $1 AND NOT generated";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(invoice)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn invoice_failed(db: &Db, invoice: Uuid) -> sqlx::Result<()> {
    let sql = "UPDATE doc_invoices SET attempts = attempts + 1 WHERE invoice_id = $1";
    on_db!(db, |c| sqlx::query(sql)
        .bind(invoice)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn reference(db: &Db, load: Uuid) -> sqlx::Result<Option<String>> {
    let sql = "SELECT reference FROM doc_loads WHERE load_id = $1";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(load)
        .fetch_optional(c)
        .await)
}
