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
#             --port-driver=builtin true"; "unshare -Urm true" as the floor
#   memory    peak RSS (VmHWM) of each rootlesskit parent, idle and after the load, and its
#             private memory (RssAnon) after the load
#   CPU       user + system time of each rootlesskit parent during each iperf3 run, in cores
#   forwarder bench/forwarder_bench.cc (Google Benchmark), the forwarder's inner loop alone
#
# Run as root from the checkout: installs what is missing (apache2-utils, nginx-light,
# iperf3, ...), fetches upstream's binaries (scripts/fetch-upstream.sh), builds what
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
#   JOBS                  parallel build jobs (default: the number of CPUs)
#   UPSTREAM_DIR          where fetch-upstream.sh put upstream's binaries
#                         (default /var/tmp/rootlesskit-upstream)
#
# Every figure is required: a measurement that fails or yields no number stops the script with
# a non-zero status and a message naming the step, never a table with holes.
set -Eeuo pipefail

# SRC_DIR, TEST_USER, stage_sources_for_test_user
# shellcheck source-path=SCRIPTDIR source=../scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
UPSTREAM_DIR="${UPSTREAM_DIR:-/var/tmp/rootlesskit-upstream}"
export BENCH_SECONDS="${BENCH_SECONDS:-10}"
export BENCH_AB_REQUESTS="${BENCH_AB_REQUESTS:-10000}"
export BENCH_AB_CONCURRENCY="${BENCH_AB_CONCURRENCY:-16}"
export BENCH_START_RUNS="${BENCH_START_RUNS:-30}"

BENCH_PACKAGES=(apache2-utils nginx-light iperf3 busybox slirp4netns uidmap python3)

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
trap 'log "error: line $LINENO: \"$BASH_COMMAND\" failed with status $?"' ERR

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
# Measurement, as the test user. Results go to $BENCH_RESULTS (created by the root side), one
# "key value" per line; values are numbers except for keys starting with "meta_".

OURS=""
GO=""
WORK=""
INSTANCES=()  # PIDs of the rootlesskit parents and direct servers this script started
# Per target (direct, ours, go): the host ports of iperf3, busybox httpd and nginx, and the PID
# of the rootlesskit parent.
declare -A PORT_IPERF PORT_HTTPD PORT_NGINX PARENT

record() {
  local key=$1 value=${2:-}
  if [[ $key != meta_* && ! $value =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
    die "measurement $key: no number (got \"$value\")"
  fi
  printf '%s %s\n' "$key" "$value" >> "$BENCH_RESULTS"
}

# CPU time (user + system, in clock ticks) used so far by process $1, all threads.
cpu_ticks() {
  # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name.
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

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
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/index.html" && return 0
    sleep 0.05
  done
  log "nothing answers on 127.0.0.1:$1"
  return 1
}

wait_iperf3() {
  for _ in $(seq 100); do
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
# Private (anonymous) resident memory: what the process itself allocated, without the shared
# libraries' pages that VmHWM also counts.
rss_anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# Runs one iperf3 client (kind $3: tcp1, tcp4 or udp) against port $2 for target $1, into
# $WORK/iperf-$1-$3.json. For ours and go, also records the rootlesskit parent's CPU use during
# the run, in cores (1.0 is one core busy all the time).
iperf3_once() {
  local target=$1 port=$2 kind=$3 json="$WORK/iperf-$1-$3.json" args=()
  case $kind in
    tcp1) args=() ;;
    tcp4) args=(-P 4) ;;
    udp) args=(-u -b 0) ;;
  esac
  local pid=${PARENT[$target]:-} ticks_before=0 begin end
  [ -n "$pid" ] && ticks_before=$(cpu_ticks "$pid")
  begin=$(date +%s%N)
  timeout $((BENCH_SECONDS + 30)) iperf3 -c 127.0.0.1 -p "$port" -t "$BENCH_SECONDS" \
    "${args[@]}" -J > "$json" || die "iperf3 $kind through $target: $(head -c 300 "$json")"
  end=$(date +%s%N)
  if [ -n "$pid" ]; then
    record "cpu_${kind}_cores_$target" "$(awk -v t="$(( $(cpu_ticks "$pid") - ticks_before ))" \
      -v hz="$(getconf CLK_TCK)" -v ns="$((end - begin))" \
      'BEGIN { printf "%.2f", t / hz / (ns / 1e9) }')"
  fi
}

