//! Consistent online copies of the services' stores, and putting them back.
//!
//! - SQLite: `VACUUM INTO` per service file — a transactionally consistent copy taken while
//!   the service keeps writing (SQLite's online backup; WAL readers do not block writers).
//!   Each file is its own snapshot: services are copied one after another, which is safe
//!   because no transaction spans two services and the outbox/inbox make cross-service
//!   effects idempotent on replay.
//! - PostgreSQL: one `pg_dump` of every service's schema — one snapshot across all of them —
//!   in its custom format, restored with `pg_restore --single-transaction`. (Point-in-time
//!   recovery between these backups is WAL archiving's job: docs/operations.md.)

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context as _;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Row as _};

use super::manifest::{StoreEntry, StoreKind};
use lanerunner_platform::Config;

/// A copy of one part's worth of store, in a scratch file.
pub struct StoreCopy {
    /// The part's name (`stores/loads.sqlite`, `stores/postgres.dump`).
    pub part: String,
    pub file: PathBuf,
}

pub fn kind_of(config: &Config) -> StoreKind {
    if config.database.url.is_some() {
        StoreKind::Postgres
    } else {
        StoreKind::Sqlite
    }
}

fn sqlite_path(config: &Config, service: &str) -> PathBuf {
    config.data_dir.join(format!("{service}.db"))
}

/// Copies the stores of `services` that exist.
pub async fn copy(
    config: &Config,
    services: &[&str],
    scratch: &Path,
) -> anyhow::Result<(Vec<StoreEntry>, Vec<StoreCopy>)> {
    // PostgreSQL itself, not a transaction pooler (pg_dump holds a session and a snapshot).
    match lanerunner_platform::db::direct_url(config) {
        None => copy_sqlite(config, services, scratch).await,
        Some(url) => copy_postgres(url, services, scratch).await,
    }
}

async fn copy_sqlite(
    config: &Config,
    services: &[&str],
    scratch: &Path,
) -> anyhow::Result<(Vec<StoreEntry>, Vec<StoreCopy>)> {
    let mut entries = Vec::new();
    let mut copies = Vec::new();
    for service in services {
        let path = sqlite_path(config, service);
        if !path.exists() {
            continue;
        }
        let mut conn = SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30))
            .connect()
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let migration_version = sqlite_migration_version(&mut conn).await?;
        let target = scratch.join(format!("{service}.sqlite"));
        let _ = std::fs::remove_file(&target);
        sqlx::query("VACUUM INTO ?")
            .bind(target.to_string_lossy().as_ref())
            .execute(&mut conn)
            .await
            .with_context(|| format!("copying the {service} store"))?;
        conn.close().await?;
        entries.push(StoreEntry {
            service: service.to_string(),
            migration_version,
        });
        copies.push(StoreCopy {
            part: format!("stores/{service}.sqlite"),
            file: target,
        });
    }
    Ok((entries, copies))
}

