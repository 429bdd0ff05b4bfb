//! Board snapshots: every instance writes its board to the blob store every
//! `loads.board_snapshot_interval_secs`, and an instance starting up loads the newest one
//! instead of re-reading and re-rendering every posted load from the store, then catches
//! up from the store with what changed since (`board.rs` explains why re-reading the store
//! makes that exact). A snapshot is used only when it reads back whole (format in
//! `snapshot.rs`), is younger than `loads.board_snapshot_max_age_secs`, the store has not
//! gone back in time since it was taken (a restore, another database), and a sample of its
//! loads exists in this store (another deployment's snapshot); otherwise the board is
//! rebuilt from the store, and the reason is logged and counted
//! (`loads_board_snapshot_refused_total{reason}`).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_loadsearch::IndexedLoad;
use lanerunner_platform::config::LoadsConfig;
use lanerunner_platform::service::ServiceContext;
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::board::Board;
use crate::service::Loads;
use crate::snapshot::{self, Header, SnapshotError};
use crate::store;
use crate::views::Rendered;

/// Where the snapshot lives in the blob store: one per deployment, the newest wins.
pub const KEY: &str = "board/snapshot.lrboard";
/// Loads of a snapshot looked up in the store before it is trusted.
const SAMPLE: usize = 32;
/// How far ahead of this instance's clock a snapshot may have been taken (clock skew).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// A scratch file for a snapshot on its way in or out, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        Scratch(std::env::temp_dir().join(format!("lanerunner-board-{}.lrboard", Uuid::new_v4())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Loads {
    /// Whether this instance should write the snapshot now: at most one instance of the
    /// deployment claims it per `every` (a little less, so that ticks drifting by a few
    /// milliseconds do not skip an interval).
    pub async fn claim_board_snapshot(&self, every: std::time::Duration) -> anyhow::Result<bool> {
        let now = Utc::now();
        let stale = now - chrono::Duration::from_std(every.mul_f64(0.9))?;
        Ok(store::claim_board_snapshot(&self.db, now, stale).await?)
    }

    /// Writes this instance's board to the blob store; returns how many loads it holds.
    pub async fn write_board_snapshot(&self) -> anyhow::Result<usize> {
        // The high-water mark is read before the board is copied, so the copy holds at
        // least every change up to it.
        let high_water = store::loads_high_water(&self.db).await?;
        let taken_at = Utc::now();
        let entries = self.board.read().expect("board lock").entries();
        let loads = entries.len();
        let file = Scratch::new();
        let path = file.0.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let out = std::fs::File::create(&path)?;
            let views = entries.iter().map(|(l, v)| (l, v.0.get()));
            snapshot::write(out, taken_at, high_water, views)
        })
        .await??;
        self.ctx.blobs.put_file(KEY, &file.0).await?;
        metrics::counter!("loads_board_snapshots_written_total").increment(1);
        tracing::info!(loads, "board snapshot written");
        Ok(loads)
    }
}

/// A decoded snapshot, not yet checked against the store.
struct Decoded {
    header: Header,
    entries: Vec<(IndexedLoad, Rendered)>,
}

