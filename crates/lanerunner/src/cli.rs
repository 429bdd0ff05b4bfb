//! The command line: `serve`, `migrate`, `config check`, `keys rotate`, `version`.

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
    /// Manage the token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Measure throughput and latency (results print as Markdown).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// 1 KiB events through the outbox and each bus backend, beside plain lapin.
    Bus {
        #[arg(long, default_value_t = 5000)]
        events: usize,
        /// Outbox store: `sqlite` or `postgres` (`LANERUNNER_TEST_POSTGRES_URL`, or the local server).
        #[arg(long, default_value = "sqlite")]
        store: String,
        /// Events per second sent in total by the producers (default: as fast as they can).
        /// Unpaced runs measure throughput; a rate below every path's ceiling measures
        /// latency without queueing.
        #[arg(long)]
        rate: Option<u32>,
        /// Concurrent producers writing to the outbox, as concurrent requests would.
        #[arg(long, default_value_t = 8)]
        producers: usize,
    },
    /// Login (Argon2id), access-token verification and `GET /v1/me`, per backend.
    Identity {
        /// `sqlite`, `postgres` or `both`.
        #[arg(long, default_value = "both")]
        backend: String,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// The load board: mixed searches over `GET /v1/loads/search` and through
    /// `Loads::search`, on a store seeded with generated posted loads.
    Search {
        /// Posted public loads to seed.
        #[arg(long, default_value_t = 1_000_000)]
        loads: usize,
        /// Searches to measure (after up to 1,000 warm-up searches).
        #[arg(long, default_value_t = 10_000)]
        queries: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// `sqlite`, or `postgres`: a scratch database on `LANERUNNER_TEST_POSTGRES_URL` (or
        /// the local server), dropped afterwards.
        #[arg(long, default_value = "sqlite")]
        store: String,
        /// Seed of the generated postings and searches.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
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
pub enum KeysCommand {
    /// Make a new signing key active and print its key id.
    Rotate {
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
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            let config = load_config(config.file.as_deref())?;
            print!("{}", config.to_masked_toml());
            Ok(())
        }
        Command::Serve {
            config,
            services,
            listen,
            data_dir,
        } => {
            let specs = registry::select(&services.services)?;
            let mut config = load_config(config.file.as_deref())?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            lanerunner_platform::telemetry::init(&config.log);
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let listen = config.listen;
            let app = app::build(config, &names).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let address = listener.local_addr()?;
            tracing::info!(address = %address, services = %names.join(","), "listening");
            app::serve(app, listener).await
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
            lanerunner_platform::telemetry::init(&config.log);
            app::migrate(&config, &specs).await
        }
        Command::Bench {
            command:
                BenchCommand::Bus {
                    events,
                    store,
                    rate,
                    producers,
                },
        } => {
            let postgres_url = match store.as_str() {
                "sqlite" => None,
                "postgres" => Some(
                    std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                        .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
                ),
                other => anyhow::bail!("unknown store {other:?}; use sqlite or postgres"),
            };
            let amqp_url = std::env::var("LANERUNNER_TEST_AMQP_URL")
                .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_AMQP_URL.into());
            let report = crate::bench_bus::bus(crate::bench_bus::BusBenchOptions {
                load: crate::bench_bus::Load {
                    events: events.max(1),
                    producers: producers.max(1),
                    rate: rate.filter(|r| *r > 0),
                },
                postgres_url,
                amqp_url,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Identity {
                    backend,
                    seconds,
                    concurrency,
                },
        } => {
            use crate::testing::Backend;
            let backends = match backend.as_str() {
                "sqlite" => vec![Backend::Sqlite],
                "postgres" => vec![Backend::Postgres],
                "both" => vec![Backend::Sqlite, Backend::Postgres],
                other => anyhow::bail!("unknown backend {other:?}; use sqlite, postgres or both"),
            };
            let report = crate::bench::identity(crate::bench::IdentityBenchOptions {
                backends,
                duration: std::time::Duration::from_secs(seconds),
                concurrency: concurrency.max(1),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Search {
                    loads,
                    queries,
                    concurrency,
                    store,
                    seed,
                },
        } => {
            use crate::bench_search::{SearchBenchOptions, SearchStore};
            let store = match store.as_str() {
                "sqlite" => SearchStore::Sqlite,
                "postgres" => SearchStore::Postgres,
                other => anyhow::bail!("unknown store {other:?}; use sqlite or postgres"),
            };
            let report = crate::bench_search::search(SearchBenchOptions {
                loads,
                queries: queries.max(1),
                concurrency: concurrency.max(1),
                store,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
                seed,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
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
    }
}
