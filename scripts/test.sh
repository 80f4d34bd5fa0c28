#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/property/integration tests
# (including the SIGKILL crash test and `promtool check metrics`), and a
# build of the fuzz target's code path. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
scripts/setup.sh test
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Always whole-workspace builds: building one package alone unifies
# dependency features differently and recompiles DataFusion from scratch.
# (nextest builds the `altimeter` binary the integration tests run.)
# The fuzz targets must keep compiling (running them needs cargo-fuzz; see fuzz/README.md).
cargo check --manifest-path fuzz/Cargo.toml --bins
cargo nextest run --workspace --locked --no-fail-fast
