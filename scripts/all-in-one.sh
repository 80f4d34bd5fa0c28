#!/usr/bin/env bash
# Builds (release) and runs `altimeter all-in-one` with embedded defaults:
# data in ./data, HTTP on 127.0.0.1:8041. Extra arguments go to the binary,
# e.g. scripts/all-in-one.sh --listen 0.0.0.0:8041 --data-dir /srv/altimeter
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
scripts/setup.sh run
cargo build --release --locked --bin altimeter
exec "$CARGO_TARGET_DIR/release/altimeter" all-in-one "$@"
