#!/usr/bin/env bash
# Prepares a Debian 12 machine, as root, for building and running rootlesskit:
#   1. installs every package the build, the tests and the demo need (only what is missing);
#   2. creates the unprivileged user the demo and the end-to-end tests run as
#      ($ROOTLESSKIT_TEST_USER, default "rktest") with /etc/subuid and /etc/subgid ranges;
#   3. checks that this user can open /dev/net/tun (needed by slirp4netns), and makes the
#      device world-usable when it is not (distributions ship it 0666; some machines 0600).
set -euo pipefail

TEST_USER="${ROOTLESSKIT_TEST_USER:-rktest}"

BUILD_PACKAGES=(
  cmake make g++ pkg-config
  libpoco-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libmnl-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
)
RUNTIME_PACKAGES=(
  uidmap iproute2 util-linux procps slirp4netns passt busybox curl iperf3 python3
  systemd bsdutils
)

log() { printf 'setup: %s\n' "$*"; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run this as root (it installs packages and creates the test user)" >&2
    exit 1
  fi
}

install_missing_packages() {
  local missing=()
  local pkg
  for pkg in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "all packages present"
    return
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the first start of a free 65536-wide range above every range in the given file.
next_free_subid() {
  awk -F: 'BEGIN { end = 100000 } NF == 3 && $2 + $3 > end { end = $2 + $3 } END { print end }' \
    "$1" 2>/dev/null || echo 100000
}

ensure_test_user() {
  if ! id "$TEST_USER" >/dev/null 2>&1; then
    log "creating user $TEST_USER"
    useradd --create-home --shell /bin/bash "$TEST_USER"
  fi
  touch /etc/subuid /etc/subgid
  local start
  if ! grep -q "^${TEST_USER}:" /etc/subuid; then
    start=$(next_free_subid /etc/subuid)
    log "adding subuid range ${start}:65536 for $TEST_USER"
    usermod --add-subuids "${start}-$((start + 65535))" "$TEST_USER"
  fi
  if ! grep -q "^${TEST_USER}:" /etc/subgid; then
    start=$(next_free_subid /etc/subgid)
    log "adding subgid range ${start}:65536 for $TEST_USER"
    usermod --add-subgids "${start}-$((start + 65535))" "$TEST_USER"
  fi
}

ensure_tun_usable() {
  if [ ! -c /dev/net/tun ]; then
    mkdir -p /dev/net
    mknod -m 0666 /dev/net/tun c 10 200
  fi
  if ! su -s /bin/sh "$TEST_USER" -c 'exec 3<>/dev/net/tun' 2>/dev/null; then
    log "/dev/net/tun is not usable by $TEST_USER (mode $(stat -c %a /dev/net/tun)); setting 0666"
    chmod 0666 /dev/net/tun
  fi
}

require_root
install_missing_packages
ensure_test_user
ensure_tun_usable
# lxc-user-nic's bridge with dnsmasq, and a recent pasta beside Debian 12's, for their tests.
"$(dirname "$0")/setup-lxc-bridge.sh" && "$(dirname "$0")/build-passt.sh" >/dev/null
"$(dirname "$0")/setup-reliability.sh"
"$(dirname "$0")/setup-docker.sh"
log "ready: test user $TEST_USER ($(grep "^${TEST_USER}:" /etc/subuid | head -n 1))"
