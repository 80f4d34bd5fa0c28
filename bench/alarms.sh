#!/usr/bin/env bash
# Side-by-side alarm latency benchmark, one run on this machine: sample acknowledged ->
# webhook received, p50/p99 over 100 alarms (bench/alarm-latency.py has the exact method),
#   1. OpenStack Aodh 23.0.0 + Gnocchi 4.7.1 (PyPI) "as deployed" in shared/peers/
#      openstack-telemetry.sh: evaluation_interval=10 s, metricd metric_processing_delay=5 s;
#   2. the same stack at equal interval: evaluation_interval=1 s, metric_processing_delay=1 s
#      (the smallest values both accept: Aodh's best case);
#   3. Aodh 23 with 100 `prometheus` alarms (evaluation_interval=1 s) over a Prometheus 2.42
#      (Debian) remote-write receiver: the Aodh counterpart of run 5;
#   4. a release Altimeter (`altimeter serve`, empty data dir, alarms.evaluation_interval=1s),
#      100 gnocchi_resources_threshold alarms through its Gnocchi v1 + Aodh v2 API;
#   5. a fresh Altimeter again with 100 `prometheus` alarms fed by Prometheus remote-write.
# Each target runs alone (the previous one is stopped first). Before run 1 the Altimeter
# binary is started once to check it serves /v2 (exit 3 with a clear message if GET /v2/alarms
# is 404; exit 1 if it refuses ALTIMETER_ALARMS_EVALUATION_INTERVAL=1s or
# ALTIMETER_ALARMS_ADDITIONAL_INGESTION_LAG=30s, the value Aodh gets here too).
# Aodh+Gnocchi stack (adapted from shared/peers/openstack-telemetry.sh; Gnocchi and its
# PostgreSQL through tests/peers/gnocchi.sh, as bench/gnocchi.sh does): PostgreSQL 15 (Gnocchi
# indexer + Aodh DB), gnocchi-api (uwsgi, auth_mode=basic, file storage), gnocchi-metricd (2
# workers), RabbitMQ 3.10 (Debian; oslo.messaging carries evaluator -> notifier), aodh-api
# (noauth), aodh-evaluator (1 worker), aodh-notifier — every port a free loopback port. Aodh's
# additional_ingestion_lag is set to 30 s: with granularity 1 Aodh's query window is otherwise
# only the last 2 s, which Gnocchi has not processed yet (every alarm stays "insufficient data").
# It widens the window only; the newest point still decides the state.
#
# Usage: bench/alarms.sh [--aodh-only | --altimeter-only] [--alarms N] [--aodh-configs "10:5 1:1"]
#                        [--aodh-prometheus "1"] [--timeout S] [--out FILE.jsonl] [--no-build]
#   --aodh-configs: Aodh+Gnocchi runs, space-separated EVALUATION_INTERVAL:METRIC_PROCESSING_DELAY
#                   pairs (seconds; "" for none)
#   --aodh-prometheus: Aodh+Prometheus runs (evaluation intervals, s; "" for none)
# Env:   ALTIMETER_BIN (default $CARGO_TARGET_DIR/release/altimeter, built here unless --no-build),
#        CARGO_TARGET_DIR (default /var/tmp/altimeter-target),
#        ALTIMETER_PEERS (venvs, default /var/tmp/altimeter-peers: gnocchi-venv, aodh-venv)
# Writes the results (one JSON object per target) to --out (default
# /var/tmp/altimeter-bench/alarms-<UTC time>.jsonl) and the Markdown report next to it (.md);
# prints the command line, commit, date, machine and the table with ratios, ready for
# BENCHMARKS.md. Target: Altimeter p99 <= 1.5 s at a 1 s evaluation interval.
# Stops everything it started (trap), and checks that no process of its own is left.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CMDLINE="bench/alarms.sh $*"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
BIN="${ALTIMETER_BIN:-$CARGO_TARGET_DIR/release/altimeter}"
PEERS="${ALTIMETER_PEERS:-/var/tmp/altimeter-peers}"
AVENV="$PEERS/aodh-venv"
export PYTHONWARNINGS=ignore
N=100 DO_AODH=1 DO_ALT=1 BUILD=1 TIMEOUT=60 OUT=""
AODH_CONFIGS="10:5 1:1"
AODH_PROM="1"
AODH_LAG=30
ALT_INTERVAL=1s
while [ $# -gt 0 ]; do
  case "$1" in
    --aodh-only) DO_ALT=0 ;;
    --altimeter-only) DO_AODH=0 ;;
    --alarms) N="$2"; shift ;;
    --aodh-configs) AODH_CONFIGS="$2"; shift ;;
    --aodh-prometheus) AODH_PROM="$2"; shift ;;
    --timeout) TIMEOUT="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-build) BUILD=0 ;;
    *) echo "usage: $0 [--aodh-only|--altimeter-only] [--alarms N] [--aodh-configs \"10:5 1:1\"] [--aodh-prometheus \"1\"] [--timeout S] [--out FILE.jsonl] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
