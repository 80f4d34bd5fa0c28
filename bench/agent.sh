#!/usr/bin/env bash
# Side-by-side collector CPU benchmark, one run on this machine:
#   altimeter agent  vs  prometheus-node-exporter 1.5 + prometheus-libvirt-exporter 0.2
# on the same host and the same real TCG guests (tests/peers/libvirt-guest.sh),
# all three scraped by one Prometheus 2.42 at the same interval. The agent also
# ships every poll by remote-write to an Altimeter server, so its figure
# includes shipping and spooling, which the exporters do not do.
#
# node-exporter runs the collectors the agent's host pollster implements
# (cpu, stat, meminfo, loadavg, diskstats, netdev, filesystem, pressure,
# vmstat, uname), so both sides expose the same host series; the agent adds
# cgroup series on top. Reports CPU time (utime+stime from /proc) per poll
# cycle and series counts, and appends a section to BENCHMARKS.md.
#
# Usage: bench/agent.sh [--no-record]   env: GUESTS (2), SECONDS_RUN (240), INTERVAL (10)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/altimeter-target}"
GUESTS="${GUESTS:-2}"
RUN_S="${SECONDS_RUN:-240}"
INTERVAL="${INTERVAL:-10}"
scripts/setup.sh bench
cargo build --release --locked --bin altimeter
BIN="$CARGO_TARGET_DIR/release/altimeter"
TMP="$(mktemp -d /var/tmp/altimeter-agentbench.XXXXXX)"
NE_PORT=19100 LE_PORT=19177 AG_PORT=19101 ALT_PORT=18041 PROM_PORT=19090
GUEST_NAMES=()
for i in $(seq 1 "$GUESTS"); do GUEST_NAMES+=("bench$i"); done

cleanup() {
  for f in "$TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  for g in "${GUEST_NAMES[@]}"; do
    GUEST_NAME=$g GUEST_TAP="${g}t" GUEST_DIR="$TMP/guest-$g" tests/peers/libvirt-guest.sh stop-guest >/dev/null 2>&1 || true
  done
  # Stops libvirtd/virtlogd only if the script started them.
  tests/peers/libvirt-guest.sh stop >/dev/null 2>&1 || true
  sleep 1
  rm -rf "$TMP"
}
trap cleanup EXIT

spawn() { # name cmd...
  local n="$1"; shift
  setsid "$@" >"$TMP/$n.log" 2>&1 </dev/null &
  echo $! >"$TMP/$n.pid"
}

for g in "${GUEST_NAMES[@]}"; do
  GUEST_NAME=$g GUEST_TAP="${g}t" GUEST_DIR="$TMP/guest-$g" tests/peers/libvirt-guest.sh start
done

spawn altimeter "$BIN" serve --data-dir "$TMP/alt" --listen "127.0.0.1:$ALT_PORT"
spawn node-exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" \
  --collector.disable-defaults --collector.cpu --collector.stat --collector.meminfo \
  --collector.loadavg --collector.diskstats --collector.netdev --collector.filesystem \
  --collector.pressure --collector.vmstat --collector.uname \
  --collector.filesystem.mount-points-exclude='^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)' \
  --collector.netdev.device-exclude='^$'
spawn libvirt-exporter prometheus-libvirt-exporter --web.listen-address="127.0.0.1:$LE_PORT" \
  --libvirt.uri=qemu:///system
spawn agent "$BIN" agent --listen "127.0.0.1:$AG_PORT" --libvirt-uri qemu:///system \
  --interval "${INTERVAL}s" --spool-dir "$TMP/spool" \
  --remote-write "http://127.0.0.1:$ALT_PORT/api/v1/write"
for port in $ALT_PORT $NE_PORT $LE_PORT $AG_PORT; do
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.2; done
done

mkdir -p "$TMP/prom"
cat >"$TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: ${INTERVAL}s
  scrape_timeout: ${INTERVAL}s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$NE_PORT']}]
  - job_name: libvirt
    static_configs: [{targets: ['127.0.0.1:$LE_PORT']}]
  - job_name: altimeter-agent
    static_configs: [{targets: ['127.0.0.1:$AG_PORT']}]
