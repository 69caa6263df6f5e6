#!/usr/bin/env bash
# Side-by-side benchmark of the port forwarding and start-up, in one run, as the unprivileged
# test user: our rootlesskit against upstream's Go rootlesskit 2.0.2, both with
# --net=slirp4netns --port-driver=builtin, and plain loopback as the limit. Prints one table of
# figures and ratios (bench/README.md records a run).
#
#   iperf3    TCP 1 stream, TCP 4 streams, UDP -b 0 (received throughput and loss)
#   ab        new connections per second without keep-alive (p50/p99 from ab's percentiles),
#             against busybox httpd and against nginx
#   start     start-to-exit time of "rootlesskit true" and of "rootlesskit --net=slirp4netns
#             --port-driver=builtin true"; "unshare -Urm true" as the floor (hyperfine)
#   memory    peak RSS (VmHWM) of each rootlesskit parent, idle and after the load
#   forwarder bench/forwarder_bench.cc (Google Benchmark), the forwarder's inner loop alone
#
# Run as root from the checkout: installs what is missing (apache2-utils, nginx-light,
# hyperfine, iperf3, ...), fetches upstream's binaries (scripts/fetch-upstream.sh), builds what
# is needed into $BUILD_DIR, then measures as the test user. Every server listens on 127.0.0.1
# only. Run it on an otherwise idle machine: other work on the CPUs changes every figure.
#
# Environment:
#   BENCH_SECONDS         seconds per iperf3 run (default 10)
#   BENCH_AB_REQUESTS     requests per ab run (default 10000)
#   BENCH_AB_CONCURRENCY  concurrent ab clients (default 16)
#   BENCH_START_RUNS      runs per start-up command (default 30)
#   BUILD_DIR             build directory (default build/ beside the sources, or beside the
#                         staged copy when the test user cannot read the checkout)
#   UPSTREAM_DIR          where fetch-upstream.sh put upstream's binaries
#                         (default /var/tmp/rootlesskit-upstream)
set -euo pipefail

# SRC_DIR, TEST_USER, stage_sources_for_test_user
# shellcheck source-path=SCRIPTDIR source=../scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
UPSTREAM_DIR="${UPSTREAM_DIR:-/var/tmp/rootlesskit-upstream}"
export BENCH_SECONDS="${BENCH_SECONDS:-10}"
export BENCH_AB_REQUESTS="${BENCH_AB_REQUESTS:-10000}"
export BENCH_AB_CONCURRENCY="${BENCH_AB_CONCURRENCY:-16}"
export BENCH_START_RUNS="${BENCH_START_RUNS:-30}"

BENCH_PACKAGES=(apache2-utils nginx-light hyperfine iperf3 busybox slirp4netns uidmap python3)

