#!/usr/bin/env bash
# A real OpenStack Gnocchi 4.7.1 (from PyPI) on loopback, the reference peer of
# tests/gnocchi_compat.rs, tests/gnocchi/compare.py and bench/gnocchi.sh.
# Adapted from shared/peers/openstack-telemetry.sh (Gnocchi part only: no Aodh, no RabbitMQ).
#
#   gnocchi.sh install          apt: postgresql libpq-dev gcc (only what is missing);
#                               venv $ALTIMETER_PEERS/gnocchi-venv with pinned versions.
#                               Idempotent; a few hundred ms when everything is there.
#   gnocchi.sh start DIR PORT   private PostgreSQL cluster in DIR/pg on a free loopback port,
#                               DIR/gnocchi.conf (auth_mode=basic, file storage in DIR/storage),
#                               gnocchi-upgrade, gnocchi-api on 127.0.0.1:PORT, gnocchi-metricd
#                               (workers=2, metric_processing_delay=$GNOCCHI_PROCESSING_DELAY,
#                               default 1 s). Waits until GET /v1/status answers 200 (it answers
#                               500 until metricd has joined its coordination group).
#                               Prints nothing unless something fails (then the logs' tails).
#   gnocchi.sh stop DIR         stops what `start DIR` started, by the PIDs it recorded in
#                               DIR/pids (each process group: uwsgi and metricd fork workers),
#                               then PostgreSQL (pg_ctl -m fast). Leaves no process.
#   gnocchi.sh status DIR
#   gnocchi.sh venv             prints the venv path (its bin/ holds gnocchi, openstack).
#
# Environment: ALTIMETER_PEERS (default /var/tmp/altimeter-peers),
#              GNOCCHI_PROCESSING_DELAY (metricd metric_processing_delay, seconds, default 1;
#              Gnocchi's own default is 60; bench/gnocchi.sh uses 5).
#
# Pitfalls (shared/research/peers.md §6): gnocchi-api execs uwsgi with --chdir /, so the
# config path must be absolute; SQLAlchemy 2.1 maps postgresql:// to psycopg v3 (installed);
# `gnocchi[postgresql]` builds psycopg2 from source (libpq-dev + gcc) and brings
# sqlalchemy-utils; every CLI prints an eventlet warning unless PYTHONWARNINGS=ignore;
# policy-rc.d (exit 101) keeps apt from starting the system PostgreSQL, which stays down.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PEERS="${ALTIMETER_PEERS:-/var/tmp/altimeter-peers}"
VENV="$PEERS/gnocchi-venv"
PGBIN=/usr/lib/postgresql/15/bin
DELAY="${GNOCCHI_PROCESSING_DELAY:-1}"
export PYTHONWARNINGS=ignore

# Versions known to work together (shared/research/peers.md, "Versions").
PINS=(
  "gnocchi[postgresql,prometheus]==4.7.1" "gnocchiclient==7.2.0" "python-openstackclient==10.5.0"
  "uwsgi==2.0.31" "psycopg[binary]==3.3.9" "psycopg2==2.9.13" "SQLAlchemy==2.1.9"
  "keystoneauth1==5.18.1"
)

die() { echo "gnocchi.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$PEERS"
  # tests run in parallel processes: one installer at a time
  exec 9>"$PEERS/.install.lock"
  flock 9
  local need=()
  for p in postgresql libpq-dev gcc; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
      || die "apt-get install ${need[*]} failed"
  fi
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "${PINS[*]}" ] \
     && [ -x "$VENV/bin/uwsgi" ] && [ -x "$VENV/bin/gnocchi-api" ] && [ -x "$VENV/bin/openstack" ]; then
    return 0
  fi
  "$VENV/bin/pip" install -q -U pip wheel setuptools >"$PEERS/pip.log" 2>&1 || { tail -30 "$PEERS/pip.log" >&2; die "pip upgrade failed"; }
  "$VENV/bin/pip" install -q "${PINS[@]}" >>"$PEERS/pip.log" 2>&1 || { tail -30 "$PEERS/pip.log" >&2; die "pip install failed"; }
  "$VENV/bin/python" -c 'import gnocchi, gnocchiclient, openstackclient, sqlalchemy_utils, psycopg, psycopg2' \
    || die "venv $VENV incomplete"
  echo "${PINS[*]}" > "$VENV/.installed"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The postgres user must reach DIR/pg: add search permission (o+x) to DIR and to any
# ancestor that lacks it (a tempfile::tempdir() is 0700).
let_postgres_in() {
  local d="$1"
  while [ "$d" != / ] && [ -n "$d" ]; do
    runuser -u postgres -- test -x "$d" 2>/dev/null || chmod o+x "$d"
    d="$(dirname "$d")"
  done
}

