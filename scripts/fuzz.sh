#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET seconds (default 60) on its
# committed corpus (fuzz/corpus/<target>, read only: what a run adds goes to
# a temporary directory), prints executions and crashes per target, and
# exits non-zero when any target crashed, timed out or ran out of memory.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Stable toolchain: cargo-fuzz needs nightly flags, which RUSTC_BOOTSTRAP
# allows; no sanitizer (`-s none`): safe Rust needs none to find a panic.
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -O <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
export RUSTC_BOOTSTRAP=1
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -s none -O
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="${CARGO_TARGET_DIR:-fuzz/target}/$triple/release"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=()
failed=0
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$work/$t" "fuzz/artifacts/$t"
    [ -d "$corpus" ] || { echo "no seed corpus $corpus" >&2; failed=1; continue; }
    log="$work/$t.log"
    # New inputs go to the first directory (temporary); the committed corpus is only read.
    set +e
    "$bin_dir/$t" "$work/$t" "$corpus" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crash=0
    if [ "$rc" -ne 0 ]; then
        crash=1
        failed=1
        echo "---- $t (exit $rc) ----" >&2
        grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 >&2 || tail -30 "$log" >&2
    fi
    new=$(find "$work/$t" -type f | wc -l)
    results+=("$(printf '%-16s %6s %14s %12s %8s %8s' "$t" "$secs" "${execs:-?}" \
        "$([ -n "$execs" ] && echo $((execs / secs)) || echo ?)" "$new" "$crash")")
done

printf '%-16s %6s %14s %12s %8s %8s\n' target seconds executions exec/s new crashes
printf '%s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target failed (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
