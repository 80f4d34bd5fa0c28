//! `altimeter`: one binary for metering and monitoring a cloud.
//!
//! `altimeter serve` runs the server (ingest, TSDB, query APIs);
//! `altimeter agent` runs the per-host collector; `altimeter all-in-one`
//! is the single-machine default (server + local agent); `altimeter config`
//! checks a configuration file or prints the reference.

mod agent;
mod alarm_source;
mod cli;
mod config;
mod process;
mod server;

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: ingest allocates and frees request
/// buffers on several threads, where glibc's per-thread arenas hold on to
/// freed memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("altimeter: {e:#}");
            ExitCode::FAILURE
        }
    }
}