logs_tail() {
  local D="$1" f
  for f in "$D/pg/pg.log" "$D/upgrade.log" "$D/api.log" "$D/metricd.log"; do
    [ -s "$f" ] && { echo "--- tail $f" >&2; tail -25 "$f" >&2; }
  done
  return 0
}

start() {
  local D="$1" PORT="$2"
  [ -x "$VENV/bin/gnocchi-api" ] || die "not installed: run '$0 install' first"
  mkdir -p "$D"; D="$(cd "$D" && pwd)"   # absolute: uwsgi runs with --chdir /
  mkdir -p "$D/pids" "$D/storage" "$D/locks"
  if alive "$D/pids/gnocchi-api"; then die "already running in $D (pid $(cat "$D/pids/gnocchi-api"))"; fi
  let_postgres_in "$D"
  local PGPORT
  if [ ! -f "$D/pg/data/PG_VERSION" ]; then
    mkdir -p "$D/pg"; chown postgres:postgres "$D/pg"; chmod 700 "$D/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$D/pg/data" -A trust -U postgres >"$D/pg/initdb.log" 2>&1 \
      || { cat "$D/pg/initdb.log" >&2; die "initdb failed"; }
  fi
  PGPORT="$(free_port)"; echo "$PGPORT" > "$D/pg/port"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/pg/data" -l "$D/pg/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $D/pg -c max_connections=200 -c fsync=off" start >/dev/null \
    || { logs_tail "$D"; die "PostgreSQL did not start"; }
  local P=(runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qtA)
  [ "$("${P[@]}" -c "select 1 from pg_roles where rolname='gnocchi'")" = 1 ] || "${P[@]}" -c "create user gnocchi password 'gnocchi'" >/dev/null
  [ "$("${P[@]}" -c "select 1 from pg_database where datname='gnocchi'")" = 1 ] || "${P[@]}" -c "create database gnocchi owner gnocchi" >/dev/null
  cat > "$D/gnocchi.conf" <<EOF
[DEFAULT]
debug = false
coordination_url = file://$D/locks
[api]
auth_mode = basic
host = 127.0.0.1
port = $PORT
uwsgi_mode = http
[indexer]
url = postgresql://gnocchi:gnocchi@127.0.0.1:$PGPORT/gnocchi
[storage]
driver = file
file_basepath = $D/storage
[metricd]
workers = 2
metric_processing_delay = $DELAY
EOF
  "$VENV/bin/gnocchi-upgrade" --config-file "$D/gnocchi.conf" >"$D/upgrade.log" 2>&1 \
    || { logs_tail "$D"; die "gnocchi-upgrade failed"; }
  # setsid: each daemon leads its own process group, so stop reaches the forked workers too.
  setsid env VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/gnocchi-api" --config-file "$D/gnocchi.conf" >"$D/api.log" 2>&1 </dev/null &
  echo $! > "$D/pids/gnocchi-api"
  setsid "$VENV/bin/gnocchi-metricd" --config-file "$D/gnocchi.conf" >"$D/metricd.log" 2>&1 </dev/null &
  echo $! > "$D/pids/gnocchi-metricd"
  local code=000
  for _ in $(seq 1 240); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 5 -u admin: "http://127.0.0.1:$PORT/v1/status" || true)"
    [ "$code" = 200 ] && return 0
    alive "$D/pids/gnocchi-api" || break
    alive "$D/pids/gnocchi-metricd" || break
    sleep 0.5
  done
  logs_tail "$D"
  die "GET http://127.0.0.1:$PORT/v1/status did not answer 200 (last: $code)"
}


stop() {
  local D="$1"
  [ -d "$D" ] || return 0
  D="$(cd "$D" && pwd)"
  killgroup "$D/pids/gnocchi-metricd"
  killgroup "$D/pids/gnocchi-api"
  if [ -f "$D/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1 || {
      local pp; pp="$(head -1 "$D/pg/data/postmaster.pid" 2>/dev/null || true)"
      [ -n "$pp" ] && kill -KILL "$pp" 2>/dev/null || true
    }
  fi
}

status() {
  local D="$1" n
  for n in gnocchi-api gnocchi-metricd; do
    alive "$D/pids/$n" && echo "$n running pid $(cat "$D/pids/$n")" || echo "$n stopped"
  done
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/pg/data" status 2>/dev/null | head -1 || echo "postgresql stopped"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  status) [ $# -eq 2 ] || die "usage: $0 status DIR"; status "$2" ;;
  venv) echo "$VENV" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR | status DIR | venv" >&2; exit 2 ;;
esac
