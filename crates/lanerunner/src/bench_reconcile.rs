//! `lanerunner bench reconcile`: the daily reconciliation of `payments` processor
//! movements. The ledger's side is written to the payment service's store (SQLite, or a
//! scratch PostgreSQL database) as the webhooks would leave it; the processor's side is
//! the same day as Stripe's balance history would list it, with differences planted: an
//! amount changed every 1,000th payment, a payment the processor never moved every
//! 1,500th, and 50 refunds the ledger never heard of. The run reads the day back from the
//! store and matches it; the report must name exactly the planted differences.

use std::time::Instant;

use chrono::{Duration, Utc};
use lanerunner_payments::invoices::store;
use lanerunner_payments::reconcile::{reconcile, Difference, Movement, MovementKind};
use lanerunner_platform::Config;

pub struct ReconcileBench {
    pub payments: usize,
    /// `sqlite`, `postgres` or `both`.
    pub store: String,
    pub postgres_admin_url: String,
}

fn payment(n: usize) -> Movement {
    Movement {
        object_id: format!("ch_bench_{n:08}"),
        kind: MovementKind::Charge,
        currency: "USD".into(),
        amount_cents: 150_000 + (n as i64 * 7919) % 200_000,
    }
}

/// The processor's side, and how many differences of each kind were planted.
fn processor_side(payments: usize) -> (Vec<Movement>, [usize; 3]) {
    let mut out = Vec::with_capacity(payments + 50);
    let mut planted = [0; 3];
    for n in 0..payments {
        let mut m = payment(n);
        if n % 1_500 == 7 {
            planted[0] += 1; // only in the ledger
            continue;
        }
        if n % 1_000 == 3 {
            m.amount_cents -= 1;
            planted[1] += 1; // amounts differ
        }
        out.push(m);
    }
    for n in 0..50 {
        out.push(Movement {
            object_id: format!("re_bench_{n:04}"),
            kind: MovementKind::Refund,
            currency: "USD".into(),
            amount_cents: -10_000,
        });
        planted[2] += 1; // only at the processor
    }
    (out, planted)
}

async fn run_one(config: Config, b: &ReconcileBench, label: &str) -> anyhow::Result<String> {
    let db = lanerunner_platform::db::connect(&config, lanerunner_payments::SERVICE).await?;
    db.migrate(&lanerunner_payments::migrations()).await?;
    let day = Utc::now().date_naive();
    let start_of_day = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let org = uuid::Uuid::now_v7();
    let write = Instant::now();
    for chunk in (0..b.payments).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = db.begin().await?;
        for n in chunk {
            let at = start_of_day + Duration::milliseconds((*n as i64 * 797) % 86_000_000);
            store::put_movement(&mut tx, org, &payment(*n), at).await?;
        }
        tx.commit().await?;
    }
    let write_took = write.elapsed().as_secs_f64();
    let (processor, planted) = processor_side(b.payments);

    let start = Instant::now();
    let ledger = store::movements(&db, start_of_day, start_of_day + Duration::days(1)).await?;
    let read_took = start.elapsed().as_secs_f64();
    let matching = Instant::now();
    let report = reconcile(&ledger, &processor);
    let match_took = matching.elapsed().as_secs_f64();
    let took = start.elapsed().as_secs_f64();
    db.close().await;

    let count = |f: fn(&Difference) -> bool| report.differences.iter().filter(|d| f(d)).count();
    let found = [
        count(|d| matches!(d, Difference::OnlyInLedger { .. })),
        count(|d| matches!(d, Difference::Differs { .. })),
        count(|d| matches!(d, Difference::OnlyAtProcessor { .. })),
    ];
    anyhow::ensure!(
        found == planted,
        "the report found {found:?} differences where {planted:?} were planted"
    );
    anyhow::ensure!(report.matched as usize == b.payments - planted[0] - planted[1]);
    Ok(format!(
        "| {label} | {} | {:.2} | {:.3} | {:.2} | {:.0} | {} matched; {} only in the ledger, {} amounts differ, {} only at the processor: exactly as planted |\n",
        b.payments,
        read_took,
        match_took,
        took,
        b.payments as f64 / took,
        report.matched,
        found[0],
        found[1],
        found[2],
    ) + &format!("<!-- {label}: writing the ledger side took {write_took:.1} s (setup, not timed) -->\n"))
}

pub async fn bench(b: ReconcileBench) -> anyhow::Result<String> {
    crate::bench_search::on_stores(
        &b.store,
        &b.postgres_admin_url,
        None,
        "| store | payments | read the day (s) | match (s) | total (s) | payments/s | report |\n|---|---:|---:|---:|---:|---:|---|\n",
        |config, label| run_one(config, &b, label),
    )
    .await
}