python3 -c 'import cramjam' 2>/dev/null || { echo "python3 lacks cramjam (scripts/setup.sh test installs it)" >&2; exit 1; }
if [ -z "$OUT" ]; then
  mkdir -p /var/tmp/altimeter-bench
  OUT="/var/tmp/altimeter-bench/alarms-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
fi
REPORT="${OUT%.jsonl}.md"
: > "$OUT"

# Versions known to work together (shared/research/peers.md, "Versions").
AODH_PINS=(
  "aodh==23.0.0" "gnocchiclient==7.2.0" "psycopg[binary]==3.3.9" "SQLAlchemy==2.1.9"
  "keystoneauth1==5.18.1" "oslo.messaging==18.3.1" "tooz==9.1.0"
)
PGBIN=/usr/lib/postgresql/15/bin

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_aodh() {
  mkdir -p "$PEERS"
  (
    flock 9
    if ! dpkg -s rabbitmq-server >/dev/null 2>&1; then
      apt-get update -q >/dev/null
      # policy-rc.d (exit 101) on this machine keeps apt from starting the system service
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server >/dev/null
    fi
    if [ -f "$AVENV/.installed" ] && [ "$(cat "$AVENV/.installed")" = "${AODH_PINS[*]}" ] \
       && [ -x "$AVENV/bin/aodh-evaluator" ]; then
      exit 0
    fi
    [ -x "$AVENV/bin/python" ] || python3 -m venv "$AVENV"
    "$AVENV/bin/pip" install -q -U pip wheel setuptools >"$PEERS/aodh-pip.log" 2>&1
    "$AVENV/bin/pip" install -q "${AODH_PINS[@]}" >>"$PEERS/aodh-pip.log" 2>&1 \
      || { tail -30 "$PEERS/aodh-pip.log" >&2; exit 1; }
    "$AVENV/bin/python" -c 'import aodh, gnocchiclient, psycopg, oslo_messaging, tooz'
    echo "${AODH_PINS[*]}" > "$AVENV/.installed"
  ) 9>"$PEERS/.install.lock"
}

killgroup() {  # pidfile: TERM the process group the daemon leads (setsid), then KILL
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 80); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

logs_tail() {
  local f
  for f in "$@"; do [ -s "$f" ] && { echo "--- tail $f" >&2; tail -25 "$f" >&2; }; done
  return 0
}

