//! `lanerunner bench ledger`: balanced journal entries a second with many concurrent
//! writers, through `Ledger::record` (the entry, its postings and its balance increments
//! written together: one statement on PostgreSQL, one transaction on SQLite), on SQLite and
//! on a scratch PostgreSQL database; the
//! ledger's invariants are checked after the run (every entry balances, every currency's
//! balances sum to zero, every balance equals its postings).
//!
//! The workload is a broker's books: each entry is an invoice (receivable, revenue, the
//! carrier's payable) or a payment (cash, receivable) of one of `orgs` organizations, so
//! writers contend on the same balance rows as a busy broker's month-end would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lanerunner_core::OrgId;
use lanerunner_payments::ledger::{EntryKind, Ledger, NewEntry, Posting};
use lanerunner_platform::Config;

pub struct LedgerBench {
    pub entries: usize,
    pub writers: usize,
    pub orgs: usize,
    /// `sqlite`, `postgres` or `both`.
    pub store: String,
    pub postgres_admin_url: String,
}

fn entry(n: usize, orgs: usize) -> (usize, NewEntry) {
    let org = n % orgs;
    let cents = 150_000 + (n as i64 * 7919) % 200_000;
    let p = |account: &str, amount_cents: i64| Posting {
        account: account.into(),
        currency: "USD".into(),
        amount_cents,
    };
    let carrier = format!("payable:carrier:c{}", n % 40);
    let postings = if n % 3 == 2 {
        vec![p("cash", cents), p("receivable", -cents)]
    } else {
        vec![
            p("receivable", cents),
            p("revenue", -(cents / 8)),
            p(&carrier, -(cents - cents / 8)),
        ]
    };
    let kind = if n % 3 == 2 {
        EntryKind::PaymentReceived
    } else {
        EntryKind::InvoiceIssued
    };
    (
        org,
        NewEntry {
            kind,
            reference: format!("bench-{n}"),
            memo: None,
            occurred_at: None,
            postings,
        },
    )
}

async fn run_one(config: Config, b: &LedgerBench, label: &str) -> anyhow::Result<String> {
    let db = lanerunner_platform::db::connect(&config, lanerunner_payments::SERVICE).await?;
    db.migrate(&lanerunner_payments::migrations()).await?;
    let ledger = Arc::new(Ledger::new(db.clone()));
    let orgs: Arc<Vec<OrgId>> = Arc::new((0..b.orgs).map(|_| OrgId::new()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.writers {
        let (ledger, orgs, next, total, n_orgs) = (
            ledger.clone(),
            orgs.clone(),
            next.clone(),
            b.entries,
            b.orgs,
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(());
                }
                let (org, e) = entry(n, n_orgs);
                ledger
                    .record(orgs[org], &e, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = start.elapsed().as_secs_f64();
    let check = Instant::now();
    let inv = ledger
        .invariants()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let check_took = check.elapsed().as_secs_f64();
    db.close().await;
    anyhow::ensure!(
        inv.entries as usize == b.entries,
        "{} of {} entries recorded",
        inv.entries,
        b.entries
    );
    Ok(format!(
        "| {label} | {} | {} | {} | {:.0} | {} unbalanced, totals {:?}, {} drifted balances ({}) in {:.1} s |\n",
        b.entries,
        b.writers,
        b.orgs,
        b.entries as f64 / took,
        inv.unbalanced_entries,
        inv.totals,
        inv.drifted_balances,
        if inv.hold() { "exact" } else { "BROKEN" },
        check_took
    ))
}

pub async fn bench(b: LedgerBench) -> anyhow::Result<String> {
    crate::bench_search::on_stores(
        &b.store,
        &b.postgres_admin_url,
        Some(b.writers as u32),
        "| store | entries | writers | organizations | entries/s | invariants after the run |\n|---|---:|---:|---:|---:|---|\n",
        |config, label| run_one(config, &b, label),
    )
    .await
}
