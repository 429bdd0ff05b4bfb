//! The command line: `serve`, `migrate`, `config check`, `keys rotate`, `simulate`, `ml`,
//! `version`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use lanerunner_platform::Config;

use crate::{app, registry};

#[derive(Debug, Parser)]
#[command(
    name = "lanerunner",
    version,
    about = "LaneRunner: the freight platform. One binary that runs any set of its services."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API of the selected services (all of them by default).
    Serve {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        services: ServicesArg,
        /// Address to listen on (overrides `listen`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Directory for embedded state (overrides `data_dir`).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Start with a live demo market: demo brokers and a carrier post loads and trucks
        /// from the market simulator through the API and book most loads, a simulated day
        /// every 30 seconds.
        #[arg(long)]
        demo: bool,
    },
    /// Apply every pending migration of the selected services' stores, then exit.
    Migrate {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        services: ServicesArg,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect and replay dead-lettered events (needs a broker: `bus.backend = "rabbitmq"`).
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// The payment service's operations: the daily reconciliation against the processor.
    Payments {
        #[command(subcommand)]
        command: PaymentsCommand,
    },
    /// Operators' work on an organization: the gateway plan its limits come from.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// LaneRunner's operators, each with an authenticator of their own: what takes two
    /// operators (a plan change) asks each for a code, so two names are two people.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// The tamper-evident audit trail: verify its hash chains, anchor their heads.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage the keys: token signing keys, the storage keyring, and the data keys that
    /// seal sensitive fields (`keys report` shows what each version still protects).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Encrypted, checksummed backups of every store, the stored files and the keys:
    /// create, list, verify, restore, prune (docs/operations.md, "Backups").
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Measure throughput and latency (results print as Markdown).
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        command: crate::bench_cli::BenchCommand,
    },
    /// Measure throughput and latency (in builds with `--features bench`).
    #[cfg(not(feature = "bench"))]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Generate a simulated truckload market (deterministic by seed) as CSV and Parquet
    /// files: bookings with the rate each load booked at, and load and truck postings.
    Simulate(crate::simulate::SimulateArgs),
    /// Train, publish, activate and roll back the rate model.
    Ml {
        #[command(subcommand)]
        command: crate::ml::MlCommand,
    },
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration, then print it with secrets masked.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Print the dead letters of a consumer group, oldest first (one JSON object a line).
    List {
        #[command(flatten)]
        config: ConfigArgs,
        /// The consumer group, e.g. `mailer`.
        #[arg(long)]
        group: String,
    },
    /// Put a group's dead letters back on its queue, with a fresh attempt count.
    Replay {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        group: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Reconcile one UTC day against the processor's balance history now (replacing the
    /// day's kept report), enter the processor's fees, and print the report as JSON.
    Reconcile {
        #[command(flatten)]
        config: ConfigArgs,
        /// The day, `YYYY-MM-DD` (default: yesterday).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Print the kept reconciliation reports, newest day first (one JSON object a line).
    Reconciliations {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, default_value_t = 30)]
        limit: i64,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// The gateway plan an organization's limits come from (`http.plans`): changed under
    /// dual control, one operator asking and another deciding.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Enrol an operator: prints their authenticator's secret and otpauth URI, once (add it
    /// to their app). The first operator enrols alone; later ones are vouched for by an
    /// enrolled operator's code. Audited.
    Enroll {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The enrolled operator vouching (not needed for the first).
        #[arg(long, value_name = "NAME", requires = "code")]
        by: Option<String>,
        #[arg(long, value_name = "DIGITS", requires = "by")]
        code: Option<String>,
    },
    /// Every operator, serving or retired, one JSON object a line (never a secret).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Retire an operator: their codes are refused from then on (the name stays taken).
    /// Vouched for by an enrolled operator's code (theirs included). Audited.
    Retire {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long, value_name = "NAME")]
        by: String,
        #[arg(long, value_name = "DIGITS")]
        code: String,
    },
}

