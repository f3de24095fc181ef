#!/usr/bin/env bash
# Makes kubectl available to the tests and prints its path: the one on PATH
# when there is one, else the pinned release from dl.k8s.io (checked against
# its published SHA-256) into .tools/bin/. Exits non-zero, saying why, when
# neither works: the tests that run kubectl fail rather than skip.
set -euo pipefail
PINNED=v1.32.4
here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.tools/bin"

if p=$(command -v kubectl 2>/dev/null); then echo "$p"; exit 0; fi
if [[ -x "$tools/kubectl" ]]; then echo "$tools/kubectl"; exit 0; fi

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "kubectl: no release for $(uname -m); install kubectl on PATH" >&2; exit 1 ;;
esac
base="https://dl.k8s.io/release/$PINNED/bin/linux/$arch"
mkdir -p "$tools"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "installing kubectl $PINNED into $tools" >&2
if ! curl -fsSL -o "$work/kubectl" "$base/kubectl" || ! curl -fsSL -o "$work/kubectl.sha256" "$base/kubectl.sha256"; then
  echo "kubectl: could not download $base/kubectl; install kubectl on PATH" >&2
  exit 1
fi
if [[ "$(sha256sum "$work/kubectl" | cut -d' ' -f1)" != "$(tr -d '[:space:]' <"$work/kubectl.sha256")" ]]; then
  echo "kubectl: checksum mismatch for $base/kubectl" >&2
  exit 1
fi
install -m 0755 "$work/kubectl" "$tools/kubectl"
echo "$tools/kubectl"
