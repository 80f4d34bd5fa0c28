//! Command-line interface.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};

/// Altimeter: telemetry-first metering and monitoring in one binary.
#[derive(Debug, Parser)]
#[command(name = "altimeter", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: remote-write and text ingest, the TSDB, SQL, admin
    /// and health endpoints, self-metrics on /metrics.
    Serve(ServeArgs),
    /// Run everything on one machine (today the same as `serve`; the local
    /// collector agent joins it in a later release). The README's start command.
    AllInOne(ServeArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration (file + environment) and print the effective
    /// settings as TOML. Exits non-zero listing every problem.
    Check {
        /// Configuration file (TOML).
        #[arg(long, env = "ALTIMETER_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the configuration reference (Markdown).
    Reference,
}

/// Options shared by `serve` and `all-in-one`. Each overrides the same key
/// of the configuration file and of `ALTIMETER_*` environment variables.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); see `altimeter config reference`.
    #[arg(long, env = "ALTIMETER_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (WAL, blocks). Default ./data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on. Default 127.0.0.1:8041.
    #[arg(long)]
    listen: Option<String>,
    /// Raw sample retention, e.g. 30d; 0 keeps forever.
    #[arg(long)]
    retention: Option<String>,
}

fn load(
    file: Option<&std::path::Path>,
    overrides: &[(&str, String, &str)],
) -> anyhow::Result<Config> {
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not
    // crash start-up; ALTIMETER_* ones are always UTF-8 in practice.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    config::load(file, env, overrides).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => serve(a, "serve"),
        Command::AllInOne(a) => serve(a, "all-in-one"),
        Command::Config(ConfigCommand::Check { config }) => {
            let c = load(config.as_deref(), &[])?;
            #[allow(clippy::print_stdout)] // the command's output
            {
                println!("{}", c.to_toml());
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Reference) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{}", config::reference_markdown());
            }
            Ok(())
        }
    }
}

fn serve(a: ServeArgs, mode: &'static str) -> anyhow::Result<()> {
    let mut overrides: Vec<(&str, String, &str)> = Vec::new();
    if let Some(d) = &a.data_dir {
        overrides.push((
            "server.data_dir",
            d.display().to_string(),
            "command line --data-dir",
        ));
    }
    if let Some(l) = &a.listen {
        overrides.push(("server.listen", l.clone(), "command line --listen"));
    }
    if let Some(r) = &a.retention {
        overrides.push(("storage.retention", r.clone(), "command line --retention"));
    }
    let cfg = load(a.config.as_deref(), &overrides)?;
    crate::server::init_logging(&cfg.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("altimeter")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(crate::server::run(cfg, mode))
}