EOF
spawn prometheus prometheus --config.file="$TMP/prom/prometheus.yml" \
  --storage.tsdb.path="$TMP/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT"

echo "warming up 30 s (guests booted, first scrapes)"
sleep 30
python3 - "$TMP" "$RUN_S" "$INTERVAL" "$NE_PORT" "$LE_PORT" "$AG_PORT" "$PROM_PORT" "${1:-}" <<'PY'
import json, os, sys, time, urllib.request
tmp, run_s, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ne, le, ag, prom = sys.argv[4:8]
record = sys.argv[8] != "--no-record"
hz = os.sysconf("SC_CLK_TCK")
def pid(n): return int(open(f"{tmp}/{n}.pid").read())
def cpu(n):
    f = open(f"/proc/{pid(n)}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz   # utime + stime
def rss(n):
    for l in open(f"/proc/{pid(n)}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) / 1024
names = ["agent", "node-exporter", "libvirt-exporter"]
c0 = {n: cpu(n) for n in names}
t0 = time.time()
time.sleep(run_s)
c1 = {n: cpu(n) for n in names}
el = time.time() - t0
cycles = el / interval
def series(port, prefixes):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    return sum(1 for l in body.splitlines() if l and not l.startswith("#") and l.startswith(prefixes))
s_agent_host = series(ag, ("node_",))
s_agent_guest = series(ag, ("instance_",))
s_agent_cg = series(ag, ("cgroup_",))
s_ne = series(ne, ("node_",)) - series(ne, ("node_scrape_collector", "node_exporter_build_info"))
s_le = series(le, ("libvirt_",))
up = json.load(urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/query?query=up"))
ups = {r["metric"]["job"]: r["value"][1] for r in up["data"]["result"]}
ms = {n: (c1[n] - c0[n]) / cycles * 1000 for n in names}
peer = ms["node-exporter"] + ms["libvirt-exporter"]
ratio = ms["agent"] / peer if peer else float("nan")
lines = [
  f"| process | CPU ms per {interval} s cycle | RSS MiB | series |",
  "|---|---|---|---|",
  f"| altimeter agent (poll + /metrics + remote-write + spool) | {ms['agent']:.2f} | {rss('agent'):.0f} | {s_agent_host} host + {s_agent_guest} guest + {s_agent_cg} cgroup = {s_agent_host+s_agent_guest+s_agent_cg} |",
  f"| node-exporter 1.5 (same collectors) | {ms['node-exporter']:.2f} | {rss('node-exporter'):.0f} | {s_ne} |",
  f"| libvirt-exporter 0.2 | {ms['libvirt-exporter']:.2f} | {rss('libvirt-exporter'):.0f} | {s_le} |",
  f"| **exporters combined** | {peer:.2f} | | {s_ne + s_le} |",
]
print("\n".join(lines))
print(f"agent / exporters CPU: {ratio:.3f}x over {cycles:.0f} cycles; Prometheus up: {ups}")
out = {"ratio": ratio, "ms": ms, "cycles": cycles, "table": lines, "up": ups,
       "series": {"agent": s_agent_host + s_agent_guest + s_agent_cg, "exporters": s_ne + s_le}}
json.dump(out, open(f"{tmp}/result.json", "w"))
PY
if [ "${1:-}" != "--no-record" ]; then
  python3 - "$TMP/result.json" "$GUESTS" "$RUN_S" "$INTERVAL" >> BENCHMARKS.md <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"\n### Collector agent CPU, run at {rev} (`bench/agent.sh`)\n")
print(f"{sys.argv[2]} real TCG guests, {sys.argv[3]} s measured after a 30 s warm-up, every target scraped by Prometheus 2.42 every {sys.argv[4]} s; the agent also polls on its own {sys.argv[4]} s interval and remote-writes every poll to an Altimeter server.\n")
print("\n".join(r["table"]))
print(f"\n**Agent / exporters CPU: {r['ratio']:.3f}×** over {r['cycles']:.0f} cycles; the agent exposed {r['series']['agent']} series against the exporters' {r['series']['exporters']}. Prometheus `up`: {r['up']}.")
PY
  echo "appended to BENCHMARKS.md"
fi
