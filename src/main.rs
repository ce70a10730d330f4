//! `plotcare`: parse the command line, read the configuration, start logging, dispatch.

use clap::Parser;
use plotcare::{cli, config::Config, telemetry};

#[tokio::main]
async fn main() {
    let cli = cli::Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.log_format);
    if let Err(e) = cli::run(cli, config).await {
        // The error chain says what failed; no secrets are part of it.
        eprintln!("plotcare: {e:#}");
        std::process::exit(1);
    }
}
