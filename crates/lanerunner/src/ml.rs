//! `lanerunner ml …`: train a rate model from the market's history (files written by
//! `lanerunner simulate`, or the ml service's own store), and publish, activate or roll
//! back model versions in a deployment's ml store. Serving instances pick up the active
//! version within `ml.reload_interval_secs`, without a restart.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Duration;
use clap::{Args, Subcommand};
use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_ml::{MlService, Rates};
use lanerunner_ratemodel::{
    encode, examples, lane_average_baseline, vocab_of, FitOptions, Metrics, RateModel,
};

use crate::app;
use crate::cli::{load_config, ConfigArgs};

#[derive(Debug, Subcommand)]
pub enum MlCommand {
    /// Train a rate model on booked history and write its file.
    Train(TrainArgs),
    /// Check a model file and store it in the ml service's store.
    Publish {
        #[command(flatten)]
        config: ConfigArgs,
        /// The model file `ml train` wrote.
        #[arg(long = "file", value_name = "FILE")]
        model: PathBuf,
        /// Make it the active version at once.
        #[arg(long)]
        activate: bool,
    },
    /// Make a published version the active one.
    Activate {
        #[command(flatten)]
        config: ConfigArgs,
        version: String,
    },
    /// Make the previously active version the active one again.
    Rollback {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List published versions and which one is active (JSON).
    Models {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Booked history in files: a directory `lanerunner simulate` wrote (bookings.csv or
    /// bookings.parquet, and postings if there), or the analytics Parquet archive
    /// (`<blob dir>/archive`, holding `bookings/date=…/*.parquet` and `postings/…`).
    #[arg(long, value_name = "DIR", conflicts_with = "from_store")]
    pub data: Option<PathBuf>,
    /// Train on the history the ml service kept (bookings and postings analytics accepted).
    #[arg(long)]
    pub from_store: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where to write the model file.
    #[arg(long, value_name = "FILE", default_value = "rate-model.lrm")]
    pub out: PathBuf,
    /// Hold the last N days out as a test (train on the days before; the file is the
    /// model that was tested). 0 trains on everything.
    #[arg(long, default_value_t = 0)]
    pub test_days: i64,
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
}

fn line(name: &str, m: &Metrics) -> String {
    format!(
        "{name:<13} {:>8} loads  MAPE {:>6.2} %  median APE {:>6.2} %  80 % interval coverage {}",
        m.rows,
        m.mape * 100.0,
        m.median_ape * 100.0,
        if m.coverage.is_nan() {
            "—".to_owned()
        } else {
            format!("{:.1} %", m.coverage * 100.0)
        }
    )
}

async fn with_rates<T>(
    config: &ConfigArgs,
    f: impl AsyncFnOnce(&Rates) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let config = load_config(config.file.as_deref())?;
    let app = app::build(config, &[lanerunner_ml::SERVICE]).await?;
    let service = app
        .typed::<MlService>()
        .context("the ml service is not running")?;
    let result = f(service.rates()).await;
    app.shutdown().await;
    result
}

/// Bookings and postings from the files in `dir`, in whichever layout it holds.
fn read_history(dir: &std::path::Path) -> anyhow::Result<(Vec<BookingRecord>, Vec<PostingRecord>)> {
    use lanerunner_market as m;
    let ctx = |p: &std::path::Path| format!("reading {}", p.display());
    fn many<T>(
        sub: &std::path::Path,
        read: fn(&std::path::Path) -> Result<Vec<T>, lanerunner_market::FileError>,
    ) -> anyhow::Result<Vec<T>> {
        let mut all = Vec::new();
        for f in lanerunner_market::parquet_files_under(sub)? {
            all.extend(read(&f).with_context(|| format!("reading {}", f.display()))?);
        }
        Ok(all)
    }
    let (csv, parquet, archive) = (
        dir.join("bookings.csv"),
        dir.join("bookings.parquet"),
        dir.join("bookings"),
    );
    let bookings = if csv.exists() {
        m::read_bookings_csv(&csv).with_context(|| ctx(&csv))?
    } else if parquet.exists() {
        m::read_bookings_parquet(&parquet).with_context(|| ctx(&parquet))?
    } else if archive.is_dir() {
        many(&archive, m::read_bookings_parquet)?
    } else {
        anyhow::bail!(
            "{} holds no bookings.csv, bookings.parquet or bookings/ archive",
            dir.display()
        );
    };
    let (csv, parquet, archive) = (
        dir.join("postings.csv"),
        dir.join("postings.parquet"),
        dir.join("postings"),
    );
    let postings = if csv.exists() {
        m::read_postings_csv(&csv).with_context(|| ctx(&csv))?
    } else if parquet.exists() {
        m::read_postings_parquet(&parquet).with_context(|| ctx(&parquet))?
    } else if archive.is_dir() {
        many(&archive, m::read_postings_parquet)?
    } else {
        eprintln!("no postings: the load-to-truck features stay neutral");
        Vec::new()
    };
    Ok((bookings, postings))
}

async fn train(args: TrainArgs) -> anyhow::Result<()> {
    let (bookings, postings) = match (&args.data, args.from_store) {
        (Some(dir), _) => read_history(dir)?,
        (None, true) => with_rates(&args.config, async |r| Ok(r.history().await?)).await?,
        (None, false) => anyhow::bail!("say what to train on: --data DIR or --from-store"),
    };
    anyhow::ensure!(
        (0..=365).contains(&args.test_days),
        "--test-days must be between 0 and 365"
    );
    let began = Instant::now();
    let vocab = vocab_of(&bookings);
    let (ex, _) = examples(&bookings, &postings, &vocab);
    eprintln!(
        "{} bookings ({} skipped: no miles or rate), {} postings",
        ex.len(),
        ex.skipped,
        postings.len()
    );
    anyhow::ensure!(!ex.is_empty(), "no booking to train on");
    let cut = if args.test_days > 0 {
        let last = ex.booked_at[ex.len() - 1];
        ex.index_at(last - Duration::days(args.test_days))
    } else {
        ex.len()
    };
    let mut opts = FitOptions::default();
    opts.params.learning_rate = args.learning_rate;
    let model = RateModel::fit(&ex, 0..cut, &vocab, &opts)?;
    let p = &model.provenance;
    eprintln!(
        "trained {} trees on {} loads in {:.1} s",
        p.trees, p.train_rows, p.training_seconds
    );
    eprintln!("{}", line("calibration", &p.calibration));
    if cut < ex.len() {
        eprintln!("{}", line("test", &model.score(&ex, cut..ex.len())));
        eprintln!(
            "{}",
            line(
                "lane average",
                &lane_average_baseline(&ex, 0..cut, cut..ex.len())
            )
        );
    }
    std::fs::write(&args.out, encode(&model))
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} in {:.1} s",
        args.out.display(),
        began.elapsed().as_secs_f64()
    );
    // stdout: the version alone, for scripts.
    println!("{}", p.version);
    Ok(())
}

pub async fn run(command: MlCommand) -> anyhow::Result<()> {
    match command {
        MlCommand::Train(args) => train(args).await,
        MlCommand::Publish {
            config,
            model,
            activate,
        } => {
            let bytes =
                std::fs::read(&model).with_context(|| format!("reading {}", model.display()))?;
            let version =
                with_rates(&config, async |r| Ok(r.publish(bytes, activate).await?)).await?;
            println!("{version}");
            Ok(())
        }
        MlCommand::Activate { config, version } => {
            with_rates(&config, async |r| Ok(r.activate(&version).await?)).await?;
            println!("{version}");
            Ok(())
        }
        MlCommand::Rollback { config } => {
            let version = with_rates(&config, async |r| Ok(r.rollback().await?)).await?;
            println!("{version}");
            Ok(())
        }
        MlCommand::Models { config } => {
            let models = with_rates(&config, async |r| Ok(r.models().await?)).await?;
            println!("{}", serde_json::to_string_pretty(&models)?);
            Ok(())
        }
    }
}
