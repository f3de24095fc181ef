#!/usr/bin/env bash
# The one test command (README and .ci/run call exactly this).
# Installs what the tests need, then runs every test: unit, snapshot and
# integration tests against real nats-servers and the Kubernetes API double.
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER_BIN=$(scripts/install-nats-server.sh)
export NATS_SERVER_BIN
# No import cycle between files, folder order held (see docs/architecture.md).
python3 scripts/check-layering.py
cargo test --locked --workspace --all-targets "$@"
