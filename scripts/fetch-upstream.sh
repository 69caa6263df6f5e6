#!/usr/bin/env bash
# Fetches upstream's Go RootlessKit for interoperability tests and benchmarks only, and extracts
# it into a scratch folder; nothing is installed system-wide and the system's apt sources are not
# touched (apt runs with a private source list, list dir and cache).
#   $UPSTREAM_DIR/1.1.0/usr/bin/{rootlesskit,rootlessctl,rootlesskit-docker-proxy}  (Debian 12)
#   $UPSTREAM_DIR/2.x/usr/bin/{rootlesskit,rootlessctl}                           (Debian 13)
# Prints the folder on success. Run as root.
set -euo pipefail

UPSTREAM_DIR="${UPSTREAM_DIR:-/var/tmp/rootlesskit-upstream}"
APT_DIR="$UPSTREAM_DIR/apt"

apt_private() {
  apt-get -o Dir::Etc::SourceList="$APT_DIR/private.sources" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root "$@"
}

# Downloads package rootlesskit from suite into dest and extracts it there.
fetch_suite() {
  local suite=$1 dest=$2
  [ -x "$dest/usr/bin/rootlesskit" ] && return
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$dest"
  cat > "$APT_DIR/private.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_private update -qq
  (cd "$APT_DIR" && rm -f rootlesskit_*.deb && apt_private download -qq rootlesskit)
  dpkg-deb -x "$APT_DIR"/rootlesskit_*.deb "$dest"
}

fetch_suite bookworm "$UPSTREAM_DIR/1.1.0"
fetch_suite trixie "$UPSTREAM_DIR/2.x"
chmod -R a+rX "$UPSTREAM_DIR"
echo "$UPSTREAM_DIR"
