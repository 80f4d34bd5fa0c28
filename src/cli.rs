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
    /// Run everything on one machine: the server plus the collector agent
    /// for this host, shipping in-process. The README's start command.
    AllInOne(ServeArgs),
    /// Run the per-host collector agent: polls libvirt guests, cgroups and
    /// the host every interval (and at once on guest start/stop), serves
    /// /metrics for Prometheus, and ships every poll to remote-write
    /// receivers through a bounded on-disk spool.
    Agent(AgentArgs),
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

/// Options of `altimeter agent`. Each overrides the same key of the
/// configuration file (`[agent]`) and of `ALTIMETER_AGENT_*` variables.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Configuration file (TOML); see `altimeter config reference`.
    #[arg(long, env = "ALTIMETER_CONFIG")]
    config: Option<PathBuf>,
    /// Address for /metrics and /-/healthy, /-/ready. Default 127.0.0.1:9101.
    #[arg(long)]
    listen: Option<String>,
    /// libvirt URI, opened read-only. Default qemu:///system.
    #[arg(long)]
    libvirt_uri: Option<String>,
    /// Remote-write URL to ship to; repeat for several
    /// (e.g. http://altimeter:8041/api/v1/write).
    #[arg(long = "remote-write", value_name = "URL")]
    remote_write: Vec<String>,
    /// Directory of the on-disk spools. Default ./agent-data.
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Poll interval, e.g. 10s (the default).
    #[arg(long)]
    interval: Option<String>,
    /// Pollsters to run, comma-separated: libvirt,cgroup,host (the default).
    #[arg(long)]
    pollsters: Option<String>,
}

fn load(
    file: Option<&std::path::Path>,
    overrides: &[(&str, String, String)],
) -> anyhow::Result<Config> {
    let overrides: Vec<(&str, String, &str)> = overrides
        .iter()
        .map(|(k, v, src)| (*k, v.clone(), src.as_str()))
        .collect();
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not
    // crash start-up; ALTIMETER_* ones are always UTF-8 in practice.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    config::load(file, env, &overrides).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => serve(a, "serve"),
        Command::AllInOne(a) => serve(a, "all-in-one"),
        Command::Agent(a) => agent(a),
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

/// Flags given on the command line, as configuration overrides:
/// (key, value, `command line --flag`).
fn flags<'a>(given: &[(&'a str, &'a str, Option<String>)]) -> Vec<(&'a str, String, String)> {
    given
        .iter()
        .filter_map(|(key, flag, v)| Some((*key, v.clone()?, format!("command line --{flag}"))))
        .collect()
}

fn serve(a: ServeArgs, mode: &'static str) -> anyhow::Result<()> {
    let overrides = flags(&[
        (
            "server.data_dir",
            "data-dir",
            a.data_dir.as_ref().map(|d| d.display().to_string()),
        ),
        ("server.listen", "listen", a.listen.clone()),
        ("storage.retention", "retention", a.retention.clone()),
    ]);
    let cfg = load(a.config.as_deref(), &overrides)?;
    crate::server::init_logging(&cfg.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("altimeter")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(crate::server::run(cfg, mode))
}

fn agent(a: AgentArgs) -> anyhow::Result<()> {
    let overrides = flags(&[
        ("agent.listen", "listen", a.listen.clone()),
        ("agent.libvirt_uri", "libvirt-uri", a.libvirt_uri.clone()),
        (
            "agent.remote_write",
            "remote-write",
            (!a.remote_write.is_empty()).then(|| a.remote_write.join(",")),
        ),
        (
            "agent.spool_dir",
            "spool-dir",
            a.spool_dir.as_ref().map(|d| d.display().to_string()),
        ),
        ("agent.interval", "interval", a.interval.clone()),
        ("agent.pollsters", "pollsters", a.pollsters.clone()),
    ]);
    let cfg = load(a.config.as_deref(), &overrides)?;
    crate::server::init_logging(&cfg.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("altimeter-agent")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(crate::agent::run(cfg))
}
