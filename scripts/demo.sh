#!/usr/bin/env bash
# The main job, end to end, as the unprivileged demo user on the slirp4netns profile:
#   rootlesskit --profile conf/slirp4netns.yaml -p 127.0.0.1:PORT:80/tcp -- busybox httpd ...
# then a request from the host to 127.0.0.1:PORT, answered by the server inside the namespace,
# the port table through rootlessctl, and a clean stop with SIGTERM.
set -euo pipefail

source "$(dirname "$0")/common.sh"
setup_and_build

PORT="${DEMO_PORT:-8080}"
WORK="$(mktemp -d /tmp/rk-demo.XXXXXX)"
chmod 0755 "$WORK"
mkdir -p "$WORK/www"
echo "hello from inside the rootless namespace" > "$WORK/www/index.html"
chmod -R a+rX "$WORK/www"
# rootlesskit removes its state directory on exit, so its parent must be the user's too.
install -d -o "$TEST_USER" "$WORK/run"
STATE="$WORK/run/state"

as_user() { su -s /bin/sh "$TEST_USER" -c "$1"; }

echo "demo: starting rootlesskit as $TEST_USER"
# su itself in the background (not through as_user, which would put a subshell between): the
# SIGTERM of the stop reaches su, which passes it on to rootlesskit.
su -s /bin/sh "$TEST_USER" -c "cd '$SRC_DIR' && exec '$BUILD_DIR/bin/rootlesskit' \
  --state-dir='$STATE' --profile conf/slirp4netns.yaml -p 127.0.0.1:$PORT:80/tcp -- \
  busybox httpd -f -p 80 -h '$WORK/www'" &
RK_PID=$!
stop_rootlesskit() {
  kill -TERM "$RK_PID" 2>/dev/null || true
  wait "$RK_PID" 2>/dev/null || true
}
trap 'stop_rootlesskit; rm -rf "$WORK"' EXIT

for _ in $(seq 100); do
  [ -S "$STATE/api.sock" ] && break
  sleep 0.1
done
[ -S "$STATE/api.sock" ] || { echo "demo: rootlesskit did not come up" >&2; exit 1; }

echo "demo: curl http://127.0.0.1:$PORT/"
curl -fsS "http://127.0.0.1:$PORT/"
echo "demo: rootlessctl list-ports"
as_user "'$BUILD_DIR/bin/rootlessctl' --socket '$STATE/api.sock' list-ports"
echo "demo: rootlessctl info"
as_user "'$BUILD_DIR/bin/rootlessctl' --socket '$STATE/api.sock' info"
echo "demo: stopping (SIGTERM reaches the server, which rootlesskit reports)"
stop_rootlesskit
if [ -e "$STATE" ] || curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "demo: something of the run is left" >&2
  exit 1
fi
echo "demo: stopped; state directory and port are gone"