/// Where the command finds the deployment.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Ask for an organization to be put on a plan of `http.plans` (its per-minute limit
    /// and daily quota), or back on the default limits with `--default`. Nothing changes
    /// until another operator approves. Audited; prints the request.
    Request {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "UUID")]
        org: uuid::Uuid,
        /// The plan's name, as configured.
        #[arg(long, conflicts_with = "default", required_unless_present = "default")]
        plan: Option<String>,
        /// Back to the default limits (`http.rate_limit_per_minute`, no quota).
        #[arg(long)]
        default: bool,
        /// The operator asking.
        #[arg(long, value_name = "NAME")]
        by: String,
        /// The current code of the operator's authenticator (`lanerunner operator enroll`).
        #[arg(long, value_name = "DIGITS")]
        code: String,
        /// Why (kept with the request and in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Approve a request: the organization is on the plan at once. The operator who asked
    /// cannot. Audited with both names; prints the request and the organization's plan.
    Approve {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "UUID")]
        request: uuid::Uuid,
        /// The operator approving.
        #[arg(long, value_name = "NAME")]
        by: String,
        /// The current code of the operator's authenticator.
        #[arg(long, value_name = "DIGITS")]
        code: String,
    },
    /// Reject a request (the operator who asked may withdraw it so). Audited.
    Reject {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "UUID")]
        request: uuid::Uuid,
        #[arg(long, value_name = "NAME")]
        by: String,
        /// The current code of the operator's authenticator.
        #[arg(long, value_name = "DIGITS")]
        code: String,
        #[arg(long)]
        reason: String,
    },
    /// The requests waiting for a decision (with `--all`, decided ones too), newest
    /// first, one JSON object a line.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "UUID")]
        org: Option<uuid::Uuid>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every audit chain (or one organization's) and check each record's hash, its
    /// link to the one before, that none is missing or cut off the end, and every anchor.
    /// Prints a JSON report per chain; exits non-zero when any chain is broken.
    Verify {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Only this organization's chain.
        #[arg(long, value_name = "UUID")]
        org: Option<uuid::Uuid>,
    },
    /// Write down the head of every chain that moved since its last anchor (the service
    /// does this every `auth.audit_anchor_every_mins`); prints each anchor as JSON.
    Anchor {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct BackupTarget {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up every store (one consistent copy each), the stored files and the keyring,
    /// encrypted to `backup.recipients` (the keyring to `backup.keys_recipients`), then
    /// delete what `backup.keep` no longer keeps. Prints the manifest.
    Create {
        #[command(flatten)]
        target: BackupTarget,
        /// Leave the keyring out (it is backed up another way).
        #[arg(long)]
        without_keys: bool,
    },
    /// The backups at the backup location, oldest first (one JSON object a line).
    List {
        #[command(flatten)]
        target: BackupTarget,
    },
    /// Check a backup: every part present with its checksum; with identities, decrypted and
    /// checked as a restore would.
    Verify {
        #[command(flatten)]
        target: BackupTarget,
        /// A backup id, or `latest`.
        #[arg(default_value = "latest")]
        backup: String,
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        keys_identity: Option<PathBuf>,
    },
    /// Restore a backup into this deployment's stores (stop LaneRunner first). Nothing is
    /// touched until every part has been fetched, decrypted and checked; a target that holds
    /// data is replaced only with --force.
    Restore {
        #[command(flatten)]
        target: BackupTarget,
        /// A backup id, or `latest`.
        #[arg(default_value = "latest")]
        backup: String,
        /// The identity file of `backup.recipients`.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The identity file of `backup.keys_recipients`, to restore the keyring.
        #[arg(long, value_name = "FILE")]
        keys_identity: Option<PathBuf>,
        /// Replace stores, files and a keyring that already hold data.
        #[arg(long)]
        force: bool,
        /// Accept a backup of the deployment of this name (`backup.deployment`).
        #[arg(long, value_name = "NAME")]
        from_deployment: Option<String>,
        /// Restore even though the keyring is neither in the target nor being restored.
        #[arg(long)]
        without_keys: bool,
    },
    /// Delete the backups `backup.keep` no longer keeps (`create` does this after each).
    Prune {
        #[command(flatten)]
        target: BackupTarget,
    },
    /// Make an age identity for `backup.recipients` or `backup.keys_recipients`: writes
    /// the identity file (keep it offline) and prints its public key.
    Keygen {
        /// Where to write the identity (refused if it exists).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key active and print its key id.
    Rotate {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Add a storage key-encryption key version, make it current, and print it. Running
    /// instances pick it up and rewrap every object's data key in the background.
    /// With `keys.kek = "local"` it also wraps the field data keys (rewrapped by the sweep).
    RotateStorage {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Every data key that seals fields, per store: its state, its key-encryption key, and
    /// how many values of which fields it still protects; then the values not yet sealed.
    Report {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// JSON instead of one tab-separated line per key.
        #[arg(long)]
        json: bool,
    },
    /// Make a new field data key active in every store (new writes use it at once); the
    /// instances' sweep then re-seals the old key's values and retires it when unused.
    RotateFields {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Run the field sweep once now, in every store, and print what it did.
    Sweep {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A TOML configuration file.
    #[arg(long = "config", value_name = "FILE", env = CONFIG_ENV)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServicesArg {
    /// Comma-separated services to run; all of them when omitted.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub services: Vec<String>,
}

/// Read by clap, not by [`Config::load`]; removed from the environment once parsed.
pub const CONFIG_ENV: &str = "LANERUNNER_CONFIG";

/// Loads the configuration: defaults < file < environment; the caller applies flags.
pub fn load_config(file: Option<&Path>) -> anyhow::Result<Config> {
    Ok(Config::load(file)?)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("lanerunner {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Simulate(args) => crate::simulate::run(args),
        Command::Ml { command } => crate::ml::run(command).await,
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            let config = load_config(config.file.as_deref())?;
            print!("{}", config.to_masked_toml());
            if let Some(tls) = check_tls_certificate(&config)? {
                println!(
                    "# TLS certificate: {}, valid until {}",
                    tls.subject, tls.not_after
                );
            }
            Ok(())
        }
        Command::Serve {
            config,
            services,
            listen,
            data_dir,
            demo,
        } => {
            let specs = registry::select(&services.services)?;
            let mut config = load_config(config.file.as_deref())?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let exporter =
                lanerunner_platform::telemetry::init(&config.log, &config.tracing, &names)?;
            let listen = config.listen;
            if demo && config.http.tls.enabled() {
                anyhow::bail!("--demo drives the API over plain HTTP on the listen address; run it without http.tls");
            }
            // Before migrations and connections: a certificate that will be refused stops the
            // start at once, with the reason.
            check_tls_certificate(&config)?;
            let app = app::build(config, &names).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let address = listener.local_addr()?;
            tracing::info!(address = %address, services = %names.join(","), "listening");
            if demo {
                if let Some(ml) = app.typed::<lanerunner_ml::MlService>() {
                    tokio::spawn(async move {
                        if let Err(e) = crate::demo::seed_rate_model(&ml, 7).await {
                            tracing::error!(error = %format!("{e:#}"), "the demo rate model could not be trained");
                        }
                    });
                }
                tokio::spawn(crate::demo::run(
                    format!("http://{address}"),
                    7,
                    200,
                    std::time::Duration::from_secs(30),
                ));
            }
            let served = app::serve(app, listener).await;
            if let Some(exporter) = exporter {
                // Off the runtime: the flush blocks until the last batch is sent.
                tokio::task::spawn_blocking(move || exporter.shutdown()).await?;
            }
            served
        }
        Command::Migrate {
            config,
            services,
            data_dir,
        } => {
            let specs = registry::select(&services.services)?;
            let mut config = load_config(config.file.as_deref())?;
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            // Migrations export no spans: they run once, before anything is traced.
            let tracing_off = lanerunner_platform::config::TracingConfig::default();
            lanerunner_platform::telemetry::init(&config.log, &tracing_off, &[])?;
            app::migrate(&config, &specs).await
        }
        #[cfg(feature = "bench")]
        Command::Bench { command } => crate::bench_cli::run(command).await,
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => anyhow::bail!(
            "this build has no benchmarks: build with `--features bench` (e.g. `cargo run --release -p lanerunner --features bench -- bench identity`)"
        ),
        Command::Dlq { command } => {
            let (config, group) = match &command {
                DlqCommand::List { config, group } | DlqCommand::Replay { config, group } => {
                    (config, group)
                }
            };
            let config = load_config(config.file.as_deref())?;
            anyhow::ensure!(
                config.bus.backend != lanerunner_platform::config::BusBackend::InProcess,
                "the in-process bus keeps its dead letters inside the serving process; configure bus.backend = \"rabbitmq\" to inspect them from here"
            );
            let bus = lanerunner_platform::bus::from_config(&config.bus).await?;
            match command {
                DlqCommand::List { .. } => {
                    for letter in bus.dead_letters(group).await? {
                        let line = serde_json::json!({
                            "attempts": letter.attempts,
                            "reason": letter.reason,
                            "event": letter.event,
                        });
                        println!("{line}");
                    }
                }
                DlqCommand::Replay { .. } => {
                    let n = bus.replay_dead_letters(group).await?;
                    println!("replayed {n} dead letters of {group}");
                }
            }
            Ok(())
        }
        Command::Payments { command } => {
            let (config, data_dir) = match &command {
                PaymentsCommand::Reconcile {
                    config, data_dir, ..
                }
                | PaymentsCommand::Reconciliations {
                    config, data_dir, ..
                } => (config, data_dir),
            };
            let mut config = load_config(config.file.as_deref())?;
            if let Some(dir) = data_dir {
                config.data_dir = dir.clone();
            }
            // No log subscriber: stdout carries only the reports, for scripts.
            let app = app::build(config, &[lanerunner_payments::SERVICE]).await?;
            let invoices = app
                .typed::<lanerunner_payments::PaymentsService>()
                .context("the payment service is not running")?
                .invoices()
                .clone();
            let result = match command {
                PaymentsCommand::Reconcile { day, .. } => {
                    let day = day.unwrap_or_else(|| {
                        (chrono::Utc::now() - chrono::Duration::days(1)).date_naive()
                    });
                    invoices
                        .reconcile(day)
                        .await
                        .map(|r| vec![serde_json::json!({ "day": day, "report": r })])
                }
                PaymentsCommand::Reconciliations { limit, .. } => {
                    invoices.reconciliations(limit.clamp(1, 1000)).await.map(|all| {
                        all.into_iter()
                            .map(|(day, r)| serde_json::json!({ "day": day, "report": r }))
                            .collect()
                    })
                }
            };
            app.shutdown().await;
            for line in result.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Org {
            command: OrgCommand::Plan { command },
        } => plan_command(command).await,
        Command::Operator { command } => operator_command(command).await,
        Command::Audit { command } => {
            let (config, data_dir) = match &command {
                AuditCommand::Verify {
                    config, data_dir, ..
                }
                | AuditCommand::Anchor { config, data_dir } => (config, data_dir),
            };
            let mut config = load_config(config.file.as_deref())?;
            if let Some(dir) = data_dir {
                config.data_dir = dir.clone();
            }
            // The command does the anchoring itself: no periodic job beside it.
            config.auth.audit_anchor_every_mins = 0;
            // No log subscriber: stdout carries only the reports, for scripts.
            let app = app::build(config, &[lanerunner_identity::SERVICE]).await?;
            let identity = app
                .identity()
                .context("the identity service is not running")?;
            let result = match command {
                AuditCommand::Verify { org, .. } => identity
                    .verify_audit(org)
                    .await
                    .map(|reports| reports.into_iter().map(|r| serde_json::json!(r)).collect()),
                AuditCommand::Anchor { .. } => identity
                    .anchor_audit()
                    .await
                    .map(|all| all.into_iter().map(|a| serde_json::json!(a)).collect()),
            };
            app.shutdown().await;
            let lines: Vec<serde_json::Value> = result?;
            for line in &lines {
                println!("{line}");
            }
            let broken = lines.iter().filter(|l| l["intact"] == false).count();
            anyhow::ensure!(
                broken == 0,
                "{broken} audit chain(s) broken: see the problems above"
            );
            Ok(())
        }
        Command::Backup { command } => run_backup(command).await,
        Command::Keys {
            command: KeysCommand::Rotate { config, data_dir },
        } => {
            let mut config = load_config(config.file.as_deref())?;
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            // No log subscriber: stdout carries only the key id, for scripts.
            let app = app::build(config, &[lanerunner_identity::SERVICE]).await?;
            let identity = app
                .identity()
                .context("the identity service is not running")?;
            let result = identity.rotate_signing_key().await;
            app.shutdown().await;
            println!("{}", result.context("rotating the signing key")?);
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Report {
                config,
                data_dir,
                json,
            },
        } => {
            let config = with_data_dir(load_config(config.file.as_deref())?, data_dir);
            let reports = crate::keys::report(&config).await?;
            if json {
                let value: serde_json::Map<String, serde_json::Value> = reports
                    .iter()
                    .map(|(s, r)| Ok((s.to_string(), serde_json::to_value(r)?)))
                    .collect::<anyhow::Result<_>>()?;
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", crate::keys::render(&reports));
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::RotateFields { config, data_dir },
        } => {
            let config = with_data_dir(load_config(config.file.as_deref())?, data_dir);
            for (service, version) in crate::keys::rotate(&config).await? {
                println!("{service}\tv{version}");
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Sweep { config, data_dir },
        } => {
            let config = with_data_dir(load_config(config.file.as_deref())?, data_dir);
            for (service, r) in crate::keys::sweep(&config).await? {
                println!(
                    "{service}\tresealed {}\tsealed {}\tunopenable {}\trewrapped {}\tretired {:?}",
                    r.resealed, r.sealed, r.unopenable, r.rewrapped, r.retired
                );
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::RotateStorage { config, data_dir },
        } => {
            let mut config = load_config(config.file.as_deref())?;
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            let path = crate::storage_keys::path_of(&config);
            crate::storage_keys::KeyringFile::open_or_create(path.clone())?;
            let version = crate::storage_keys::rotate(&path).context("rotating the storage key")?;
            println!("{version}");
            Ok(())
        }
    }
}

fn with_data_dir(mut config: Config, data_dir: Option<PathBuf>) -> Config {
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    config
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap checks a command line's definition only when it parses one: a clash between two
    /// subcommand arguments would otherwise surface as a panic in an operator's hands.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}

/// The configured TLS certificate, read and checked (key matches, within its validity).
fn check_tls_certificate(
    config: &lanerunner_platform::config::Config,
) -> anyhow::Result<Option<lanerunner_platform::http::tls::LoadedCertificate>> {
    let tls = &config.http.tls;
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Ok(None);
    };
    let files = lanerunner_platform::http::tls::CertificateFiles {
        cert: cert.clone(),
        key: key.clone(),
    };
    Ok(Some(files.load(chrono::Utc::now()).context(
        "the TLS certificate (http.tls) cannot be used",
    )?))
}

async fn run_backup(command: BackupCommand) -> anyhow::Result<()> {
    use crate::backup;
    let load = |t: &BackupTarget| -> anyhow::Result<Config> {
        Ok(with_data_dir(
            load_config(t.config.file.as_deref())?,
            t.data_dir.clone(),
        ))
    };
    match command {
        BackupCommand::Create {
            target,
            without_keys,
        } => {
            let manifest =
                backup::create(&load(&target)?, &backup::CreateOptions { without_keys }).await?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
        }
        BackupCommand::List { target } => {
            for listed in backup::list(&load(&target)?).await? {
                let line = match &listed.manifest {
                    Some(m) => serde_json::json!({
                        "id": listed.id, "complete": true, "deployment": m.deployment,
                        "created_at": m.created_at, "store": m.store, "parts": m.parts.len(),
                        "bytes": m.bytes(), "lanerunner_version": m.lanerunner_version,
                    }),
                    None => serde_json::json!({ "id": listed.id, "complete": false }),
                };
                println!("{line}");
            }
        }
        BackupCommand::Verify {
            target,
            backup: which,
            identity,
            keys_identity,
        } => {
            let report = backup::verify(
                &load(&target)?,
                &which,
                &backup::OpenOptions {
                    identity,
                    keys_identity,
                },
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        BackupCommand::Restore {
            target,
            backup: which,
            identity,
            keys_identity,
            force,
            from_deployment,
            without_keys,
        } => {
            let report = backup::restore(
                &load(&target)?,
                &which,
                &backup::RestoreOptions {
                    open: backup::OpenOptions {
                        identity: Some(identity),
                        keys_identity,
                    },
                    force,
                    from_deployment,
                    without_keys,
                },
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        BackupCommand::Prune { target } => {
            for id in backup::prune(&load(&target)?).await? {
                println!("{id}");
            }
        }
        BackupCommand::Keygen { output } => {
            let (text, public) = backup::new_identity();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            use std::io::Write as _;
            options
                .open(&output)
                .with_context(|| format!("creating {}", output.display()))?
                .write_all(text.as_bytes())?;
            println!("{public}");
        }
    }
    Ok(())
}

/// The configuration of the deployment `store` names.
fn store_config(store: &StoreArgs) -> anyhow::Result<Config> {
    let config = load_config(store.config.file.as_deref())?;
    Ok(with_data_dir(config, store.data_dir.clone()))
}

/// The identity service alone on the deployment's store, for an operator's command (no
/// anchor of the audit chains: `serve` does that).
async fn identity_alone(
    mut config: Config,
) -> anyhow::Result<(
    app::App,
    std::sync::Arc<lanerunner_identity::IdentityService>,
)> {
    config.auth.audit_anchor_every_mins = 0;
    let app = app::build(config, &[lanerunner_identity::SERVICE]).await?;
    let identity = app
        .identity()
        .context("the identity service is not running")?;
    Ok((app, identity))
}

/// `lanerunner operator …`: LaneRunner's operators and their authenticators.
async fn operator_command(command: OperatorCommand) -> anyhow::Result<()> {
    let store = match &command {
        OperatorCommand::Enroll { store, .. }
        | OperatorCommand::List { store }
        | OperatorCommand::Retire { store, .. } => store,
    };
    let (app, identity) = identity_alone(store_config(store)?).await?;
    let result: anyhow::Result<Vec<serde_json::Value>> = async {
        Ok(match command {
            OperatorCommand::Enroll { name, by, code, .. } => {
                let vouched = by.as_deref().zip(code.as_deref());
                let enrolled = identity.enroll_operator(&name, vouched).await?;
                vec![serde_json::json!({
                    "operator": name.trim(),
                    "secret": enrolled.secret,
                    "otpauth_uri": enrolled.otpauth_uri,
                })]
            }
            OperatorCommand::List { .. } => identity
                .operators()
                .await?
                .into_iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?,
            OperatorCommand::Retire { name, by, code, .. } => {
                identity.retire_operator(&name, &by, &code).await?;
                vec![serde_json::json!({ "operator": name.trim(), "retired": true })]
            }
        })
    }
    .await;
    app.shutdown().await;
    for line in result? {
        println!("{line}");
    }
    Ok(())
}

/// `lanerunner org plan …`: dual control over an organization's gateway plan.
async fn plan_command(command: PlanCommand) -> anyhow::Result<()> {
    let store = match &command {
        PlanCommand::Request { store, .. }
        | PlanCommand::Approve { store, .. }
        | PlanCommand::Reject { store, .. }
        | PlanCommand::List { store, .. } => store,
    };
    let config = store_config(store)?;
    if let PlanCommand::Request {
        plan: Some(name), ..
    } = &command
    {
        anyhow::ensure!(
            config.http.plans.contains_key(name),
            "no plan {name:?} in http.plans (configured: {})",
            config
                .http
                .plans
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let plans = config.http.plans.clone();
    let (app, identity) = identity_alone(config).await?;
    let result: anyhow::Result<Vec<serde_json::Value>> = async {
        Ok(match command {
            PlanCommand::Request {
                org,
                plan,
                by,
                code,
                reason,
                ..
            } => {
                let org = lanerunner_core::OrgId(org);
                let row = identity
                    .request_plan_change(org, plan.as_deref(), &by, &code, &reason)
                    .await?;
                vec![serde_json::to_value(row)?]
            }
            PlanCommand::Approve {
                request, by, code, ..
            } => {
                let id = lanerunner_core::PlanChangeId(request);
                let (row, org) = identity
                    .approve_plan_change(id, &by, &code, &|name| plans.contains_key(name))
                    .await?;
                vec![serde_json::json!({ "request": row, "org": org.id, "plan": org.plan })]
            }
            PlanCommand::Reject {
                request,
                by,
                code,
                reason,
                ..
            } => {
                let id = lanerunner_core::PlanChangeId(request);
                let row = identity.reject_plan_change(id, &by, &code, &reason).await?;
                vec![serde_json::to_value(row)?]
            }
            PlanCommand::List { org, all, .. } => identity
                .plan_changes(org.map(lanerunner_core::OrgId), !all)
                .await?
                .into_iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?,
        })
    }
    .await;
    app.shutdown().await;
    for line in result? {
        println!("{line}");
    }
    Ok(())
}
