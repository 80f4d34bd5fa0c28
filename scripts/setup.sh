#!/usr/bin/env bash
# Installs what building, running and testing Altimeter needs on a fresh
# Debian 12 machine (as root). Idempotent: re-running only checks.
#   scripts/setup.sh          build tools only (for `altimeter all-in-one`)
#   scripts/setup.sh test     + test peers: Prometheus 2.42 (promtool), Python deps
#   scripts/setup.sh bench    + VictoriaMetrics 1.79 for side-by-side benchmarks
set -euo pipefail
what="${1:-run}"
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# The agent links libvirt (the `virt` crate builds against libvirt.pc).
pkg-config --exists libvirt 2>/dev/null || need_apt+=(libvirt-dev)
if [ "$what" = test ] || [ "$what" = bench ]; then
  command -v promtool >/dev/null || need_apt+=(prometheus)
  python3 -c 'import cramjam' 2>/dev/null || pip_need=1
  # A real libvirt/QEMU guest for the agent's integration test, and the
  # exporters the agent is compared with.
  for p in libvirt-daemon libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu \
           qemu-system-x86 busybox-static linux-image-amd64 cpio \
           prometheus-node-exporter prometheus-libvirt-exporter; do
    dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
  done
fi
if [ "$what" = bench ]; then
  command -v victoria-metrics >/dev/null || need_apt+=(victoria-metrics)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if [ "${pip_need:-0}" = 1 ]; then
  echo "setup: pip install cramjam" >&2
  python3 -m pip install -q cramjam
fi
if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi
if [ "$what" = test ] && ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: cargo install cargo-nextest" >&2
  cargo install --locked cargo-nextest >/dev/null
fi
