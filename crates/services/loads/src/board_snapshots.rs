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

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_platform::config::LoadsConfig;
use lanerunner_platform::service::ServiceContext;
use serde::Deserialize;
use uuid::Uuid;

use crate::board::Board;
use crate::service::Loads;
use crate::snapshot::{self, Header, SnapshotError};
use crate::store;

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
        let copy = self.board.read().expect("board lock").copy();
        let loads = copy.entries.len();
        let file = Scratch::new();
        let path = file.0.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            snapshot::write(std::fs::File::create(&path)?, taken_at, high_water, &copy)
        })
        .await??;
        self.ctx.blobs.put_file(KEY, &file.0).await?;
        metrics::counter!("loads_board_snapshots_written_total").increment(1);
        tracing::info!(loads, "board snapshot written");
        Ok(loads)
    }
}

/// What the deployment's snapshot offers a starting instance.
pub(crate) enum Snapshot {
    /// The board as of `taken_at`, to be caught up from the store.
    Usable(Box<Board>, DateTime<Utc>),
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
    let (header, board) = match decoded {
        Ok(d) => d,
        Err(e) => return Ok(refuse(reason_of(&e), &e.to_string())),
    };
    let built = started.elapsed();
    if let Some(reason) = check(ctx, settings, &header, &board).await? {
        return Ok(refuse(reason.0, &reason.1));
    }
    tracing::info!(
        fetch_s = fetched.as_secs_f64(),
        read_and_index_s = (built - fetched).as_secs_f64(),
        check_s = (started.elapsed() - built).as_secs_f64(),
        "board snapshot loaded"
    );
    Ok(Snapshot::Usable(Box::new(board), header.taken_at))
}

/// The snapshot in `file` and the board it holds, not yet checked against the store.
fn decode(file: std::fs::File) -> Result<(Header, Board), SnapshotError> {
    let (header, copy) = snapshot::read(file)?;
    let board = Board::from_snapshot(copy).map_err(|e| SnapshotError::Corrupt(format!("{e:#}")))?;
    Ok((header, board))
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
    header: &Header,
    board: &Board,
) -> anyhow::Result<Option<(&'static str, String)>> {
    let now = Utc::now();
    let age = now - header.taken_at;
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
            format!("taken at {}", header.taken_at),
        )));
    }
    let store_high_water = store::loads_high_water(&ctx.db).await?;
    if header.high_water > store_high_water {
        return Ok(Some((
            "store_behind",
            format!(
                "the snapshot saw changes up to {:?}, the store's newest is {:?} (restored, or another store)",
                header.high_water, store_high_water
            ),
        )));
    }
    #[derive(Deserialize)]
    struct Owner {
        broker_org_id: Uuid,
    }
    for (load, view) in board.sample(SAMPLE) {
        // A view that does not decompress with the snapshot's dictionary, or holds no
        // owner, is damage the checksums missed.
        let Some(owner) = view.and_then(|v| serde_json::from_str::<Owner>(&v.0).ok()) else {
            return Ok(Some((
                "corrupt",
                format!("the view of load {:032x} cannot be read", load),
            )));
        };
        let (org, id) = (OrgId(owner.broker_org_id), LoadId(Uuid::from_u128(load)));
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