# Records Gbit/s and the UDP loss of target $1 from its three iperf3 runs.
record_iperf3() {
  local target=$1 key value
  while read -r key value; do
    record "$key" "$value"
  done < <(python3 - "$WORK/iperf-$target" "$target" <<'PY'
import json, sys
base, target = sys.argv[1], sys.argv[2]
def load(kind):
    data = json.load(open(f"{base}-{kind}.json"))
    if "error" in data:
        sys.exit(f"iperf3 {kind} through {target}: {data['error']}")
    return data["end"]
for kind in ("tcp1", "tcp4"):
    print(f"iperf3_{kind}_gbps_{target} {load(kind)['sum_received']['bits_per_second'] / 1e9:.2f}")
udp = load("udp")
received = udp["sum_received"] if "sum_received" in udp else udp["sum"]
print(f"iperf3_udp_gbps_{target} {received['bits_per_second'] / 1e9:.2f}")
print(f"iperf3_udp_loss_{target} {received['lost_percent']:.1f}")
print(f"iperf3_udp_datagram_bytes {udp['sum']['bytes'] // max(udp['sum']['packets'], 1)}")
PY
  )
}

# ab against 127.0.0.1:$3 for server $1 and target $2; records requests/s, p50, p99, failures.
run_ab() {
  local server=$1 target=$2 port=$3 out
  out="$WORK/ab-$server-$target.txt"
  ab -q -s 10 -n "$BENCH_AB_REQUESTS" -c "$BENCH_AB_CONCURRENCY" \
    "http://127.0.0.1:$port/index.html" > "$out" 2>&1 ||
    die "ab $server through $target: $(tail -n 3 "$out")"
  record "ab_${server}_rps_$target" "$(awk '/^Requests per second:/ { print $4 }' "$out")"
  record "ab_${server}_p50_$target" "$(awk '$1 == "50%" { print $2 }' "$out")"
  record "ab_${server}_p99_$target" "$(awk '$1 == "99%" { print $2 }' "$out")"
  record "ab_${server}_failed_$target" "$(awk '/^Failed requests:/ { print $3 }' "$out")"
}

# Each measurement runs for the three targets one after the other, so that a change in the
# machine's load during the run affects the three columns of a row alike.
run_load() {
  local target kind server
  for kind in tcp1 tcp4 udp; do
    log "iperf3 $kind through direct, ours, go (${BENCH_SECONDS}s each)"
    for target in direct ours go; do
      iperf3_once "$target" "${PORT_IPERF[$target]}" "$kind"
    done
  done
  for target in direct ours go; do
    record_iperf3 "$target"
  done
  for server in busybox nginx; do
    log "ab $server through direct, ours, go"
    for target in direct ours go; do
      if [ "$server" = busybox ]; then
        run_ab busybox "$target" "${PORT_HTTPD[$target]}"
      else
        run_ab nginx "$target" "${PORT_NGINX[$target]}"
      fi
    done
  done
}

