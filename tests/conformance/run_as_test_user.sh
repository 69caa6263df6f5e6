#!/bin/sh
# Runs a command as the unprivileged test user ($ROOTLESSKIT_TEST_USER, default rktest) when
# started as root, so that plugins are checked the way rootlesskit runs them; started as anyone
# else, runs it directly. Exits 77 (CTest: skipped) when root has no such user to become.
set -eu
user="${ROOTLESSKIT_TEST_USER:-rktest}"
if [ "$(id -u)" -ne 0 ]; then
  exec "$@"
fi
if ! id "$user" >/dev/null 2>&1; then
  echo "run_as_test_user: there is no user $user (scripts/setup.sh creates it)" >&2
  exit 77
fi
exec setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- "$@"
