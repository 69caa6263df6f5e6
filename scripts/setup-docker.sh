#!/usr/bin/env bash
# Prepares this machine, as root, for the rootless Docker end-to-end test. Idempotent: every
# step checks first and changes only what is missing.
#   1. packages: docker.io (dockerd, docker-proxy, the docker client, containerd, runc, tini,
#      dockerd-rootless.sh) and iptables, installed WITHOUT starting the system's (rootful)
#      Docker: the test runs its own dockerd as the unprivileged test user;
#   2. Debian's busybox-static, unpacked (not installed: it conflicts with the busybox package)
#      into $DOCKER_TEST_DIR/busybox-static; the test builds its local image from it, so nothing
#      is ever pulled from a registry;
#   3. Debian 12's rootlesskit package, unpacked (not installed: its Go rootlesskit must not end
#      up on anyone's PATH) into $DOCKER_TEST_DIR/rootlesskit-deb, for the one program Docker 20.10
#      needs from it: rootlesskit-docker-proxy, which calls our REST API.
set -euo pipefail

DOCKER_TEST_DIR="${ROOTLESSKIT_DOCKER_TEST_DIR:-/var/lib/rootlesskit-docker-test}"
POLICY_RC=/usr/sbin/policy-rc.d

log() { printf 'setup-docker: %s\n' "$*"; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-docker: run this as root (it installs packages)" >&2
    exit 1
  fi
}

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      printf '%s\n' "$pkg"
  done
}

# A policy-rc.d that refuses every service start, for the duration of the install only: the
# package scripts of docker.io and containerd would otherwise start a rootful dockerd, which
# rewrites the host's iptables and creates docker0. An existing policy-rc.d is left as it is.
install_without_services() {
  local added_policy=0
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC"
    chmod 0755 "$POLICY_RC"
    added_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } ||
    status=$?
  if [ "$added_policy" -eq 1 ]; then
    rm -f "$POLICY_RC"
  fi
  return "$status"
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages docker.io iptables)
  [ "${#missing[@]}" -eq 0 ] && return
  log "installing ${missing[*]} (services are not started)"
  install_without_services "${missing[@]}"
}

# Downloads package $1 with the system's apt sources and unpacks it into $2 (replacing it).
# Downloading as root: the scratch folder is not writable by apt's sandbox user.
unpack_package() {
  local pkg=$1 dest=$2 work
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq "$pkg" 2>/dev/null); then
    apt-get update -qq
    (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq "$pkg")
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  dpkg-deb -x "$work/${pkg}"_*.deb "$dest"
  rm -rf "$work"
}

unpack_busybox_static() {
  local dest="$DOCKER_TEST_DIR/busybox-static"
  [ -x "$dest/bin/busybox" ] && return
  log "unpacking busybox-static into $dest"
  unpack_package busybox-static "$dest"
}

unpack_docker_proxy() {
  local dest="$DOCKER_TEST_DIR/rootlesskit-deb"
  [ -x "$dest/usr/bin/rootlesskit-docker-proxy" ] && return
  log "unpacking rootlesskit (for rootlesskit-docker-proxy) into $dest"
  unpack_package rootlesskit "$dest"
}

require_root
install_packages
mkdir -p "$DOCKER_TEST_DIR"
unpack_busybox_static
unpack_docker_proxy
chmod -R a+rX "$DOCKER_TEST_DIR"
log "ready: $(dockerd --version), busybox-static and rootlesskit-docker-proxy in $DOCKER_TEST_DIR"