# Start-to-exit times: each command runs until it has succeeded $BENCH_START_RUNS times (after
# 3 warm-up runs); the mean and standard deviation of the successful runs are recorded, with the
# number of failed runs. Go rootlesskit 2.0.2 with the builtin port driver sometimes fails when
# the command exits at once ("dial unix .../.bp.sock: connect: no such file or directory", a
# race between its parent and its exiting child), which is why failures are retried rather than
# fatal; more failures than successful runs are fatal.
run_startup() {
  local key value
  log "start-to-exit times ($BENCH_START_RUNS runs each)"
  while read -r key value; do
    record "$key" "$value"
  done < <(python3 - "$BENCH_START_RUNS" \
    ours_true "$OURS true" go_true "$GO true" \
    ours_slirp "$OURS --net=slirp4netns --port-driver=builtin true" \
    go_slirp "$GO --net=slirp4netns --port-driver=builtin true" \
    unshare_floor "unshare -Urm true" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
def once(command):
    begin = time.perf_counter()
    code = subprocess.call(command.split(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return code, time.perf_counter() - begin
for name, command in pairs:
    for _ in range(3):
        once(command)
    times, failed = [], 0
    while len(times) < runs:
        code, seconds = once(command)
        if code == 0:
            times.append(seconds)
        else:
            failed += 1
            if failed > runs:
                sys.exit(f"start-up of {command}: {failed} runs failed")
    print(f"start_ms_{name} {statistics.mean(times) * 1000:.1f}")
    print(f"start_sd_ms_{name} {statistics.stdev(times) * 1000:.1f}")
    print(f"start_failed_{name} {failed}")
PY
  )
}

# The Google Benchmark of the forwarder's inner loop (bench/forwarder_bench.cc).
run_forwarder_bench() {
  local bench="$BUILD_DIR/bin/forwarder_bench" key value
  log "forwarder_bench"
  "$bench" --benchmark_out="$WORK/forwarder.json" --benchmark_out_format=json \
    > "$WORK/forwarder.txt" 2>&1 || die "forwarder_bench: $(tail -n 5 "$WORK/forwarder.txt")"
  while read -r key value; do
    record "$key" "$value"
  done < <(python3 - "$WORK/forwarder.json" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("error_occurred"):
        sys.exit(f"forwarder_bench {b['name']}: {b.get('error_message', 'failed')}")
    name = b["name"].replace("/", "_").replace(":", "_")
    if "bytes_per_second" in b:
        print(f"gbench_{name}_gbps {b['bytes_per_second'] * 8 / 1e9:.2f}")
    else:
        print(f"gbench_{name}_{b['time_unit']} {b['real_time']:.1f}")
PY
  )
}

# Stops what the measurement started; on failure the logs stay for inspection.
finish_measure() {
  local status=$?
  stop_all
  if [ "$status" -eq 0 ]; then
    rm -rf "$WORK"
  else
    log "logs kept in $WORK"
  fi
}

measure() {
  OURS="$BUILD_DIR/bin/rootlesskit"
  GO="$UPSTREAM_DIR/2.x/usr/bin/rootlesskit"
  local binary
  for binary in "$OURS" "$GO"; do
    [ -x "$binary" ] || die "no executable $binary"
  done
  WORK="$(mktemp -d /tmp/rkbench.XXXXXX)"
  trap finish_measure EXIT
  mkdir -p "$WORK/www"
  head -c 612 /dev/zero | tr '\0' 'x' > "$WORK/www/index.html"
  record meta_go_version "$("$GO" --version | awk '{ print $NF }')"

  start_direct
  start_instance ours "$OURS"
  start_instance go "$GO"
  record vmhwm_idle_kib_ours "$(vmhwm_kib "${PARENT[ours]}")"
  record vmhwm_idle_kib_go "$(vmhwm_kib "${PARENT[go]}")"

  run_load
  record vmhwm_load_kib_ours "$(vmhwm_kib "${PARENT[ours]}")"
  record vmhwm_load_kib_go "$(vmhwm_kib "${PARENT[go]}")"
  record rss_anon_load_kib_ours "$(rss_anon_kib "${PARENT[ours]}")"
  record rss_anon_load_kib_go "$(rss_anon_kib "${PARENT[go]}")"
  stop_all
  INSTANCES=()

  run_startup
  run_forwarder_bench
}

# ---------------------------------------------------------------------------------------------
# Report: a markdown table from the results file $1; fails when a figure is missing.

report() {
  python3 - "$1" <<'PY'
import sys
v = {}
for line in open(sys.argv[1]):
    key, _, value = line.strip().partition(" ")
    v[key] = value
missing = []

def f(key):
    try:
        return float(v[key])
    except (KeyError, ValueError):
        missing.append(key)
        return None

def cell(x):
    return "-" if x is None else f"{x:g}"

def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b not in (None, 0) else "-"

def row(label, direct, ours, go, unit):
    d, o, g = f(direct) if direct else None, f(ours), f(go)
    cells = [label, cell(d), cell(o), cell(g), ratio(o, d), ratio(g, d), ratio(o, g), unit]
    print("| " + " | ".join(cells) + " |")

go = "Go " + v.get("meta_go_version", "?")
print(f"| metric | loopback | ours | {go} | ours/loopback | Go/loopback | ours/Go | unit |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for kind, label in (("tcp1", "iperf3 TCP, 1 stream"), ("tcp4", "iperf3 TCP, 4 streams"),
                    ("udp", "iperf3 UDP -b 0, received")):
    row(label, f"iperf3_{kind}_gbps_direct", f"iperf3_{kind}_gbps_ours",
        f"iperf3_{kind}_gbps_go", "Gbit/s")
row("iperf3 UDP -b 0, loss", "iperf3_udp_loss_direct", "iperf3_udp_loss_ours",
    "iperf3_udp_loss_go", "%")
for kind, label in (("tcp1", "TCP, 1 stream"), ("tcp4", "TCP, 4 streams"), ("udp", "UDP")):
    row(f"parent CPU during iperf3 {label}", None, f"cpu_{kind}_cores_ours",
        f"cpu_{kind}_cores_go", "cores")
for server in ("busybox", "nginx"):
    row(f"ab {server}, new connections", f"ab_{server}_rps_direct", f"ab_{server}_rps_ours",
        f"ab_{server}_rps_go", "req/s")
    for p in ("p50", "p99"):
        row(f"ab {server}, request time {p}", f"ab_{server}_{p}_direct",
            f"ab_{server}_{p}_ours", f"ab_{server}_{p}_go", "ms")
    row(f"ab {server}, failed requests", f"ab_{server}_failed_direct",
        f"ab_{server}_failed_ours", f"ab_{server}_failed_go", "")
row("start-to-exit, `rootlesskit true`", "start_ms_unshare_floor", "start_ms_ours_true",
    "start_ms_go_true", "ms")
row("start-to-exit, `--net=slirp4netns --port-driver=builtin true`", "start_ms_unshare_floor",
    "start_ms_ours_slirp", "start_ms_go_slirp", "ms")
row("parent VmHWM, idle", None, "vmhwm_idle_kib_ours", "vmhwm_idle_kib_go", "KiB")
row("parent VmHWM, after the load", None, "vmhwm_load_kib_ours", "vmhwm_load_kib_go", "KiB")
row("parent RssAnon, after the load", None, "rss_anon_load_kib_ours", "rss_anon_load_kib_go",
    "KiB")
print()
print(f"iperf3 UDP datagram size: {v.get('iperf3_udp_datagram_bytes', '-')} bytes. "
      "The loopback column of the start-up rows is `unshare -Urm true` (the floor); "
      "start-up standard deviations (ms): "
      + ", ".join(f"{k[len('start_sd_ms_'):]} {v[k]}" for k in sorted(v)
                  if k.startswith("start_sd_ms_"))
      + "; failed start-up runs, retried: "
      + ", ".join(f"{k[len('start_failed_'):]} {v[k]}" for k in sorted(v)
                  if k.startswith("start_failed_")) + ".")
gbench = sorted(k for k in v if k.startswith("gbench_"))
if not gbench:
    missing.append("gbench_*")
print()
print("| forwarder_bench | value |")
print("| --- | ---: |")
for k in gbench:
    print(f"| {k[len('gbench_'):]} | {v[k]} |")
if missing:
    sys.exit("bench: error: no figure for " + ", ".join(missing))
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
  local load_before load_after started
  started=$(date -u '+%Y-%m-%d %H:%M UTC')
  load_before=$(uptime)
  log "load before: $load_before"
  prepare_as_root
  chmod a+rx "$0"
  BENCH_RESULTS=$(mktemp /tmp/rkbench-results.XXXXXX)
  trap 'rm -f "$BENCH_RESULTS"' EXIT
  chown "$TEST_USER" "$BENCH_RESULTS"
  su -s /bin/bash "$TEST_USER" -c "cd / && BUILD_DIR='$BUILD_DIR' \
    UPSTREAM_DIR='$UPSTREAM_DIR' BENCH_SECONDS='$BENCH_SECONDS' \
    BENCH_AB_REQUESTS='$BENCH_AB_REQUESTS' BENCH_AB_CONCURRENCY='$BENCH_AB_CONCURRENCY' \
    BENCH_START_RUNS='$BENCH_START_RUNS' BENCH_RESULTS='$BENCH_RESULTS' \
    '$SRC_DIR/bench/run.sh' --measure" || die "measurement failed (messages above)"
  load_after=$(uptime)
  log "load after: $load_after"

  printf 'Measured %s with `BENCH_SECONDS=%s BENCH_AB_REQUESTS=%s BENCH_AB_CONCURRENCY=%s ' \
    "$started" "$BENCH_SECONDS" "$BENCH_AB_REQUESTS" "$BENCH_AB_CONCURRENCY"
  printf 'BENCH_START_RUNS=%s bash bench/run.sh` on %s CPUs (%s), kernel %s.\n' \
    "$BENCH_START_RUNS" "$(nproc)" \
    "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(uname -r)"
  printf 'Load average before: %s; after: %s.\n\n' "${load_before##*load average: }" \
    "${load_after##*load average: }"
  report "$BENCH_RESULTS"
}

main "$@"
