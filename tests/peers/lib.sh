# Shared by the tests/peers/*.sh scripts (sourced).

# alive PIDFILE: the process recorded there is running.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# killgroup PIDFILE: TERM, then KILL, the process group the daemon leads
# (started with setsid: a master and its workers), and forget the pid file.
killgroup() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$f"
}
