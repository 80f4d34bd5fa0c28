#!/usr/bin/env bash
# Side-by-side Gnocchi v1 ingest benchmark, one run on this machine:
#   a real Gnocchi 4.7.1 (tests/peers/gnocchi.sh: PostgreSQL + uwsgi gnocchi-api +
#   gnocchi-metricd with 2 workers and metric_processing_delay=5 s, the setting the shared
#   research notes measured; Gnocchi's own default is 60 s)
#   vs a freshly started release Altimeter (`altimeter serve`, empty data dir).
# Workload (bench/gnocchi-bench.py): 1,000 metrics x 360 points (30 s apart, ending now)
# through POST /v1/batch/metrics/measures, 100 metrics per request, bodies encoded before
# the timer; then every metric read back at every granularity. Each peer runs alone (the
# other is stopped), REPS repetitions with fresh metrics each.
#
# Usage: bench/gnocchi.sh [--gnocchi-only | --altimeter-only] [--reps N] [--metrics M] [--points P]
# Env:   ALTIMETER_BIN (default ${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}/release/altimeter;
#        building it is not this script's job: cargo build --release --locked --bin altimeter)
#        GNOCCHI_PROCESSING_DELAY (default 5), ALTIMETER_PEERS (venv location, see tests/peers/gnocchi.sh)
# Prints the command line, commit, date, machine, a Markdown table and the ratio
# (Altimeter end-to-end / Gnocchi end-to-end; goal <= 0.05), ready for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CMDLINE="bench/gnocchi.sh $*"
BIN="${ALTIMETER_BIN:-${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}/release/altimeter}"
export GNOCCHI_PROCESSING_DELAY="${GNOCCHI_PROCESSING_DELAY:-5}"
REPS=2 METRICS=1000 POINTS=360 DO_G=1 DO_A=1
while [ $# -gt 0 ]; do
  case "$1" in
    --gnocchi-only) DO_A=0 ;;
    --altimeter-only) DO_G=0 ;;
    --reps) REPS="$2"; shift ;;
    --metrics) METRICS="$2"; shift ;;
    --points) POINTS="$2"; shift ;;
    *) echo "usage: $0 [--gnocchi-only|--altimeter-only] [--reps N] [--metrics M] [--points P]" >&2; exit 2 ;;
  esac
  shift
done
if [ $DO_A = 1 ] && [ ! -x "$BIN" ]; then
  echo "no Altimeter binary at $BIN (cargo build --release --locked --bin altimeter, or set ALTIMETER_BIN)" >&2
  exit 1
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TMP="$(mktemp -d /var/tmp/altimeter-gnocchi-bench.XXXXXX)"
APID=""
cleanup() {
  if [ -n "$APID" ]; then kill "$APID" 2>/dev/null || true; wait "$APID" 2>/dev/null || true; fi
  bash tests/peers/gnocchi.sh stop "$TMP/gnocchi" || true
  rm -rf "$TMP"
}
trap cleanup EXIT
OUT="$TMP/results.jsonl"
BENCH=(python3 bench/gnocchi-bench.py run --metrics "$METRICS" --points "$POINTS" --reps "$REPS" --out "$OUT")

echo "## Gnocchi v1 ingest: Gnocchi 4.7.1 vs Altimeter"
echo
echo "- command: \`$CMDLINE\`"
echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- workload: $METRICS metrics x $POINTS points (30 s apart, ending now), 100 metrics per POST /v1/batch/metrics/measures, $REPS repetitions, fresh metrics each"
echo "- Gnocchi: 4.7.1 from PyPI, PostgreSQL 15 indexer, file storage, uwsgi api, metricd workers=2, metric_processing_delay=${GNOCCHI_PROCESSING_DELAY} s"
[ $DO_A = 1 ] && echo "- Altimeter: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo

if [ $DO_G = 1 ]; then
  bash tests/peers/gnocchi.sh install
  GP="$(free_port)"
  bash tests/peers/gnocchi.sh start "$TMP/gnocchi" "$GP"
  "${BENCH[@]}" --peer gnocchi --endpoint "http://127.0.0.1:$GP" >&2
  bash tests/peers/gnocchi.sh stop "$TMP/gnocchi"
  echo "- Gnocchi storage after the run: $(du -sh "$TMP/gnocchi/storage" | cut -f1)" >&2
fi
if [ $DO_A = 1 ]; then
  AP="$(free_port)"
  mkdir -p "$TMP/alt"
  setsid "$BIN" serve --data-dir "$TMP/alt/data" --listen "127.0.0.1:$AP" >"$TMP/alt/log" 2>&1 </dev/null &
  APID=$!
  for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$AP/-/ready" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$AP/-/ready" || { tail -30 "$TMP/alt/log" >&2; echo "altimeter not ready" >&2; exit 1; }
  "${BENCH[@]}" --peer altimeter --endpoint "http://127.0.0.1:$AP" >&2 || { tail -30 "$TMP/alt/log" >&2; exit 1; }
  kill "$APID"; wait "$APID" 2>/dev/null || true; APID=""
fi
python3 bench/gnocchi-bench.py table "$OUT"
