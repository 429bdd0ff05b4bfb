use std::process::ExitCode;

use clap::Parser;
use lanerunner::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Clap has read it; every other `LANERUNNER_*` variable is a configuration key, and this
    // one is not. Removed before any thread exists.
    std::env::remove_var(cli::CONFIG_ENV);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Each cause once: some errors already include their source in their message.
            let mut message = String::new();
            for cause in e.chain().map(ToString::to_string) {
                if !message.contains(&cause) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
