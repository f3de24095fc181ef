#!/usr/bin/env bash
# The one test command (README and .ci/run call exactly this).
# Installs what the tests need, then runs every test: unit, snapshot and
# integration tests against real nats-servers and the Kubernetes API double.
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER_BIN=$(scripts/install-nats-server.sh)
export NATS_SERVER_BIN
# The compatibility matrix (tests/integration/violations_matrix.rs): older
# releases, each in its own dir; a few seconds once cached in .tools/.
NATS_SERVER_BINS=$(scripts/install-nats-server.sh --matrix)
export NATS_SERVER_BINS
# kubectl: the double's conformance tests, the sandbox test and the
# kubectl column checks run it (they fail, never skip, without it).
KUBECTL=$(scripts/install-kubectl.sh)
PATH="$(dirname "$KUBECTL"):$PATH"
export PATH
# No import cycle between files, folder order held (see docs/architecture.md).
python3 scripts/check-layering.py
cargo test --locked --workspace --all-targets "$@"
# A smoke pass of every fuzz target on its committed corpus (a few seconds
# each; scripts/fuzz.sh 300 is the long run).
scripts/fuzz.sh 3
