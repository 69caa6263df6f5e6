#!/usr/bin/env bash
# Builds a recent pasta from Debian 13's passt source package, for the pasta network driver's
# tests (CI runs them with this build and with Debian 12's /usr/bin/pasta, 2023_03_09). Debian
# 13's binary package does not run on Debian 12 (it needs glibc 2.38); the source builds here
# with make in seconds. Nothing is installed system-wide and the system's apt sources are not
# touched: apt runs with a private source list, list dir and cache, and the result goes to
#   $PASST_DIR/bin/{passt,pasta}     (default /var/tmp/rootlesskit-passt)
# Prints the path of the pasta binary on success. Idempotent. Run as root.
set -euo pipefail

PASST_DIR="${PASST_DIR:-/var/tmp/rootlesskit-passt}"
PASST_SUITE="${PASST_SUITE:-trixie}"
APT_DIR="$PASST_DIR/apt"
SRC_DIR="$PASST_DIR/src"

log() { printf 'build-passt: %s\n' "$*" >&2; }

apt_private() {
  apt-get -o Dir::Etc::SourceList="$APT_DIR/private.sources" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root "$@"
}

# dpkg-source (dpkg-dev) unpacks the source package; gcc and make build it.
install_build_tools() {
  local missing=() pkg
  for pkg in dpkg-dev gcc make patch xz-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

# Downloads and unpacks the source package into $SRC_DIR/passt-<version>; prints that directory.
fetch_source() {
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$SRC_DIR"
  cat > "$APT_DIR/private.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $PASST_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_private update -qq
  if ! (cd "$SRC_DIR" && apt_private source -qq passt >/dev/null 2>&1); then
    unpack_tarballs
  fi
  find "$SRC_DIR" -maxdepth 1 -type d -name 'passt-*' | sort | tail -n 1
}

# apt-get source needs the .dsc as well as the tarballs; some mirrors and caches serve the
# tarballs (which apt has checked against the signed Sources index by then) but not the .dsc.
# Unpack them the way dpkg-source would: the upstream tree, debian/ into it, then debian's
# patches in series order.
unpack_tarballs() {
  local orig debian tree patch
  orig=$(find "$SRC_DIR" -maxdepth 1 -name 'passt_*.orig.tar.*' | sort | tail -n 1)
  debian=$(find "$SRC_DIR" -maxdepth 1 -name 'passt_*.debian.tar.*' | sort | tail -n 1)
  [ -n "$orig" ] && [ -n "$debian" ] || return 0
  log "no .dsc from the mirror; unpacking $(basename "$orig") and $(basename "$debian")"
  tree="$SRC_DIR/$(tar -tf "$orig" | head -n 1 | cut -d/ -f1)"
  rm -rf "$tree"
  tar -C "$SRC_DIR" -xf "$orig"
  tar -C "$tree" -xf "$debian"
  if [ -f "$tree/debian/patches/series" ]; then
    while read -r patch; do
      case "$patch" in ''|'#'*) continue ;; esac
      patch -d "$tree" -p1 -s < "$tree/debian/patches/$patch"
    done < "$tree/debian/patches/series"
  fi
}

# Builds with upstream's version string (the tree is passt-<version>), so that
# `pasta --version` prints what an upstream build of the same source prints.
build_and_install() {
  local tree=$1 version
  version=$(basename "$tree")
  version=${version#passt-}
  log "building passt $version in $tree"
  # On x86_64 the plain binary re-executes <itself>.avx2 when the CPU has AVX2.
  local targets=(passt)
  [ "$(uname -m)" = x86_64 ] && targets+=(passt.avx2)
  make -C "$tree" -j1 VERSION="$version" "${targets[@]}" >/dev/null
  install -d "$PASST_DIR/bin"
  local target
  for target in "${targets[@]}"; do
    install -m 0755 "$tree/$target" "$PASST_DIR/bin/$target"
  done
  # One binary: it acts as pasta when called by that name.
  ln -sf passt "$PASST_DIR/bin/pasta"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "build-passt: run this as root (it installs build tools)" >&2
  exit 1
fi
if [ -x "$PASST_DIR/bin/pasta" ] && "$PASST_DIR/bin/pasta" --version >/dev/null 2>&1; then
  echo "$PASST_DIR/bin/pasta"
  exit 0
fi
install_build_tools
tree=$(fetch_source)
[ -n "$tree" ] || { echo "build-passt: no passt source package in $PASST_SUITE" >&2; exit 1; }
build_and_install "$tree"
chmod -R a+rX "$PASST_DIR/bin"
"$PASST_DIR/bin/pasta" --version >&2
echo "$PASST_DIR/bin/pasta"
