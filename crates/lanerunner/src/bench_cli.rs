//! `lanerunner bench …`: the command line of the benchmarks (built with `--features bench`).

use clap::Subcommand;

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
        /// Concurrent HTTP clients to measure at, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
        concurrency: Vec<usize>,
        /// `sqlite`, or `postgres`: a scratch database on `LANERUNNER_TEST_POSTGRES_URL` (or
        /// the local server), dropped afterwards.
        #[arg(long, default_value = "sqlite")]
        store: String,
        /// Seed of the generated postings and searches.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// A RabbitMQ broker (`amqp://guest:guest@127.0.0.1:5672/%2f`): a second instance
        /// posts loads and the lag until the first instance's board shows them is measured
        /// (with `--store postgres`).
        #[arg(long)]
        bus_url: Option<String>,
        /// Loads posted for the lag measurement.
        #[arg(long, default_value_t = 500)]
        lag_posts: usize,
    },
    /// Capacity of one instance on the main routes: requests a second at rising
    /// concurrency, and the highest rate whose p99 stays under the target.
    Capacity {
        /// `sqlite`, `postgres` (a scratch database), `pgbouncer` (the same through
        /// scripts/pgbouncer.sh's PgBouncer, `database.pooling = "transaction"`), or
        /// `transaction` (that pooling's way of running statements, straight to PostgreSQL).
        #[arg(long, default_value = "sqlite")]
        store: String,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent clients to measure at, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
        concurrency: Vec<usize>,
        /// The p99 target, in milliseconds.
        #[arg(long, default_value_t = 100.0)]
        p99_ms: f64,
        /// Only these deployment groups' routes (marketplace, edge, tracking, money, deals,
        /// comms), comma-separated; all by default.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// The disaster-recovery drill: back up while a broker posts loads, destroy the stores,
    /// restore, start again; the recovery time and what came back.
    Dr {
        /// Posted loads to seed first.
        #[arg(long, default_value_t = 1_000_000)]
        loads: usize,
        /// `sqlite` or `postgres` (a scratch database, dropped afterwards).
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// The recovery drill with WAL archiving: a PostgreSQL cluster that archives its WAL
    /// (scripts/pg-pitr.sh) seeded and backed up, a broker posting loads, the cluster
    /// destroyed, recovered to the end of its archive; the recovery time and point.
    Pitr {
        /// Posted loads to seed first.
        #[arg(long, default_value_t = 1_000_000)]
        loads: usize,
        /// The cluster's archive_timeout (the shipped cluster's is 60 s).
        #[arg(long, default_value_t = 60)]
        archive_timeout: u64,
        /// Seconds of writes between the base backup and the disaster.
        #[arg(long, default_value_t = 90)]
        write_secs: u64,
    },
    /// The audit trail: an audited action's record written with its hash chain against the
    /// same write without it, then every chain verified.
    Audit {
        #[arg(long, default_value_t = 20_000)]
        records: usize,
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Organizations (chains) the records are spread over.
        #[arg(long, default_value_t = 50)]
        orgs: usize,
        /// `sqlite`, `postgres` (a scratch database on `LANERUNNER_TEST_POSTGRES_URL`, or the
        /// local server, dropped afterwards) or `both`.
        #[arg(long, default_value = "both")]
        store: String,
        /// The chainer's gatherings to compare, in milliseconds, comma-separated (by
        /// default the service's own for each store).
        #[arg(long, value_delimiter = ',')]
        gather_ms: Vec<u64>,
    },
    /// TLS on the API: the same authenticated reads over TLS (rustls) and plain HTTP from
    /// one application, keep-alive clients in alternating rounds, then a new connection per
    /// request (the handshake's cost).
    Tls {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 2_000)]
        handshakes: usize,
    },
    /// Tracing: `serve` with its spans exported over OTLP (at each sampling ratio) against
    /// the same `serve` without export, on a read and a write route.
    Tracing {
        /// Seconds per route and mode.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// Sampling ratios to measure with export on, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,0.1")]
        sample: Vec<f64>,
    },
    /// Field encryption: a record's sensitive fields sealed and opened on write and read
    /// against the same paths in the clear, then a full data key rotation of `records`
    /// records online under load.
    Sealing {
        #[arg(long, default_value_t = 20_000)]
        ops: usize,
        #[arg(long, default_value_t = 8)]
        workers: usize,
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        /// `sqlite`, `postgres` or `both`.
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// The ledger: balanced journal entries a second with concurrent writers, and its
    /// invariants checked after the run.
    Ledger {
        #[arg(long, default_value_t = 50_000)]
        entries: usize,
        #[arg(long, default_value_t = 16)]
        writers: usize,
        /// Organizations the entries are spread over (fewer: more contention on balances).
        #[arg(long, default_value_t = 50)]
        orgs: usize,
        /// `sqlite`, `postgres` (a scratch database on `LANERUNNER_TEST_POSTGRES_URL`, or the
        /// local server, dropped afterwards) or `both`.
        #[arg(long, default_value = "both")]
        store: String,
    },
    /// The daily reconciliation: a day of processor movements read from the payment
    /// service's store and matched against the processor's list, differences planted.
    Reconcile {
        #[arg(long, default_value_t = 100_000)]
        payments: usize,
        /// `sqlite`, `postgres` (a scratch database) or `both`.
        #[arg(long, default_value = "both")]
        store: String,
    },
    /// Tracking: simulated trucks' positions through validation, geofences and the ETA in
    /// process, and the same geofence questions asked of PostGIS.
    Tracking {
        #[arg(long, default_value_t = 10_000)]
        trucks: usize,
        /// Positions each truck reports (every 30 simulated seconds).
        #[arg(long, default_value_t = 100)]
        reports: usize,
        /// Skip PostGIS (no PostgreSQL with it installed).
        #[arg(long)]
        no_postgis: bool,
        /// Also time positions end to end through MQTT (`bash scripts/mosquitto.sh`): this
        /// many loads' arrivals, each to the status change it causes.
        #[arg(long)]
        mqtt_loads: Option<usize>,
    },
    /// Notifications: late-arrival risks fanned out through a member's preferences to the
    /// app, email over SMTP (aiosmtpd on loopback), a text (the Twilio stand-in) and a
    /// webhook; every message counted at its receiver. The peer sends the same messages
    /// inline with nothing stored.
    Notifications {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Brokerages (one member each) the events are spread over.
        #[arg(long, default_value_t = 100)]
        recipients: usize,
        /// `sqlite` or `postgres` (a scratch database on the local server).
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// The voice agent: whole calls as Twilio makes them (signed webhooks, gathered speech
    /// and keys), the turn latency per kind of turn; the peer is a fixed TwiML endpoint
    /// behind the same signature check.
    Voice {
        #[arg(long, default_value_t = 2_000)]
        calls: usize,
        /// Calls at once (each by its own carrier).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// `sqlite` or `postgres` (a scratch database on the local server).
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// Outgoing webhooks: events to a signed-delivery receiver on loopback, healthy and
    /// then failing a share of requests and down for a while; every event must arrive,
    /// once, in order per load. The peer is a sender without retries.
    Webhooks {
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        /// Share of requests the receiver fails in the hostile run.
        #[arg(long, default_value_t = 0.3)]
        fail_ratio: f64,
        /// Seconds the receiver is down in the hostile run.
        #[arg(long, default_value_t = 60)]
        down_secs: u64,
        /// `sqlite` or `postgres` (a scratch database on the local server).
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// Encryption at rest: files through the raw blob seam and through the storage
    /// service's sealing (data key, AES-256-GCM, wrapped key, checksum), local and on S3.
    Storage {
        #[arg(long, default_value_t = 64)]
        files: usize,
        #[arg(long, default_value_t = 4)]
        size_mib: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// `local`, `s3` (moto on 127.0.0.1:5000, `scripts/s3.sh`) or `both`.
        #[arg(long, default_value = "both")]
        backend: String,
        #[arg(long, default_value = "http://127.0.0.1:5000")]
        s3_endpoint: String,
    },
    /// Seeds a data directory's embedded store with generated posted public loads, for
    /// `lanerunner serve --data-dir DIR` (the console benchmark, `bench/console/run.sh`).
    SeedBoard {
        /// Posted public loads to seed.
        #[arg(long, default_value_t = 1_000_000)]
        loads: usize,
        /// The data directory to seed (created; must not hold a loads store yet).
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// Runs one benchmark and prints its Markdown report.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Bus {
            events,
            store,
            rate,
            producers,
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
        BenchCommand::Identity {
            backend,
            seconds,
            concurrency,
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
        BenchCommand::Search {
            loads,
            queries,
            concurrency,
            store,
            seed,
            bus_url,
            lag_posts,
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
                concurrency: concurrency.into_iter().map(|c| c.max(1)).collect(),
                store,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
                seed,
                bus_url,
                lag_posts: lag_posts.max(1),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Capacity {
            store,
            seconds,
            concurrency,
            p99_ms,
            groups,
        } => {
            let backend = match store.as_str() {
                "sqlite" => crate::testing::Backend::Sqlite,
                "postgres" | "pgbouncer" | "transaction" => crate::testing::Backend::Postgres,
                other => anyhow::bail!(
                    "unknown store {other:?}; use sqlite, postgres, pgbouncer or transaction"
                ),
            };
            let report = crate::bench_capacity::capacity(crate::bench_capacity::CapacityOptions {
                backend,
                transaction_pooling: match store.as_str() {
                    "pgbouncer" => Some(true),
                    "transaction" => Some(false),
                    _ => None,
                },
                seconds: seconds.max(1),
                concurrency: concurrency.into_iter().filter(|c| *c > 0).collect(),
                p99_target_ms: p99_ms,
                groups,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Pitr {
            loads,
            archive_timeout,
            write_secs,
        } => {
            let report = crate::bench_pitr::drill(crate::bench_pitr::PitrOptions {
                loads,
                archive_timeout_secs: archive_timeout.max(1),
                write_secs: write_secs.max(1),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Dr { loads, store } => {
            let postgres = match store.as_str() {
                "sqlite" => false,
                "postgres" => true,
                other => anyhow::bail!("unknown store {other:?}; use sqlite or postgres"),
            };
            let report = crate::bench_dr::drill(crate::bench_dr::DrOptions {
                loads,
                postgres,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Ledger {
            entries,
            writers,
            orgs,
            store,
        } => {
            let report = crate::bench_ledger::bench(crate::bench_ledger::LedgerBench {
                entries,
                writers,
                orgs,
                store,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Audit {
            records,
            writers,
            orgs,
            store,
            gather_ms,
        } => {
            let report = crate::bench_audit::bench(crate::bench_audit::AuditBench {
                records,
                writers,
                orgs,
                store,
                gathers_ms: gather_ms,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Tls {
            requests,
            concurrency,
            handshakes,
        } => {
            let report = crate::bench_tls::bench(crate::bench_tls::TlsBench {
                requests,
                concurrency,
                handshakes,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Tracing {
            seconds,
            concurrency,
            rounds,
            sample,
        } => {
            let report = crate::bench_tracing::bench(crate::bench_tracing::TracingBench {
                seconds: seconds.max(1),
                concurrency: concurrency.max(1),
                rounds: rounds.max(1),
                sample_ratios: sample,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Sealing {
            ops,
            workers,
            records,
            store,
        } => {
            let report = crate::bench_sealing::bench(crate::bench_sealing::SealingBench {
                ops,
                workers,
                records,
                store,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Reconcile { payments, store } => {
            let report = crate::bench_reconcile::bench(crate::bench_reconcile::ReconcileBench {
                payments,
                store,
                postgres_admin_url: std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into()),
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Tracking {
            trucks,
            reports,
            no_postgis,
            mqtt_loads,
        } => {
            anyhow::ensure!(
                trucks > 0 && reports >= 30,
                "at least one truck and 30 reports each"
            );
            let report = crate::bench_tracking::bench(crate::bench_tracking::TrackingBench {
                trucks,
                reports,
                postgres_admin_url: (!no_postgis).then(|| {
                    std::env::var(crate::testing::TEST_POSTGRES_URL_ENV)
                        .unwrap_or_else(|_| crate::testing::DEFAULT_TEST_POSTGRES_URL.into())
                }),
            })
            .await?;
            print!("{report}");
            if let Some(n) = mqtt_loads {
                let password = std::env::var("MQTT_ADMIN_PASSWORD")
                    .unwrap_or_else(|_| "lanerunner-test".into());
                print!(
                    "{}",
                    crate::bench_tracking::bench_mqtt(n.max(1), &password).await?
                );
            }
            Ok(())
        }
        BenchCommand::Notifications {
            events,
            recipients,
            store,
        } => {
            anyhow::ensure!(events > 0, "at least one event");
            anyhow::ensure!(
                (1..=9000).contains(&recipients),
                "--recipients is 1 to 9,000"
            );
            let backend = match store.as_str() {
                "sqlite" => crate::testing::Backend::Sqlite,
                "postgres" => crate::testing::Backend::Postgres,
                other => anyhow::bail!("--store is sqlite or postgres, not {other}"),
            };
            let report =
                crate::bench_notifications::bench(crate::bench_notifications::NotificationsBench {
                    events,
                    recipients,
                    backend,
                })
                .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Voice {
            calls,
            concurrency,
            store,
        } => {
            anyhow::ensure!(calls > 0, "at least one call");
            let backend = match store.as_str() {
                "sqlite" => crate::testing::Backend::Sqlite,
                "postgres" => crate::testing::Backend::Postgres,
                other => anyhow::bail!("--store is sqlite or postgres, not {other}"),
            };
            let report = crate::bench_voice::bench(crate::bench_voice::VoiceBench {
                calls,
                concurrency,
                backend,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Webhooks {
            events,
            fail_ratio,
            down_secs,
            store,
        } => {
            anyhow::ensure!(events > 0, "at least one event");
            anyhow::ensure!(
                (0.0..1.0).contains(&fail_ratio),
                "--fail-ratio is in [0, 1)"
            );
            let backend = match store.as_str() {
                "sqlite" => crate::testing::Backend::Sqlite,
                "postgres" => crate::testing::Backend::Postgres,
                other => anyhow::bail!("--store is sqlite or postgres, not {other}"),
            };
            let report = crate::bench_webhooks::bench(crate::bench_webhooks::WebhooksBench {
                events,
                fail_ratio,
                down: std::time::Duration::from_secs(down_secs),
                backend,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::Storage {
            files,
            size_mib,
            concurrency,
            backend,
            s3_endpoint,
        } => {
            let report = crate::bench_storage::bench(crate::bench_storage::StorageBench {
                files,
                size_bytes: size_mib << 20,
                concurrency,
                backend,
                s3_endpoint,
            })
            .await?;
            print!("{report}");
            Ok(())
        }
        BenchCommand::SeedBoard {
            loads,
            data_dir,
            seed,
        } => {
            anyhow::ensure!(
                !data_dir
                    .join(format!("{}.db", lanerunner_loads::SERVICE))
                    .exists(),
                "{} already holds a loads store",
                data_dir.display()
            );
            std::fs::create_dir_all(&data_dir)?;
            let config = lanerunner_platform::Config {
                data_dir,
                listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ..lanerunner_platform::Config::default()
            };
            let hour = chrono::Utc::now().timestamp() / 3600 * 3600;
            let (seeded, generate, seed_took) =
                crate::bench_search::seed_board(&config, loads, seed, hour).await?;
            println!(
                "seeded {seeded} posted public loads (generated in {:.1} s, stored in {:.1} s)",
                generate.as_secs_f64(),
                seed_took.as_secs_f64()
            );
            Ok(())
        }
    }
}
