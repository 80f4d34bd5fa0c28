#!/usr/bin/env bash
# Side-by-side ingest benchmark, one run on this machine:
#   VictoriaMetrics 1.79 vs Altimeter vs Prometheus 2.42
# on the cloudgen 100 hosts x 20 VMs x 1 h set (33,800 series, 12.17 M samples),
# replayed over 4 connections by rwload.py. Appends the results and ratios to
# BENCHMARKS.md. Usage: bench/ingest.sh [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED="${SHARED_DIR:-$ROOT/../shared}"
export PEERS_DIR="$SHARED/peers"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
scripts/setup.sh bench
cargo build --release --locked --bin altimeter
BIN="$CARGO_TARGET_DIR/release/altimeter"
DATA="${BENCH_DATA:-/var/tmp/altimeter-bench/cloud-100x20x1h.rw}"
mkdir -p "$(dirname "$DATA")"
# The data must end "now": Prometheus scrapes itself, which moves its head to
# the present, and then refuses samples more than an hour older (out of
# bounds). Regenerate unless the file is under 10 minutes old (~3 min to make).
if [ ! -f "$DATA.json" ] || [ -z "$(find "$DATA.json" -mmin -10)" ]; then
  python3 bench/cloudgen.py --hosts 100 --vms-per-host 20 --duration 3600 --out "$DATA"
fi
TMP="$(mktemp -d /var/tmp/altimeter-bench-run.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
PORT=18041
ALT="cmd:setsid $BIN serve --data-dir $TMP/alt --listen 127.0.0.1:$PORT >$TMP/alt.log 2>&1 </dev/null & echo \$! >$TMP/alt.pid"
# Persist with ?compact=1: flush and merge, as peerbench force-merges VictoriaMetrics.
ALT="$ALT|http://127.0.0.1:$PORT|$TMP/alt.pid|$TMP/alt|http://127.0.0.1:$PORT/api/v1/admin/flush?compact=1"
OUT="$TMP/results.jsonl"
python3 bench/peerbench.py "$DATA" victoriametrics "$ALT" prometheus | tee "$TMP/peerbench.out"
grep '^{' "$TMP/peerbench.out" > "$OUT"
if [ "${1:-}" != "--no-record" ]; then
  python3 bench/report.py ingest "$OUT" "bench/ingest.sh" >> BENCHMARKS.md
  echo "appended to BENCHMARKS.md"
else
  python3 bench/report.py ingest "$OUT" "bench/ingest.sh"
fi
