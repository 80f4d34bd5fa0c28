#!/usr/bin/env bash
# The real OpenStack Aodh clients (aodhclient, python-openstackclient) and a real SMTP
# server (aiosmtpd), from PyPI, in one venv: the peers of tests/alarms_e2e.rs.
# No Aodh server: Altimeter serves the Aodh v2 API itself.
#
#   aodh-client.sh [install]    venv $ALTIMETER_PEERS/aodh-client-venv with pinned versions, then
#                               prints the venv path (its bin/ holds aodh, openstack, python
#                               with aiosmtpd). Idempotent; a few hundred ms when everything
#                               is there. Needs python3-venv and PyPI for the first install.
#   aodh-client.sh venv         prints the venv path only.
#
# Using the clients without Keystone (shared/research/peers.md §6), with the aodh-noauth
# plugin that sends X-User-Id / X-Project-Id / X-Roles:
#   PYTHONWARNINGS=ignore aodh --os-auth-type aodh-noauth --aodh-endpoint URL \
#       --user-id U --project-id P --roles admin alarm list
#   PYTHONWARNINGS=ignore openstack --os-auth-type aodh-noauth --os-aodh-endpoint URL \
#       --os-user-id U --os-project-id P --os-roles admin alarm list   (--os-roles is mandatory)
# SMTP sink (§7): python -m aiosmtpd -n -l 127.0.0.1:PORT -c aiosmtpd.handlers.Mailbox MAILDIR
#
# Environment: ALTIMETER_PEERS (default /var/tmp/altimeter-peers).
#
# The venv is not $ALTIMETER_PEERS/aodh-venv: that one is bench/alarms.sh's Aodh *server*
# venv with other pins and its own .installed marker; sharing it would make each script
# reinstall over the other (and upgrade pip/setuptools under the other's running daemons).
set -euo pipefail
PEERS="${ALTIMETER_PEERS:-/var/tmp/altimeter-peers}"
VENV="$PEERS/aodh-client-venv"
export PYTHONWARNINGS=ignore

# Versions known to work together (shared/research/peers.md, "Versions").
PINS=(
  "aodhclient==3.12.0" "python-openstackclient==10.5.0" "keystoneauth1==5.18.1" "aiosmtpd==1.4.6"
)

die() { echo "aodh-client.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$PEERS"
  # tests run in parallel processes: one installer at a time (the same lock as gnocchi.sh)
  exec 9>"$PEERS/.install.lock"
  flock 9
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "${PINS[*]}" ] \
     && [ -x "$VENV/bin/aodh" ] && [ -x "$VENV/bin/openstack" ] && [ -x "$VENV/bin/python" ]; then
    return 0
  fi
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null \
      || die "apt-get install python3-venv failed"
  fi
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
  local log="$PEERS/aodh-client-pip.log"
  "$VENV/bin/pip" install -q -U pip wheel setuptools >"$log" 2>&1 || { tail -30 "$log" >&2; die "pip upgrade failed"; }
  "$VENV/bin/pip" install -q "${PINS[@]}" >>"$log" 2>&1 || { tail -30 "$log" >&2; die "pip install ${PINS[*]} failed"; }
  "$VENV/bin/python" -c 'import aodhclient, openstackclient, aiosmtpd, aiosmtpd.handlers' \
    || die "venv $VENV incomplete"
  # the entry points the tests run
  "$VENV/bin/aodh" --help >/dev/null 2>&1 || die "$VENV/bin/aodh --help failed"
  "$VENV/bin/openstack" alarm --help >/dev/null 2>&1 || die "$VENV/bin/openstack alarm --help failed (aodhclient plugin not loaded)"
  echo "${PINS[*]}" > "$VENV/.installed"
}

case "${1:-install}" in
  install) install; echo "$VENV" ;;
  venv) echo "$VENV" ;;
  *) echo "usage: $0 [install] | venv" >&2; exit 2 ;;
esac