# RabbitMQ on free loopback ports, with its own epmd on a free port (ERL_EPMD_PORT), so
# nothing is shared with any other Erlang node on this machine.
start_rabbit() {  # DIR -> sets RP
  local R="$1" DP EP
  mkdir -p "$R/mnesia" "$R/log" "$R/../pids"
  RP="$(free_port)"; DP="$(free_port)"; EP="$(free_port)"
  echo "$EP" > "$R/epmd.port"
  echo "[]." > "$R/enabled_plugins"
  cat > "$R/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RP
loopback_users = none
log.console = false
EOF
  ( cd "$R" && exec setsid env HOME="$R" RABBITMQ_NODENAME=rabbit@localhost \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RP" RABBITMQ_DIST_PORT="$DP" \
      ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EP" \
      RABBITMQ_MNESIA_BASE="$R/mnesia" RABBITMQ_LOG_BASE="$R/log" \
      RABBITMQ_CONFIG_FILE="$R/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$R/enabled_plugins" \
      RABBITMQ_PID_FILE="$R/beam.pid" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
      /usr/lib/rabbitmq/bin/rabbitmq-server ) >"$R/server.out" 2>&1 </dev/null &
  echo $! > "$R/../pids/rabbit"
  for _ in $(seq 1 240); do
    ss -ltn | grep -q "127.0.0.1:$RP " && return 0
    alive "$R/../pids/rabbit" || break
    sleep 0.5
  done
  logs_tail "$R/server.out" "$R"/log/*.log
  echo "RabbitMQ did not listen on 127.0.0.1:$RP" >&2
  return 1
}

stop_rabbit() {  # DIR
  local R="$1" EP pid
  killgroup "$R/../pids/rabbit"
  # epmd daemonizes out of the process group; it is ours: it listens on our private port
  if [ -f "$R/epmd.port" ]; then
    EP="$(cat "$R/epmd.port")"
    for pid in $(ss -ltnp 2>/dev/null | awk -v p="127.0.0.1:$EP" '$4 == p' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      kill "$pid" 2>/dev/null || true
    done
    rm -f "$R/epmd.port"
  fi
}

spawn() {  # DIR name cmd...
  local D="$1" n="$2"; shift 2
  setsid "$@" >"$D/$n.log" 2>&1 </dev/null &
  echo $! > "$D/pids/$n"
}

# Prometheus 2.42 (Debian) with the remote-write receiver, for Aodh's `prometheus` alarms.
start_prometheus() {  # DIR -> sets PP
  local R="$1"
  command -v prometheus >/dev/null || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null
  }
  mkdir -p "$R/data"
  PP="$(free_port)"
  printf 'global:\n  scrape_interval: 1m\n' > "$R/prometheus.yml"
  setsid prometheus --config.file="$R/prometheus.yml" --storage.tsdb.path="$R/data" \
    --web.listen-address="127.0.0.1:$PP" --web.enable-remote-write-receiver \
    >"$R/prometheus.log" 2>&1 </dev/null &
  echo $! > "$R/../pids/prometheus"
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null "http://127.0.0.1:$PP/-/ready" && return 0
    sleep 0.5
  done
  logs_tail "$R/prometheus.log"; echo "Prometheus did not become ready" >&2; return 1
}

start_aodh_stack() {  # DIR EVAL_INTERVAL PROCESSING_DELAY BACKEND(gnocchi|prometheus) -> sets GP AP PP
  local D="$1" EI="$2" DELAY="$3" BACKEND="$4" PGPORT CRED
  mkdir -p "$D/pids" "$D/locks"
  D="$(cd "$D" && pwd)"
  GP="$(free_port)"
  GNOCCHI_PROCESSING_DELAY="$DELAY" bash tests/peers/gnocchi.sh start "$D/gnocchi" "$GP"
  PGPORT="$(cat "$D/gnocchi/pg/port")"
  local P=(runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qtA)
  "${P[@]}" -c "create user aodh password 'aodh'" >/dev/null
  "${P[@]}" -c "create database aodh owner aodh" >/dev/null
  start_rabbit "$D/rabbit"
  if [ "$BACKEND" = prometheus ]; then
    start_prometheus "$D/prometheus"
    # keystoneauth's `none` plugin: the evaluator's observabilityclient takes its endpoint
    CRED="auth_type = none
endpoint = http://127.0.0.1:$PP"
  else
    # aodh-evaluator reaches Gnocchi through keystoneauth; gnocchiclient's gnocchi-basic
    # plugin lets it do so without Keystone.
    CRED="auth_type = gnocchi-basic
user = admin
endpoint = http://127.0.0.1:$GP"
  fi
  AP="$(free_port)"
  cat > "$D/aodh.conf" <<EOF
[DEFAULT]
debug = false
transport_url = rabbit://guest:guest@127.0.0.1:$RP/
additional_ingestion_lag = $AODH_LAG
[evaluator]
evaluation_interval = $EI
[api]
auth_mode = noauth
[database]
connection = postgresql://aodh:aodh@127.0.0.1:$PGPORT/aodh
[coordination]
backend_url = file://$D/locks
[service_credentials]
$CRED
interface = public
EOF
  "$AVENV/bin/aodh-dbsync" --config-file "$D/aodh.conf" >"$D/dbsync.log" 2>&1 \
    || { logs_tail "$D/dbsync.log"; return 1; }
  spawn "$D" aodh-api "$AVENV/bin/aodh-api" --host 127.0.0.1 --port "$AP" -- --config-file "$D/aodh.conf"
  spawn "$D" aodh-evaluator "$AVENV/bin/aodh-evaluator" --config-file "$D/aodh.conf"
  spawn "$D" aodh-notifier "$AVENV/bin/aodh-notifier" --config-file "$D/aodh.conf"
  local code=000
  for _ in $(seq 1 120); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'X-User-Id: u' -H 'X-Project-Id: p' -H 'X-Roles: admin' \
      "http://127.0.0.1:$AP/v2/alarms" || true)"
    [ "$code" = 200 ] && return 0
    sleep 0.5
  done
  logs_tail "$D/aodh-api.log" "$D/aodh-evaluator.log" "$D/aodh-notifier.log"
  echo "aodh-api did not answer 200 on http://127.0.0.1:$AP/v2/alarms (last: $code)" >&2
  return 1
}

stop_aodh_stack() {  # DIR
  local D="$1" n
  [ -d "$D" ] || return 0
  for n in aodh-notifier aodh-evaluator aodh-api prometheus; do killgroup "$D/pids/$n"; done
  stop_rabbit "$D/rabbit"
  bash tests/peers/gnocchi.sh stop "$D/gnocchi" || true
}

start_altimeter() {  # DIR -> sets PORT APID; fails with a clear message
  local D="$1"
  mkdir -p "$D"
  PORT="$(free_port)"
  # the server rejects unknown ALTIMETER_* variables: drop this script's own
  # additional_ingestion_lag as given to Aodh (parity; it only widens Gnocchi-typed windows)
  env -u ALTIMETER_BIN -u ALTIMETER_PEERS ALTIMETER_ALARMS_EVALUATION_INTERVAL="$ALT_INTERVAL" \
    ALTIMETER_ALARMS_ADDITIONAL_INGESTION_LAG="${AODH_LAG}s" \
    setsid "$BIN" serve --data-dir "$D/data" --listen "127.0.0.1:$PORT" >"$D/log" 2>&1 </dev/null &
  APID=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/-/ready" && return 0
    kill -0 "$APID" 2>/dev/null || break
    sleep 0.1
  done
  tail -30 "$D/log" >&2
  if grep -q "ALTIMETER_ALARMS_" "$D/log" 2>/dev/null; then
    echo "ERROR: $BIN refused ALTIMETER_ALARMS_EVALUATION_INTERVAL / _ADDITIONAL_INGESTION_LAG: this build has no [alarms] evaluation_interval / additional_ingestion_lag settings (no alarms subsystem)" >&2
  fi
  echo "ERROR: altimeter did not become ready on 127.0.0.1:$PORT" >&2
  return 1
}

stop_altimeter() {
  [ -n "$APID" ] || return 0
  kill "$APID" 2>/dev/null || true; wait "$APID" 2>/dev/null || true; APID=""
}

TMP="$(mktemp -d /var/tmp/altimeter-alarms-bench.XXXXXX)"
chmod o+x "$TMP"
APID=""
STACKS=()
cleanup() {
  stop_altimeter
  local d
  for d in "${STACKS[@]}"; do stop_aodh_stack "$d" >/dev/null 2>&1 || true; done
  # nothing of ours may be left: every process we started has its command line under $TMP
  # (postgres -D, uwsgi/metricd/aodh --config-file, beam -mnesia dir)
  if pgrep -f -- "$TMP" >/dev/null 2>&1; then
    echo "warning: processes left under $TMP:" >&2; pgrep -af -- "$TMP" >&2 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $DO_ALT = 1 ] && [ $BUILD = 1 ] && [ -z "${ALTIMETER_BIN:-}" ]; then
  echo "building: cargo build --release --locked --bin altimeter" >&2
  cargo build --release --locked --bin altimeter >&2
fi
if [ $DO_ALT = 1 ] && [ ! -x "$BIN" ]; then
  echo "no Altimeter binary at $BIN (cargo build --release --locked --bin altimeter, or set ALTIMETER_BIN)" >&2
  exit 1
fi
if [ $DO_AODH = 1 ]; then
  bash tests/peers/gnocchi.sh install
  install_aodh
fi

HDR="$TMP/header.md"
{
  echo "## Alarm latency: Aodh 23 + Gnocchi 4.7.1 vs Altimeter (sample acknowledged → webhook received)"
  echo
  echo "- command: \`$CMDLINE\`"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- workload: $N alarms per target through the Aodh v2 API, each on its own series, value > 50 (gnocchi_resources_threshold: mean, granularity 1 s, 1 evaluation period, archive policy 1 s × 1 h; prometheus: "'`bench_value{alarm="i"}`'"); every series fed a value of 10 once a second until all alarms are ok, then one value 99 per alarm at \"now\", in random order 100–300 ms apart; latency = webhook arrival − acknowledgement of the 99 (Gnocchi 202 / remote-write 204); missing after ${TIMEOUT} s = timeout; percentiles nearest-rank"
  [ $DO_AODH = 1 ] && echo "- Aodh: aodh 23.0.0 from PyPI (evaluator 1 worker, notifier, api noauth, RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1) transport, PostgreSQL 15 DB), additional_ingestion_lag=${AODH_LAG} s; Gnocchi 4.7.1 (uwsgi api, file storage, metricd 2 workers); Prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}') (Debian) with the remote-write receiver for the prometheus alarms"
  [ $DO_ALT = 1 ] && echo "- Altimeter: $BIN ($("$BIN" --version 2>/dev/null || echo '?')), ALTIMETER_ALARMS_EVALUATION_INTERVAL=$ALT_INTERVAL, ALTIMETER_ALARMS_ADDITIONAL_INGESTION_LAG=${AODH_LAG}s (as Aodh)"
  echo
} > "$HDR"
cat "$HDR"

LAT=(python3 bench/alarm-latency.py run --alarms "$N" --timeout "$TIMEOUT" --out "$OUT")
FAILED=()

# Fail fast, before the minutes of Aodh runs, if the Altimeter binary cannot take part.
if [ $DO_ALT = 1 ]; then
  start_altimeter "$TMP/alt-preflight" || exit 1
  code="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-User-Id: u' -H 'X-Project-Id: p' -H 'X-Roles: admin' \
    "http://127.0.0.1:$PORT/v2/alarms" || true)"
  stop_altimeter
  if [ "$code" = 404 ]; then
    echo "ERROR: $BIN does not serve the Aodh v2 API (GET /v2/alarms -> 404): build it from a tree with the alarms subsystem" >&2
    exit 3
  fi
  [ "$code" = 200 ] || echo "warning: Altimeter GET /v2/alarms answered $code (expected 200)" >&2
fi

if [ $DO_AODH = 1 ]; then
  k=0
  for cfg in $AODH_CONFIGS; do
    EI="${cfg%%:*}" DELAY="${cfg##*:}"; k=$((k + 1))
    D="$TMP/aodh$k"; mkdir -p "$D"; STACKS+=("$D")
    echo "starting Aodh+Gnocchi: evaluation_interval=$EI s, metric_processing_delay=$DELAY s" >&2
    start_aodh_stack "$D" "$EI" "$DELAY" gnocchi >&2
    "${LAT[@]}" --target "aodh+gnocchi" --kind gnocchi --interval "$EI" \
      --gnocchi "http://127.0.0.1:$GP" --aodh "http://127.0.0.1:$AP" --evaluator-log "$D/aodh-evaluator.log" \
      --settings "Aodh evaluation_interval=$EI s, Gnocchi metric_processing_delay=$DELAY s, additional_ingestion_lag=$AODH_LAG s" \
      || { logs_tail "$D/aodh-evaluator.log" "$D/aodh-notifier.log" "$D/aodh-api.log" "$D/gnocchi/metricd.log"
           FAILED+=("aodh+gnocchi ${EI}s"); }
    stop_aodh_stack "$D" >&2
  done
  for EI in $AODH_PROM; do
    k=$((k + 1))
    D="$TMP/aodh$k"; mkdir -p "$D"; STACKS+=("$D")
    echo "starting Aodh+Prometheus: evaluation_interval=$EI s" >&2
    # Gnocchi is started only for its PostgreSQL (the Aodh DB); metricd idles (60 s delay)
    start_aodh_stack "$D" "$EI" 60 prometheus >&2
    "${LAT[@]}" --target "aodh+prometheus" --kind prometheus --interval "$EI" \
      --remote-write "http://127.0.0.1:$PP/api/v1/write" --aodh "http://127.0.0.1:$AP" \
      --evaluator-log "$D/aodh-evaluator.log" \
      --settings "Aodh evaluation_interval=$EI s, Prometheus 2.42 remote-write receiver" \
      || { logs_tail "$D/aodh-evaluator.log" "$D/aodh-notifier.log" "$D/aodh-api.log" "$D/prometheus/prometheus.log"
           FAILED+=("aodh+prometheus ${EI}s"); }
    stop_aodh_stack "$D" >&2
  done
fi

if [ $DO_ALT = 1 ]; then
  for kind in gnocchi prometheus; do
    D="$TMP/alt-$kind"
    echo "starting Altimeter for $kind alarms (alarms.evaluation_interval=$ALT_INTERVAL)" >&2
    start_altimeter "$D" || exit 1
    rc=0
    "${LAT[@]}" --target altimeter --kind "$kind" --interval "${ALT_INTERVAL%s}" \
      --gnocchi "http://127.0.0.1:$PORT" --aodh "http://127.0.0.1:$PORT" \
      --remote-write "http://127.0.0.1:$PORT/api/v1/write" \
      --settings "alarms.evaluation_interval=$ALT_INTERVAL, $([ "$kind" = gnocchi ] && echo "additional_ingestion_lag=${AODH_LAG}s, Gnocchi v1 ingest" || echo 'Prometheus remote-write ingest')" \
      || rc=$?
    stop_altimeter
    if [ $rc != 0 ]; then
      echo "--- tail $D/log" >&2; tail -30 "$D/log" >&2
      if [ $rc = 3 ]; then
        echo "ERROR: Altimeter at $BIN does not serve the Aodh v2 API (/v2 -> 404): build it from a tree with the alarms subsystem" >&2
        exit 3
      fi
      FAILED+=("altimeter $kind")
    fi
  done
fi

{
  cat "$HDR"
  python3 bench/alarm-latency.py table "$OUT"
} > "$REPORT"
echo
python3 bench/alarm-latency.py table "$OUT"
echo
echo "results: $OUT (report: $REPORT)"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "FAILED: ${FAILED[*]} (see the log tails above)" >&2
  exit 1
fi
