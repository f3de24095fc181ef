#!/usr/bin/env bash
# Regenerates the README screenshots (assets/*.svg) from a live sandbox:
# runs `warden sandbox` in tmux at 120x32, visits each view, captures it.
set -euo pipefail
cd "$(dirname "$0")/.."
export NATS_SERVER_BIN=${NATS_SERVER_BIN:-$(scripts/install-nats-server.sh)}
cargo build --quiet
bin=${CARGO_TARGET_DIR:-target}/debug/warden
state=$(mktemp -d)
session=warden-shots-$$
tmux new-session -d -s "$session" -x 120 -y 32 \
  "XDG_STATE_HOME=$state XDG_CONFIG_HOME=$state $bin sandbox"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$state"' EXIT
shot() { # name keys...
  local name=$1; shift
  for k in "$@"; do tmux send-keys -t "$session" "$k"; sleep 0.4; done
  sleep 2.5
  tmux capture-pane -e -p -t "$session" | python3 scripts/ansi_to_svg.py > "assets/$name.svg"
  echo "assets/$name.svg"
}
sleep 8
shot servers 1
shot connections 2
shot spire-entries 3
shot cluster-spiffe-ids 4
shot spire-agents 5
shot permissions 6 t t e n t a c u l a r . p a y m e n t s . l e d g e r . x Enter
tmux send-keys -t "$session" Escape; sleep 0.3
shot accounts 7
shot identities 8
shot expiry 9
shot violations 0
shot violations-grouped v
tmux send-keys -t "$session" v; sleep 0.3
shot doctor : d o c t o r Enter
shot trace 8 / o l d - b a t c h Enter T
tmux send-keys -t "$session" Escape Escape; sleep 0.3
tmux send-keys -t "$session" q