log() { printf 'bench: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Preparation, as root.

install_packages() {
  local missing=() pkg
  for pkg in "${BENCH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

build_targets() {
  log "building into $BUILD_DIR"
  cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRK_BUILD_BENCH=ON \
    >/dev/null
  cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target rootlesskit rootlessctl \
    rkp-net-slirp4netns rkp-port-builtin forwarder_bench >/dev/null
  chmod -R a+rX "$BUILD_DIR"
}

prepare_as_root() {
  "$SRC_DIR/scripts/setup.sh" >/dev/null
  install_packages
  "$SRC_DIR/scripts/fetch-upstream.sh" >/dev/null
  stage_sources_for_test_user
  BUILD_DIR="${BUILD_DIR:-$SRC_DIR/build}"
  build_targets
}

# ---------------------------------------------------------------------------------------------
# Measurement, as the test user. Results go to $WORK/results, one "key value" per line.

OURS=""
GO=""
WORK=""
INSTANCES=()  # PIDs of the rootlesskit parents and direct servers this script started
# Per target (direct, ours, go): the host ports of iperf3, busybox httpd and nginx, and the PID
# of the rootlesskit parent.
declare -A PORT_IPERF PORT_HTTPD PORT_NGINX PARENT

record() { printf '%s %s\n' "$1" "$2" >> "$WORK/results"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::", 0))
print(s.getsockname()[1])'
}

# Writes an nginx configuration for listen address $2 with the prefix directory $1.
write_nginx_conf() {
  local prefix=$1 listen=$2 user_line=${3:-}
  mkdir -p "$prefix/tmp"
  cat > "$prefix/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    keepalive_timeout 0;
    server { listen $listen; root $WORK/www; }
}
CONF
}

# Waits until an HTTP server answers on 127.0.0.1:$1 (through a forwarder, the port listens
# before the server inside does).
wait_http() {
  local i
  for i in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/index.html" && return 0
    sleep 0.05
  done
  log "nothing answers on 127.0.0.1:$1"
  return 1
}

wait_iperf3() {
  local i
  for i in $(seq 100); do
    # A byte count, not a duration: iperf3 3.12 hangs on a fractional -t.
    timeout 10 iperf3 -c 127.0.0.1 -p "$1" -n 1K >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "no iperf3 server on 127.0.0.1:$1"
  return 1
}

start_direct() {
  local prefix="$WORK/nginx-direct"
  PORT_IPERF[direct]=$(free_port)
  PORT_HTTPD[direct]=$(free_port)
  PORT_NGINX[direct]=$(free_port)
  write_nginx_conf "$prefix" "127.0.0.1:${PORT_NGINX[direct]}"
  iperf3 -s -p "${PORT_IPERF[direct]}" >/dev/null 2>&1 &
  INSTANCES+=($!)
  busybox httpd -f -p "127.0.0.1:${PORT_HTTPD[direct]}" -h "$WORK/www" &
  INSTANCES+=($!)
  nginx -e "$prefix/error.log" -p "$prefix" -c "$prefix/nginx.conf" -g "daemon off;" &
  INSTANCES+=($!)
  wait_http "${PORT_HTTPD[direct]}" && wait_http "${PORT_NGINX[direct]}" &&
    wait_iperf3 "${PORT_IPERF[direct]}"
}

# Starts implementation $1 (ours|go) with binary $2: iperf3, busybox httpd and nginx inside one
# run, each published on its own host port. --pidns, so the servers end with the run.
start_instance() {
  local name=$1 binary=$2
  local prefix="$WORK/nginx-$name"
  local iperf httpd nginx
  iperf=$(free_port)
  httpd=$(free_port)
  nginx=$(free_port)
  # Inside, nginx runs as the namespace's root, which would hand its workers to "nobody".
  write_nginx_conf "$prefix" "8080" "user root root;"
  cat > "$WORK/inside-$name.sh" <<INSIDE
busybox httpd -f -p 80 -h $WORK/www &
nginx -e $prefix/error.log -p $prefix -c $prefix/nginx.conf -g "daemon off;" &
exec iperf3 -s -p 5201
INSIDE
  "$binary" --state-dir="$WORK/state-$name" --net=slirp4netns --mtu=65520 \
    --disable-host-loopback --port-driver=builtin --pidns \
    -p "127.0.0.1:$iperf:5201/tcp" -p "127.0.0.1:$iperf:5201/udp" \
    -p "127.0.0.1:$httpd:80/tcp" -p "127.0.0.1:$nginx:8080/tcp" \
    sh "$WORK/inside-$name.sh" >>"$WORK/$name.log" 2>&1 &
  PARENT[$name]=$!
  INSTANCES+=("${PARENT[$name]}")
  PORT_IPERF[$name]=$iperf
  PORT_HTTPD[$name]=$httpd
  PORT_NGINX[$name]=$nginx
  wait_http "$httpd" && wait_http "$nginx" && wait_iperf3 "$iperf"
}

stop_all() {
  local pid name
  for name in ours go; do
    if [ -f "$WORK/state-$name/child_pid" ]; then
      kill -TERM "$(cat "$WORK/state-$name/child_pid")" 2>/dev/null || true
    fi
  done
  for pid in "${INSTANCES[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${INSTANCES[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}

vmhwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# iperf3 against port $2 for target $1; records Gbit/s (and UDP loss).
run_iperf3() {
  local target=$1 port=$2 json limit=$((BENCH_SECONDS + 30))
  json="$WORK/iperf-$target"
  timeout "$limit" iperf3 -c 127.0.0.1 -p "$port" -t "$BENCH_SECONDS" -J > "$json-tcp1.json"
  timeout "$limit" iperf3 -c 127.0.0.1 -p "$port" -t "$BENCH_SECONDS" -P 4 -J \
    > "$json-tcp4.json"
  timeout "$limit" iperf3 -c 127.0.0.1 -p "$port" -t "$BENCH_SECONDS" -u -b 0 -J \
    > "$json-udp.json"
  python3 - "$json" "$target" >> "$WORK/results" <<'PY'
import json, sys
base, target = sys.argv[1], sys.argv[2]
def load(kind):
    return json.load(open(f"{base}-{kind}.json"))["end"]
for kind in ("tcp1", "tcp4"):
    print(f"iperf3_{kind}_gbps_{target} {load(kind)['sum_received']['bits_per_second'] / 1e9:.2f}")
udp = load("udp")
print(f"iperf3_udp_gbps_{target} {udp['sum_received']['bits_per_second'] / 1e9:.2f}")
print(f"iperf3_udp_loss_{target} {udp['sum_received']['lost_percent']:.1f}")
print(f"iperf3_udp_datagram_bytes {udp['sum']['bytes'] // max(udp['sum']['packets'], 1)}")
PY
}

# ab against 127.0.0.1:$3 for server $1 and target $2; records requests/s, p50, p99, failures.
run_ab() {
  local server=$1 target=$2 port=$3 out
  out="$WORK/ab-$server-$target.txt"
  ab -q -s 10 -n "$BENCH_AB_REQUESTS" -c "$BENCH_AB_CONCURRENCY" \
    "http://127.0.0.1:$port/index.html" > "$out" 2>&1 || true
  record "ab_${server}_rps_$target" "$(awk '/^Requests per second:/ { print $4 }' "$out")"
  record "ab_${server}_p50_$target" "$(awk '$1 == "50%" { print $2 }' "$out")"
  record "ab_${server}_p99_$target" "$(awk '$1 == "99%" { print $2 }' "$out")"
  record "ab_${server}_failed_$target" "$(awk '/^Failed requests:/ { print $3 }' "$out")"
}

run_load() {
  local target
  for target in direct ours go; do
    log "iperf3 through $target (3 x ${BENCH_SECONDS}s)"
    run_iperf3 "$target" "${PORT_IPERF[$target]}"
    log "ab through $target"
    run_ab busybox "$target" "${PORT_HTTPD[$target]}"
    run_ab nginx "$target" "${PORT_NGINX[$target]}"
  done
}

# Start-to-exit times: hyperfine when available, else a loop timed with date +%s%N.
run_startup() {
  local -a names=(ours_true go_true ours_slirp go_slirp unshare_floor)
  local -a commands=(
    "$OURS true" "$GO true"
    "$OURS --net=slirp4netns --port-driver=builtin true"
    "$GO --net=slirp4netns --port-driver=builtin true"
    "unshare -Urm true"
  )
  log "start-to-exit times ($BENCH_START_RUNS runs each)"
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 --runs "$BENCH_START_RUNS" --export-json "$WORK/start.json" \
      "${commands[@]}" >/dev/null
    python3 - "$WORK/start.json" "${names[@]}" >> "$WORK/results" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
for name, result in zip(sys.argv[2:], results):
    print(f"start_ms_{name} {result['mean'] * 1000:.1f}")
    print(f"start_sd_ms_{name} {result['stddev'] * 1000:.1f}")
PY
    record start_tool hyperfine
    return
  fi
  local i begin end
  for i in "${!names[@]}"; do
    begin=$(date +%s%N)
    for _ in $(seq "$BENCH_START_RUNS"); do
      ${commands[$i]} >/dev/null 2>&1
    done
    end=$(date +%s%N)
    record "start_ms_${names[$i]}" "$(( (end - begin) / BENCH_START_RUNS / 1000 ))e-3"
  done
  record start_tool date-loop
}

run_forwarder_bench() {
  local bench="$BUILD_DIR/bin/forwarder_bench"
  [ -x "$bench" ] || { log "no $bench; skipping the Google Benchmark figures"; return; }
  log "forwarder_bench"
  "$bench" --benchmark_format=json --benchmark_out="$WORK/forwarder.json" \
    --benchmark_out_format=json >/dev/null 2>&1 || return 0
  python3 - "$WORK/forwarder.json" >> "$WORK/results" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    name = b["name"].replace("/", "_").replace(":", "_")
    if "bytes_per_second" in b:
        print(f"gbench_{name}_gbps {b['bytes_per_second'] * 8 / 1e9:.2f}")
    else:
        print(f"gbench_{name}_{b['time_unit']} {b['real_time']:.1f}")
PY
}

measure() {
  OURS="$BUILD_DIR/bin/rootlesskit"
  GO="$UPSTREAM_DIR/2.x/usr/bin/rootlesskit"
  WORK="$(mktemp -d /tmp/rkbench.XXXXXX)"
  trap 'stop_all; rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/www"
  head -c 612 /dev/zero | tr '\0' 'x' > "$WORK/www/index.html"

  start_direct
  start_instance ours "$OURS"
  start_instance go "$GO"
  record vmhwm_idle_kib_ours "$(vmhwm_kib "${PARENT[ours]}")"
  record vmhwm_idle_kib_go "$(vmhwm_kib "${PARENT[go]}")"

  run_load
  record vmhwm_load_kib_ours "$(vmhwm_kib "${PARENT[ours]}")"
  record vmhwm_load_kib_go "$(vmhwm_kib "${PARENT[go]}")"
  stop_all
  INSTANCES=()

  run_startup
  run_forwarder_bench
  cat "$WORK/results"
}

# ---------------------------------------------------------------------------------------------
# Report: the table, from the "key value" lines on stdin.

report() {
  python3 - <<'PY'
import sys
v = {}
for line in open("/dev/stdin"):
    key, _, value = line.strip().partition(" ")
    v[key] = value

def f(key):
    try:
        return float(v[key])
    except (KeyError, ValueError):
        return None

def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b not in (None, 0) else "-"

def row(label, direct, ours, go, unit):
    d, o, g = f(direct) if direct else None, f(ours), f(go)
    cells = [label, f"{d:g}" if d is not None else "-", f"{o:g}" if o is not None else "-",
             f"{g:g}" if g is not None else "-", ratio(o, d), ratio(g, d), ratio(o, g), unit]
    print("| " + " | ".join(cells) + " |")

print("| metric | loopback | ours | Go 2.0.2 | ours/loopback | Go/loopback | ours/Go | unit |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for kind, label in (("tcp1", "iperf3 TCP, 1 stream"), ("tcp4", "iperf3 TCP, 4 streams"),
                    ("udp", "iperf3 UDP -b 0, received")):
    row(label, f"iperf3_{kind}_gbps_direct", f"iperf3_{kind}_gbps_ours",
        f"iperf3_{kind}_gbps_go", "Gbit/s")
row("iperf3 UDP -b 0, loss", "iperf3_udp_loss_direct", "iperf3_udp_loss_ours",
    "iperf3_udp_loss_go", "%")
for server in ("busybox", "nginx"):
    row(f"ab {server}, new connections", f"ab_{server}_rps_direct", f"ab_{server}_rps_ours",
        f"ab_{server}_rps_go", "req/s")
    for p in ("p50", "p99"):
        row(f"ab {server}, {p}", f"ab_{server}_{p}_direct", f"ab_{server}_{p}_ours",
            f"ab_{server}_{p}_go", "ms")
    row(f"ab {server}, failed requests", f"ab_{server}_failed_direct",
        f"ab_{server}_failed_ours", f"ab_{server}_failed_go", "")
row("start-to-exit, `rootlesskit true`", "start_ms_unshare_floor", "start_ms_ours_true",
    "start_ms_go_true", "ms")
row("start-to-exit, `--net=slirp4netns --port-driver=builtin true`", "start_ms_unshare_floor",
    "start_ms_ours_slirp", "start_ms_go_slirp", "ms")
row("parent VmHWM, idle", None, "vmhwm_idle_kib_ours", "vmhwm_idle_kib_go", "KiB")
row("parent VmHWM, after the load", None, "vmhwm_load_kib_ours", "vmhwm_load_kib_go", "KiB")
print()
print(f"iperf3 UDP datagram size: {v.get('iperf3_udp_datagram_bytes', '-')} bytes; "
      f"start-up timed with {v.get('start_tool', '-')}; "
      "the loopback column of the start-up rows is `unshare -Urm true`.")
gbench = sorted(k for k in v if k.startswith("gbench_"))
if gbench:
    print()
    print("| forwarder_bench | value |")
    print("| --- | ---: |")
    for k in gbench:
        print(f"| {k[len('gbench_'):]} | {v[k]} |")
PY
}

main() {
  if [ "${1:-}" = "--measure" ]; then
    measure
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: run as root (it installs packages, then measures as $TEST_USER)" >&2
    exit 1
  fi
  log "load before: $(uptime)"
  prepare_as_root
  chmod a+rx "$0"
  local results
  results=$(su -s /bin/bash "$TEST_USER" -c "cd / && BUILD_DIR='$BUILD_DIR' \
    UPSTREAM_DIR='$UPSTREAM_DIR' BENCH_SECONDS='$BENCH_SECONDS' \
    BENCH_AB_REQUESTS='$BENCH_AB_REQUESTS' BENCH_AB_CONCURRENCY='$BENCH_AB_CONCURRENCY' \
    BENCH_START_RUNS='$BENCH_START_RUNS' '$SRC_DIR/bench/run.sh' --measure")
  log "load after: $(uptime)"
  echo "$results" | report
}

main "$@"
