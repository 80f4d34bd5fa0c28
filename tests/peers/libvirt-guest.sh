#!/usr/bin/env bash
# A real (TCG-emulated) libvirt/QEMU guest, built from Debian packages only, so the agent
# and `virsh domstats` see real cpu/balloon/vcpu/net/block counters. Used by
# tests/agent_libvirt.rs; adapted from the peers/libvirt-guest.sh research script.
#
#   libvirt-guest.sh install     apt: libvirt-daemon(-system) libvirt-clients qemu-system-x86
#                                busybox-static linux-image-amd64 cpio (only what is missing)
#   libvirt-guest.sh build       kernel + busybox initramfs + 16 MiB disk into $GUEST_DIR
#   libvirt-guest.sh start       virtlogd + libvirtd (no systemd here) unless already running,
#                                define + start domain $GUEST_NAME, wait for BOOTED-OK
#   libvirt-guest.sh stop-guest  destroy + undefine the domain; daemons keep running
#   libvirt-guest.sh stop        stop-guest, then stop the libvirtd/virtlogd this script started
#   libvirt-guest.sh status
#   libvirt-guest.sh domstats    virsh -c qemu:///system domstats $GUEST_NAME
#
# Environment: GUEST_NAME (default tiny), GUEST_TAP (host tap, at most 15 characters,
# default tiny0), GUEST_DIR (kernel, initramfs, disk, serial log), LIBVIRT_RUN_DIR (pid
# files and logs of the daemons this script starts, and the domain XML).
#
# Daemons: a libvirtd or virtlogd already running (its /run/<daemon>.pid names a live
# process) is used and never stopped; one this script starts is recorded in
# $LIBVIRT_RUN_DIR/<daemon>.pid, and only those are stopped by `stop`.
#
# Why TCG: /dev/kvm exists and KVM_CREATE_VM works, but a Linux guest under accel=kvm
# hangs right after the kernel decompressor (nested virt in this Firecracker VM).
# Network: <interface type='ethernet'> = a host tap (GUEST_TAP) with no IP, no bridge,
# no forwarding, created and removed by libvirt with the domain. The guest has no IPv4
# config; it only pings ff02::1 (link-local multicast), which reaches nothing but this
# tap. Nothing leaves the machine. libvirtd listens on its unix sockets only (no
# --listen), so no TCP port is opened.
set -euo pipefail
NAME="${GUEST_NAME:-tiny}"
GDIR="${GUEST_DIR:-/tmp/peers/guest}"
RUN="${LIBVIRT_RUN_DIR:-/tmp/peers/run/libvirt}"
TAP="${GUEST_TAP:-tiny0}"
URI=qemu:///system
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover net_failover virtio_net virtio_balloon"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install() {
  local need=()
  for p in libvirt-daemon libvirt-daemon-system libvirt-clients qemu-system-x86 busybox-static linux-image-amd64 cpio; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  apt-get update -q >/dev/null
  # policy-rc.d on this machine (exit 101) keeps apt from starting the daemons.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
}

build() {
  install
  local kver root
  kver="$(ls /boot/vmlinuz-* | sed 's|/boot/vmlinuz-||' | sort -V | tail -1)"
  mkdir -p "$GDIR"
  if [ -f "$GDIR/initrd.img" ] && [ -f "$GDIR/vmlinuz" ] && [ -f "$GDIR/disk.img" ]; then
    echo "guest already built in $GDIR"; return 0; fi
  root="$(mktemp -d)"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
  cp /bin/busybox "$root/bin/busybox"
  for m in $MODS; do
    f="$(modinfo -k "$kver" -n "$m")"
    case "$f" in
      *.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
      *.ko.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
      *) echo "module $m not found for $kver" >&2; rm -rf "$root"; return 1 ;;
    esac
  done
  cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $MODS; do insmod /lib/modules/\$m.ko 2>/dev/null; done
ip link set lo up
ip link set eth0 up 2>/dev/null
echo "BOOTED-OK uptime=\$(cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0
i=0
while true; do
  i=\$((i+1))
  [ -b /dev/vda ] && dd if=/dev/vda of=/dev/null bs=64k count=64 2>/dev/null
  [ -b /dev/vda ] && dd if=/dev/zero of=/dev/vda bs=64k count=16 seek=128 conv=fsync 2>/dev/null
  ping6 -c 2 -w 2 -I eth0 ff02::1 >/dev/null 2>&1
  n=0; while [ \$n -lt 20000 ]; do n=\$((n+1)); done
  echo "tick \$i" > /dev/ttyS0
  sleep 2
