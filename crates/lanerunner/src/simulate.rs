//! `lanerunner simulate`: writes a simulated market (`lanerunner-market`) to a directory,
//! with a progress line as it goes and a summary at the end.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use lanerunner_market::{Format, MarketWriter, SimParams, Simulator, Summary};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Csv,
    Parquet,
    Both,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Directory for bookings.{csv,parquet} and postings.{csv,parquet}.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The same seed writes the same market, byte for byte.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The first day (default: `days` before today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start: Option<NaiveDate>,
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Average booked loads a day (weekdays more, weekends less).
    #[arg(long, default_value_t = 2_000)]
    pub loads_per_day: u32,
    #[arg(long, default_value_t = 60)]
    pub brokers: u32,
    #[arg(long, default_value_t = 2_000)]
    pub carriers: u32,
    #[arg(long, value_enum, default_value_t = FileFormat::Both)]
    pub format: FileFormat,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let start = args.start.unwrap_or_else(|| {
        chrono::Utc::now().date_naive() - chrono::Duration::days(args.days as i64)
    });
    let params = SimParams {
        seed: args.seed,
        start,
        days: args.days,
        loads_per_day: args.loads_per_day,
        brokers: args.brokers,
        carriers: args.carriers,
    };
    let sim = Simulator::new(params).context("simulation parameters")?;
    let format = match args.format {
        FileFormat::Csv => Format::Csv,
        FileFormat::Parquet => Format::Parquet,
        FileFormat::Both => Format::Both,
    };
    let mut out = MarketWriter::create(&args.out, format)
        .with_context(|| format!("creating the market files in {}", args.out.display()))?;
    let mut summary = Summary::default();
    let began = Instant::now();
    let mut shown = 0;
    let mut err = std::io::stderr();
    for day in sim {
        out.write(&day).context("writing the market files")?;
        summary.add(&day);
        let percent = summary.days * 100 / args.days;
        if percent >= shown + 5 || summary.days == args.days {
            shown = percent;
            let bar = "#".repeat(percent as usize / 5);
            let _ = write!(
                err,
                "\r[{bar:<20}] {percent:>3}%  day {}/{}  {} bookings  {:.0} s",
                summary.days,
                args.days,
                summary.bookings,
                began.elapsed().as_secs_f64()
            );
        }
    }
    out.finish().context("closing the market files")?;
    let _ = writeln!(err);
    println!(
        "wrote {} in {:.1} s",
        args.out.display(),
        began.elapsed().as_secs_f64()
    );
    print!("{summary}");
    Ok(())
}
