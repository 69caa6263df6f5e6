#!/usr/bin/env bash
# Prepares this machine, as root, for the reliability checks of scripts/test.sh. Idempotent:
# every step checks first and changes only what is missing.
#   1. packages: clang and its runtime libraries (the libFuzzer build), clang-tidy and cppcheck
#      (the static checks);
#   2. a second unprivileged user, $ROOTLESSKIT_TEST_USER2 (default rktest2), WITHOUT
#      /etc/subuid and /etc/subgid ranges: the security tests check that it cannot reach the
#      test user's API socket or state directory, the fault tests that rootlesskit refuses it
#      with one line.
set -euo pipefail

SECOND_USER="${ROOTLESSKIT_TEST_USER2:-rktest2}"
PACKAGES=(clang libclang-rt-14-dev clang-tidy cppcheck)

log() { printf 'setup-reliability: %s\n' "$*"; }

install_missing_packages() {
  local missing=()
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_second_user() {
  if ! id "$SECOND_USER" >/dev/null 2>&1; then
    log "creating user $SECOND_USER (no subordinate ID ranges)"
    useradd --create-home --shell /bin/bash "$SECOND_USER"
  fi
  local file
  for file in /etc/subuid /etc/subgid; do
    if grep -q "^${SECOND_USER}:" "$file" 2>/dev/null; then
      log "removing the $file range of $SECOND_USER: the tests need a user without one"
      sed -i "/^${SECOND_USER}:/d" "$file"
    fi
  done
}

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-reliability: run this as root" >&2
  exit 1
fi
install_missing_packages
ensure_second_user
