#!/usr/bin/env bash
# Side-by-side PromQL latency benchmark, one run on this machine:
#   Prometheus 2.42 vs VictoriaMetrics 1.79 vs Altimeter
# on the cloudgen 100 hosts x 20 VMs x 1 h set, all three fed the same
# remote-write file. bench/perf-queries.txt runs as range queries over the
# whole hour (step 60 s), best of 3, through promcompare.py with Prometheus as
# the reference, so every answer is also checked against Prometheus's.
# Appends the results to BENCHMARKS.md. Usage: bench/promql.sh [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED="${SHARED_DIR:-$ROOT/../shared}"
PEERS="$SHARED/peers"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
scripts/setup.sh bench
cargo build --release --locked --bin altimeter
BIN="$CARGO_TARGET_DIR/release/altimeter"
DATA="${BENCH_DATA:-/var/tmp/altimeter-bench/cloud-100x20x1h.rw}"
mkdir -p "$(dirname "$DATA")"
# Fresh data every run: the hour ends now, as a dashboard's "last hour" does.
# (Prometheus also refuses samples much older than its head.) With older
# data VictoriaMetrics answers the repeats of best-of-3 from its rollup
# result cache, which skips results newer than 5 minutes: that would time
# its cache, not its query engine.
python3 bench/cloudgen.py --hosts 100 --vms-per-host 20 --duration 3600 --out "$DATA"
TMP="$(mktemp -d /var/tmp/altimeter-promql.XXXXXX)"
ALT_PORT=18041
cleanup() {
  PROM_DIR="$TMP/prom" PROM_PORT=19090 "$PEERS/prometheus.sh" stop >/dev/null 2>&1 || true
  VM_DIR="$TMP/vm" VM_PORT=18428 "$PEERS/victoriametrics.sh" stop >/dev/null 2>&1 || true
  [ -f "$TMP/alt.pid" ] && kill "$(cat "$TMP/alt.pid")" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
PROM_DIR="$TMP/prom" PROM_PORT=19090 "$PEERS/prometheus.sh" start >/dev/null
VM_DIR="$TMP/vm" VM_PORT=18428 "$PEERS/victoriametrics.sh" start >/dev/null
setsid "$BIN" serve --data-dir "$TMP/alt" --listen "127.0.0.1:$ALT_PORT" >"$TMP/alt.log" 2>&1 </dev/null &
echo $! >"$TMP/alt.pid"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ALT_PORT/-/ready" >/dev/null && break; sleep 0.2; done
PROM=http://127.0.0.1:19090 VM=http://127.0.0.1:18428 ALT=http://127.0.0.1:$ALT_PORT
for url in $PROM $VM $ALT; do
  python3 bench/rwload.py "$DATA" "$url/api/v1/write" >/dev/null
done
# VictoriaMetrics makes fresh data searchable after up to a few seconds.
curl -sf "$VM/internal/force_flush" >/dev/null || true
sleep 5
START=$(python3 -c "import json;print(json.load(open('$DATA.json'))['start_ms']//1000)")
END=$(python3 -c "import json;print(json.load(open('$DATA.json'))['end_ms']//1000)")
run() { # target name
  python3 bench/promcompare.py --ref "$PROM" --target "$1" --queries bench/perf-queries.txt \
    --start "$START" --end "$END" --step 60 --repeat 3 --json "$TMP/$2.json" >"$TMP/$2.out" || true
  tail -2 "$TMP/$2.out"
}
echo "altimeter:"; run "$ALT" altimeter
echo "victoriametrics:"; run "$VM" victoriametrics
if [ "${1:-}" != "--no-record" ]; then
  python3 bench/report.py promql "$TMP/altimeter.json" "$TMP/victoriametrics.json" "bench/promql.sh" >> BENCHMARKS.md
  echo "appended to BENCHMARKS.md"
else
  python3 bench/report.py promql "$TMP/altimeter.json" "$TMP/victoriametrics.json" "bench/promql.sh"
fi