done
EOF
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$GDIR/initrd.img"
  rm -rf "$root"
  cp "/boot/vmlinuz-$kver" "$GDIR/vmlinuz"
  truncate -s 16M "$GDIR/disk.img"
  chmod 755 "$GDIR"; chmod 644 "$GDIR"/*
  # libvirt-qemu (the qemu process user) must be able to traverse to the files
  d="$GDIR"; while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  echo "built $GDIR (kernel $kver, initrd $(stat -c %s "$GDIR/initrd.img") bytes)"
}

# A daemon counts as running if our pid file or the system one (/run/<d>.pid) names a
# live process.
running() { alive "$RUN/$1.pid" || alive "/run/$1.pid"; }

daemons() {
  mkdir -p "$RUN"
  for d in virtlogd libvirtd; do
    if alive "$RUN/$d.pid"; then
      echo "$d: running (started by this script, pid $(cat "$RUN/$d.pid"))"
    elif alive "/run/$d.pid"; then
      echo "$d: already running (pid $(cat "/run/$d.pid")); not ours, left running"
    else
      setsid "$d" >"$RUN/$d.log" 2>&1 </dev/null & echo $! > "$RUN/$d.pid"
      echo "$d: started (pid $(cat "$RUN/$d.pid"), log $RUN/$d.log)"
    fi
  done
  for _ in $(seq 1 50); do virsh -c "$URI" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "libvirtd did not come up; $RUN/libvirtd.log:" >&2
  tail -n 40 "$RUN/libvirtd.log" >&2 2>/dev/null || true
  return 1
}

xml() {
  cat <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$GDIR/vmlinuz</kernel>
    <initrd>$GDIR/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$GDIR/disk.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <target dev='$TAP'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$GDIR/serial-$NAME.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='virtio'>
      <stats period='5'/>
    </memballoon>
  </devices>
</domain>
EOF
}

start() {
  build
  daemons
  if [ "$(virsh -c "$URI" domstate "$NAME" 2>/dev/null | head -1)" = running ]; then
    echo "domain $NAME already running"; return 0; fi
  virsh -c "$URI" undefine "$NAME" >/dev/null 2>&1 || true
  rm -f "$GDIR/serial-$NAME.log"
  xml > "$RUN/$NAME.xml"
  virsh -c "$URI" define "$RUN/$NAME.xml" >/dev/null
  t0=$(date +%s.%N)
  if ! virsh -c "$URI" start "$NAME" >/dev/null; then
    echo "virsh start $NAME failed; libvirtd log:" >&2
    tail -n 40 "$RUN/libvirtd.log" >&2 2>/dev/null || true
    tail -n 40 "/var/log/libvirt/qemu/$NAME.log" >&2 2>/dev/null || true
    return 1
  fi
  for _ in $(seq 1 600); do grep -aq BOOTED-OK "$GDIR/serial-$NAME.log" 2>/dev/null && break; sleep 0.1; done
  t1=$(date +%s.%N)
  if grep -aq BOOTED-OK "$GDIR/serial-$NAME.log" 2>/dev/null; then
    echo "domain $NAME booted: virsh start -> BOOTED-OK in $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s ($(grep -a BOOTED "$GDIR/serial-$NAME.log" | tr -d '\r'))"
  else
    echo "domain $NAME did not print BOOTED-OK within 60 s; serial log:" >&2
    tail -c 2000 "$GDIR/serial-$NAME.log" >&2 2>/dev/null || true
    tail -n 40 "/var/log/libvirt/qemu/$NAME.log" >&2 2>/dev/null || true
    return 1
  fi
}

# Destroys and undefines the domain (libvirt removes its tap and cgroup with it).
stop_guest() {
  if virsh -c "$URI" version >/dev/null 2>&1; then
    virsh -c "$URI" destroy "$NAME" >/dev/null 2>&1 || true
    virsh -c "$URI" undefine "$NAME" >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/$NAME.xml" "/var/log/libvirt/qemu/$NAME.log"*
  if virsh -c "$URI" dominfo "$NAME" >/dev/null 2>&1; then
    echo "domain $NAME is still defined" >&2; return 1; fi
  if [ -e "/sys/class/net/$TAP" ]; then
    echo "tap $TAP is still there" >&2; return 1; fi
  echo "domain $NAME destroyed and undefined"
}

stop() {
  stop_guest || true
  local ours=""
  for d in libvirtd virtlogd; do
    if alive "$RUN/$d.pid"; then
      pid="$(cat "$RUN/$d.pid")"; kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      echo "$d stopped (pid $pid)"
      ours="$ours $d"
    fi
    rm -f "$RUN/$d.pid"
  done
  # The libvirtd we started created an empty "machine" cgroup in every hierarchy; remove
  # the empty ones (rmdir fails on a cgroup that still has tasks or children, which is
  # then kept). A libvirtd we did not start keeps its cgroups.
  case "$ours" in *libvirtd*)
    for d in /sys/fs/cgroup/*/machine/*/ /sys/fs/cgroup/*/machine/; do rmdir "$d" 2>/dev/null || true; done ;;
  esac
}

status() {
  for d in libvirtd virtlogd; do
    if alive "$RUN/$d.pid"; then echo "$d running pid $(cat "$RUN/$d.pid") (ours)"
    elif alive "/run/$d.pid"; then echo "$d running pid $(cat "/run/$d.pid") (not ours)"
    else echo "$d stopped"; fi
  done
  running libvirtd && virsh -c "$URI" list --all
}

case "${1:-}" in
  install) install ;;
  build) build ;;
  start) start ;;
  stop-guest) stop_guest ;;
  stop) stop ;;
  status) status ;;
  domstats) virsh -c "$URI" domstats "$NAME" ;;
  *) echo "usage: $0 install|build|start|stop-guest|stop|status|domstats" >&2; exit 2 ;;
esac