async fn sqlite_migration_version(conn: &mut sqlx::SqliteConnection) -> anyhow::Result<i64> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Ok(0);
    }
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// `pg_dump` and `pg_restore` get the URL without its password (which would show in the
/// process list) and the password through `PGPASSWORD`; with a host list in `database.url`,
/// the URL of the current primary alone.
async fn pg_command(program: &str, url: &str) -> anyhow::Result<tokio::process::Command> {
    let url = lanerunner_platform::db::primary_url(url).await?;
    let mut parsed = url::Url::parse(&url).context("database.url is not a URL")?;
    let password = parsed.password().map(str::to_string);
    let _ = parsed.set_password(None);
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--dbname").arg(parsed.as_str());
    if let Some(p) = password {
        let decoded = percent_decode(&p);
        cmd.env("PGPASSWORD", decoded);
    }
    cmd.kill_on_drop(true);
    Ok(cmd)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

async fn pg_connect(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    Ok(lanerunner_platform::db::primary_options(url)
        .await?
        .connect()
        .await?)
}

async fn existing_schemas(
    conn: &mut sqlx::PgConnection,
    services: &[&str],
) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    Ok(sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name = ANY($1) ORDER BY 1",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?)
}

async fn copy_postgres(
    url: &str,
    services: &[&str],
    scratch: &Path,
) -> anyhow::Result<(Vec<StoreEntry>, Vec<StoreCopy>)> {
    let mut conn = pg_connect(url).await?;
    let schemas = existing_schemas(&mut conn, services).await?;
    let mut entries = Vec::new();
    for schema in &schemas {
        let table = format!("{schema}._sqlx_migrations");
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(&table)
            .fetch_one(&mut conn)
            .await?;
        let migration_version: i64 = if exists.is_some() {
            sqlx::query_scalar(&format!(
                "SELECT COALESCE(MAX(version), 0) FROM {table} WHERE success"
            ))
            .fetch_one(&mut conn)
            .await?
        } else {
            0
        };
        entries.push(StoreEntry {
            service: schema.clone(),
            migration_version,
        });
    }
    conn.close().await?;
    if schemas.is_empty() {
        return Ok((entries, Vec::new()));
    }
    let target = scratch.join("postgres.dump");
    let mut cmd = pg_command("pg_dump", url).await?;
    cmd.args([
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "--compress=6",
    ])
    .arg("--file")
    .arg(&target);
    for schema in &schemas {
        cmd.arg("--schema").arg(schema);
    }
    let out = cmd.output().await.context(
        "running pg_dump (install the PostgreSQL client, the server's major version or newer)",
    )?;
    anyhow::ensure!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok((
        entries,
        vec![StoreCopy {
            part: "stores/postgres.dump".into(),
            file: target,
        }],
    ))
}

/// Checks a decrypted store part before anything is replaced: SQLite's integrity check on
/// the staged file; `pg_restore --list` reads the whole archive's table of contents.
pub async fn check_copy(kind: StoreKind, staged: &Path) -> anyhow::Result<()> {
    match kind {
        StoreKind::Sqlite => {
            let mut conn = SqliteConnectOptions::new()
                .filename(staged)
                .read_only(true)
                .connect()
                .await?;
            let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            anyhow::ensure!(verdict == "ok", "SQLite integrity check: {verdict}");
        }
        StoreKind::Postgres => {
            let out = tokio::process::Command::new("pg_restore")
                .arg("--list")
                .arg(staged)
                .output()
                .await
                .context("running pg_restore")?;
            anyhow::ensure!(
                out.status.success(),
                "pg_restore cannot read the archive: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

/// What in the target already holds data, for the refusal's message (empty: nothing).
pub async fn occupied(config: &Config, services: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    match lanerunner_platform::db::direct_url(config) {
        None => {
            for service in services {
                let path = sqlite_path(config, service);
                if !path.exists() {
                    continue;
                }
                let mut conn = SqliteConnectOptions::new()
                    .filename(&path)
                    .read_only(true)
                    .connect()
                    .await?;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
                )
                .fetch_all(&mut conn)
                .await?;
                for table in tables {
                    let row = sqlx::query(&format!("SELECT 1 FROM \"{table}\" LIMIT 1"))
                        .fetch_optional(&mut conn)
                        .await?;
                    if row.is_some() {
                        found.push(format!("{service}.{table} holds rows"));
                        break;
                    }
                }
                conn.close().await?;
            }
        }
        Some(url) => {
            let mut conn = pg_connect(url).await?;
            for schema in existing_schemas(&mut conn, services).await? {
                let tables: Vec<String> = sqlx::query(
                    "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
                )
                .bind(&schema)
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| r.get::<String, _>("t"))
                .collect();
                for table in tables {
                    let row =
                        sqlx::query(&format!("SELECT 1 FROM \"{schema}\".\"{table}\" LIMIT 1"))
                            .fetch_optional(&mut conn)
                            .await?;
                    if row.is_some() {
                        found.push(format!("{schema}.{table} holds rows"));
                        break;
                    }
                }
            }
            conn.close().await?;
        }
    }
    Ok(found)
}

/// Replaces the stores with the staged, checked copies. `staged` maps a part's name to
/// its decrypted file. The services must be stopped (SQLite files are replaced under them).
pub async fn put_back(
    config: &Config,
    kind: StoreKind,
    services: &[String],
    staged: &[(String, PathBuf)],
) -> anyhow::Result<()> {
    match (kind, lanerunner_platform::db::direct_url(config)) {
        (StoreKind::Sqlite, None) => {
            std::fs::create_dir_all(&config.data_dir)?;
            for (part, file) in staged {
                let service = part
                    .strip_prefix("stores/")
                    .and_then(|p| p.strip_suffix(".sqlite"))
                    .with_context(|| format!("unexpected store part {part}"))?;
                let path = sqlite_path(config, service);
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.as_os_str().to_owned();
                    side.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(side));
                }
                // Same directory, so the rename is atomic: the file is old or new, never half.
                let next = config.data_dir.join(format!(".{service}.db.restoring"));
                std::fs::copy(file, &next)?;
                std::fs::rename(&next, &path)?;
            }
            Ok(())
        }
        (StoreKind::Postgres, Some(url)) => {
            let mut conn = pg_connect(url).await?;
            let names: Vec<&str> = services.iter().map(String::as_str).collect();
            for schema in existing_schemas(&mut conn, &names).await? {
                sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                    .execute(&mut conn)
                    .await?;
            }
            conn.close().await?;
            for (_, file) in staged {
                let mut cmd = pg_command("pg_restore", url).await?;
                cmd.args([
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-owner",
                    "--no-privileges",
                ])
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
                let out = cmd.output().await.context("running pg_restore")?;
                anyhow::ensure!(
                    out.status.success(),
                    "pg_restore failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Ok(())
        }
        (kind, _) => anyhow::bail!(
            "a {} backup cannot be put into this deployment's stores",
            kind.as_str()
        ),
    }
}