/// What the deployment's snapshot offers a starting instance.
pub(crate) enum Snapshot {
    /// The board as of `taken_at`, to be caught up from the store.
    Usable(Board, DateTime<Utc>),
    Absent,
    /// Refused for this reason (logged and counted).
    Refused(&'static str),
}

/// The deployment's board snapshot, if there is one this store may use. A snapshot that
/// cannot be fetched or checked (the blob store or the database failing) is refused as
/// `unreadable`, like a damaged one: the caller rebuilds from the store either way.
pub(crate) async fn load(ctx: &ServiceContext, settings: &LoadsConfig) -> Snapshot {
    match try_load(ctx, settings).await {
        Ok(snapshot) => snapshot,
        Err(e) => refuse("unreadable", &format!("{e:#}")),
    }
}

async fn try_load(ctx: &ServiceContext, settings: &LoadsConfig) -> anyhow::Result<Snapshot> {
    if !ctx.blobs.list("board/").await?.iter().any(|k| k == KEY) {
        tracing::info!("no board snapshot yet: rebuilding the board from the store");
        return Ok(Snapshot::Absent);
    }
    let started = std::time::Instant::now();
    let file = Scratch::new();
    ctx.blobs.get_to_file(KEY, &file.0, &mut |_| {}).await?;
    let fetched = started.elapsed();
    let path = file.0.clone();
    let decoded = tokio::task::spawn_blocking(move || decode(std::fs::File::open(path)?)).await?;
    drop(file);
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => return Ok(refuse(reason_of(&e), &e.to_string())),
    };
    if let Some(reason) = check(ctx, settings, &decoded).await? {
        return Ok(refuse(reason.0, &reason.1));
    }
    let taken_at = decoded.header.taken_at;
    let (read, built) = (started.elapsed(), std::time::Instant::now());
    match Board::from_snapshot(decoded.entries) {
        Ok(board) => {
            tracing::info!(
                fetch_s = fetched.as_secs_f64(),
                read_and_check_s = (read - fetched).as_secs_f64(),
                index_s = built.elapsed().as_secs_f64(),
                "board snapshot loaded"
            );
            Ok(Snapshot::Usable(board, taken_at))
        }
        Err(e) => Ok(refuse("corrupt", &e.to_string())),
    }
}

fn decode(file: std::fs::File) -> Result<Decoded, SnapshotError> {
    let mut entries = Vec::new();
    let header = snapshot::read(file, |load, view| {
        let view = RawValue::from_string(view)
            .map_err(|e| SnapshotError::Corrupt(format!("a view is not JSON: {e}")))?;
        entries.push((load, Rendered(Arc::from(view))));
        Ok(())
    })?;
    Ok(Decoded { header, entries })
}

fn reason_of(e: &SnapshotError) -> &'static str {
    match e {
        SnapshotError::NotASnapshot => "not_a_snapshot",
        SnapshotError::Format(_) => "format",
        SnapshotError::Corrupt(_) => "corrupt",
    }
}

fn refuse(reason: &'static str, detail: &str) -> Snapshot {
    metrics::counter!("loads_board_snapshot_refused_total", "reason" => reason).increment(1);
    tracing::warn!(
        reason,
        detail,
        "board snapshot refused: rebuilding the board from the store"
    );
    Snapshot::Refused(reason)
}

/// Why a readable snapshot may not be used with this store, if it may not.
async fn check(
    ctx: &ServiceContext,
    settings: &LoadsConfig,
    s: &Decoded,
) -> anyhow::Result<Option<(&'static str, String)>> {
    let now = Utc::now();
    let age = now - s.header.taken_at;
    if age > chrono::Duration::seconds(settings.board_snapshot_max_age_secs as i64) {
        return Ok(Some((
            "too_old",
            format!(
                "taken {} s ago, more than loads.board_snapshot_max_age_secs = {}",
                age.num_seconds(),
                settings.board_snapshot_max_age_secs
            ),
        )));
    }
    if age < -CLOCK_SKEW {
        return Ok(Some((
            "from_the_future",
            format!("taken at {}", s.header.taken_at),
        )));
    }
    let store_high_water = store::loads_high_water(&ctx.db).await?;
    if s.header.high_water > store_high_water {
        return Ok(Some((
            "store_behind",
            format!(
                "the snapshot saw changes up to {:?}, the store's newest is {:?} (restored, or another store)",
                s.header.high_water, store_high_water
            ),
        )));
    }
    #[derive(Deserialize)]
    struct Owner {
        broker_org_id: Uuid,
    }
    let step = (s.entries.len() / SAMPLE).max(1);
    for (load, view) in s.entries.iter().step_by(step).take(SAMPLE) {
        let Ok(owner) = serde_json::from_str::<Owner>(view.0.get()) else {
            return Ok(Some((
                "corrupt",
                format!("load {:032x} has no owner", load.id),
            )));
        };
        let (org, id) = (OrgId(owner.broker_org_id), LoadId(Uuid::from_u128(load.id)));
        // A load this store never had: the snapshot is another deployment's. (One that
        // left the board since is fine: the catch-up takes it off.)
        if store::get_load(&ctx.db, org, id).await?.is_none() {
            return Ok(Some((
                "unknown_loads",
                format!("load {id} is not in this store (another deployment's snapshot?)"),
            )));
        }
    }
    Ok(None)
}
