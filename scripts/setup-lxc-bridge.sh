#!/usr/bin/env bash
# Prepares this machine, as root, for --net=lxc-user-nic and its end-to-end tests. Idempotent:
# every step checks first and changes only what is missing.
#   1. packages: liblxc-common (the setuid /usr/libexec/lxc/lxc-user-nic) and dnsmasq-base (the
#      dnsmasq binary without a system service that would start on every interface);
#   2. a bridge $LXC_BRIDGE (default lxcbr0) with the address $LXC_BRIDGE_ADDR (default
#      10.0.3.1/24), up;
#   3. dnsmasq serving DHCP on that bridge only: no upstream DNS, no /etc/hosts, the bridge
#      address as the DNS server it announces; a short renewal time (T1) so that tests see lease
#      renewals within seconds; pid file $LXC_DNSMASQ_PID, leases in $LXC_STATE_DIR;
#   4. the /etc/lxc/lxc-usernet line that lets the test user attach veth devices to the bridge.
# The bridge has no uplink and no NAT: a namespace on it reaches the bridge address and nothing
# else.
set -euo pipefail

TEST_USER="${ROOTLESSKIT_TEST_USER:-rktest}"
LXC_BRIDGE="${LXC_BRIDGE:-lxcbr0}"
LXC_BRIDGE_ADDR="${LXC_BRIDGE_ADDR:-10.0.3.1/24}"
LXC_DHCP_RANGE="${LXC_DHCP_RANGE:-10.0.3.100,10.0.3.199}"
LXC_LEASE_TIME="${LXC_LEASE_TIME:-2m}"  # dnsmasq's minimum
LXC_RENEW_SECONDS="${LXC_RENEW_SECONDS:-5}"
LXC_USERNET_COUNT="${LXC_USERNET_COUNT:-16}"
LXC_STATE_DIR="${LXC_STATE_DIR:-/var/lib/rootlesskit-lxc}"
LXC_DNSMASQ_PID="${LXC_DNSMASQ_PID:-/run/rootlesskit-lxc-dnsmasq.pid}"
USERNET=/etc/lxc/lxc-usernet

log() { printf 'setup-lxc-bridge: %s\n' "$*"; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-lxc-bridge: run this as root (it creates a bridge and starts dnsmasq)" >&2
    exit 1
  fi
}

install_packages() {
  local missing=() pkg
  for pkg in liblxc-common dnsmasq-base iproute2; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_bridge() {
  if ! ip link show "$LXC_BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $LXC_BRIDGE"
    ip link add "$LXC_BRIDGE" type bridge
  fi
  if ! ip -4 -o addr show dev "$LXC_BRIDGE" | grep -q " ${LXC_BRIDGE_ADDR} "; then
    log "adding $LXC_BRIDGE_ADDR to $LXC_BRIDGE"
    ip addr add "$LXC_BRIDGE_ADDR" dev "$LXC_BRIDGE"
  fi
  ip link set "$LXC_BRIDGE" up
}

dnsmasq_running() {
  local pid
  [ -r "$LXC_DNSMASQ_PID" ] || return 1
  pid=$(cat "$LXC_DNSMASQ_PID")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dnsmasq ]
}

# DNS: dnsmasq answers on the bridge address from nothing but its own (empty) data: no
# resolv.conf, no upstream server, no /etc/hosts. T1/T2 override the renewal times it would
# derive from the lease (half and seven eighths of it).
start_dnsmasq() {
  if dnsmasq_running; then
    log "dnsmasq already serves $LXC_BRIDGE (pid $(cat "$LXC_DNSMASQ_PID"))"
    return
  fi
  local address=${LXC_BRIDGE_ADDR%/*}
  mkdir -p "$LXC_STATE_DIR"
  log "starting dnsmasq on $LXC_BRIDGE ($LXC_DHCP_RANGE, lease $LXC_LEASE_TIME)"
  dnsmasq --conf-file=/dev/null --pid-file="$LXC_DNSMASQ_PID" \
    --interface="$LXC_BRIDGE" --bind-interfaces --except-interface=lo \
    --listen-address="$address" --no-resolv --no-hosts --no-poll \
    --dhcp-range="$LXC_DHCP_RANGE,$LXC_LEASE_TIME" --dhcp-authoritative \
    --dhcp-leasefile="$LXC_STATE_DIR/dnsmasq.leases" \
    --dhcp-option=option:router,"$address" --dhcp-option=option:dns-server,"$address" \
    --dhcp-option=option:T1,"$LXC_RENEW_SECONDS" \
    --dhcp-option=option:T2,"$((LXC_RENEW_SECONDS * 2))"
}

ensure_usernet_entry() {
  mkdir -p "$(dirname "$USERNET")"
  touch "$USERNET"
  if ! grep -Eq "^[[:space:]]*${TEST_USER}[[:space:]]+veth[[:space:]]+${LXC_BRIDGE}[[:space:]]" \
    "$USERNET"; then
    log "allowing $TEST_USER $LXC_USERNET_COUNT veth devices on $LXC_BRIDGE in $USERNET"
    echo "$TEST_USER veth $LXC_BRIDGE $LXC_USERNET_COUNT" >> "$USERNET"
  fi
}

require_root
install_packages
ensure_bridge
start_dnsmasq
ensure_usernet_entry
log "ready: $LXC_BRIDGE $LXC_BRIDGE_ADDR, dnsmasq pid $(cat "$LXC_DNSMASQ_PID")"
