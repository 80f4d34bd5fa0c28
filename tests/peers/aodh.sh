#!/usr/bin/env bash
# A real OpenStack Aodh 23.0.0 API (from PyPI) on loopback, the reference peer of
# tests/aodh_compat.rs and tests/aodh/compare.py. Adapted from
# shared/peers/openstack-telemetry.sh (aodh-api only: no evaluator, notifier, RabbitMQ
# or Gnocchi; alarm states change only through the API).
#
#   aodh.sh install          venv $ALTIMETER_PEERS/aodh-api-venv with aodh and aodhclient
#                            pinned. Idempotent; a few hundred ms when everything is there.
#   aodh.sh start DIR PORT   DIR/aodh.conf (auth_mode=noauth, SQLite DIR/aodh.sqlite),
#                            aodh-dbsync, aodh-api on 127.0.0.1:PORT. Waits until
#                            GET /v2/capabilities answers 200. Prints nothing unless
#                            something fails (then the logs' tails).
#   aodh.sh stop DIR         stops what `start DIR` started (its process group, by the PID
#                            recorded in DIR/pids). Leaves no process.
#   aodh.sh status DIR
#   aodh.sh venv             prints the venv path (its bin/ holds aodh, aodh-api).
#
# Environment: ALTIMETER_PEERS (default /var/tmp/altimeter-peers).
#
# Pitfalls (shared/research/peers.md §6): aodh-api is a single-threaded pbr wsgiref server;
# its own options go after `--`; the config path must be absolute; every CLI prints an
# eventlet warning unless PYTHONWARNINGS=ignore. $ALTIMETER_PEERS/aodh-venv and
# aodh-client-venv belong to the benchmarks and are not touched here.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PEERS="${ALTIMETER_PEERS:-/var/tmp/altimeter-peers}"
VENV="$PEERS/aodh-api-venv"
export PYTHONWARNINGS=ignore

# Versions known to work together (the benchmark's aodh-venv resolved to these).
PINS=("aodh==23.0.0" "aodhclient==3.12.0" "SQLAlchemy==2.1.9" "keystoneauth1==5.18.1")

die() { echo "aodh.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$PEERS"
  # tests run in parallel processes: one installer at a time (shared with gnocchi.sh)
  exec 9>"$PEERS/.install.lock"
  flock 9
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "${PINS[*]}" ] \
     && [ -x "$VENV/bin/aodh-api" ] && [ -x "$VENV/bin/aodh-dbsync" ] && [ -x "$VENV/bin/aodh" ]; then
    return 0
  fi
  "$VENV/bin/pip" install -q -U pip wheel setuptools >"$PEERS/aodh-api-pip.log" 2>&1 \
    || { tail -30 "$PEERS/aodh-api-pip.log" >&2; die "pip upgrade failed"; }
  "$VENV/bin/pip" install -q "${PINS[@]}" >>"$PEERS/aodh-api-pip.log" 2>&1 \
    || { tail -30 "$PEERS/aodh-api-pip.log" >&2; die "pip install failed"; }
  "$VENV/bin/python" -c 'import aodh, aodhclient, sqlalchemy' || die "venv $VENV incomplete"
  echo "${PINS[*]}" > "$VENV/.installed"
}


logs_tail() {
  local D="$1" f
  for f in "$D/dbsync.log" "$D/api.log"; do
    [ -s "$f" ] && { echo "--- tail $f" >&2; tail -25 "$f" >&2; }
  done
  return 0
}

start() {
  local D="$1" PORT="$2"
  [ -x "$VENV/bin/aodh-api" ] || die "not installed: run '$0 install' first"
  mkdir -p "$D"; D="$(cd "$D" && pwd)"
  mkdir -p "$D/pids" "$D/locks"
  if alive "$D/pids/aodh-api"; then die "already running in $D (pid $(cat "$D/pids/aodh-api"))"; fi
  cat > "$D/aodh.conf" <<EOF
[DEFAULT]
debug = false
[api]
auth_mode = noauth
[database]
connection = sqlite:///$D/aodh.sqlite
[coordination]
backend_url = file://$D/locks
EOF
  "$VENV/bin/aodh-dbsync" --config-file "$D/aodh.conf" >"$D/dbsync.log" 2>&1 \
    || { logs_tail "$D"; die "aodh-dbsync failed"; }
  # WAL (persistent in the file): aodh-api leaves read transactions open on unconsumed
  # result generators (e.g. lists with limit); in rollback-journal mode their SHARED lock
  # makes the next write fail after 5 s with "database is locked".
  "$VENV/bin/python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("pragma journal_mode=wal").fetchall()' \
    "$D/aodh.sqlite" || die "cannot set WAL on $D/aodh.sqlite"
  # setsid: the server leads its own process group, so stop reaches anything it forks.
  setsid "$VENV/bin/aodh-api" --host 127.0.0.1 --port "$PORT" -- --config-file "$D/aodh.conf" \
    >"$D/api.log" 2>&1 </dev/null &
  echo $! > "$D/pids/aodh-api"
  local code=000
  for _ in $(seq 1 120); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'X-User-Id: u' -H 'X-Project-Id: p' \
      -H 'X-Roles: admin' "http://127.0.0.1:$PORT/v2/capabilities" || true)"
    [ "$code" = 200 ] && return 0
    alive "$D/pids/aodh-api" || break
    sleep 0.25
  done
  logs_tail "$D"
  die "GET http://127.0.0.1:$PORT/v2/capabilities did not answer 200 (last: $code)"
}


stop() {
  local D="$1"
  [ -d "$D" ] || return 0
  D="$(cd "$D" && pwd)"
  killgroup "$D/pids/aodh-api"
}

status() {
  local D="$1"
  alive "$D/pids/aodh-api" && echo "aodh-api running pid $(cat "$D/pids/aodh-api")" || echo "aodh-api stopped"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  status) [ $# -eq 2 ] || die "usage: $0 status DIR"; status "$2" ;;
  venv) echo "$VENV" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR | status DIR | venv" >&2; exit 2 ;;
esac
