#!/usr/bin/env bash
# The long hardening runs, at full size: 100 000 random contract call sequences, the
# indexer fault run with 60 SIGKILLs, and a 10-minute API soak. `--short` runs them at
# CI's sizes (1 000 sequences, 24 kills, 30 s): `scripts/test.sh` (and so CI) calls it
# that way. Sizes can be set one by one:
#   DREAMSTER_PROPTEST_CASES, DREAMSTER_FAULT_KILLS, DREAMSTER_SOAK_SECS, DREAMSTER_SOAK_RPS.
# Ends with the figure of each run, as docs/reliability.md reports them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

if [ "${1:-}" = "--short" ]; then
    : "${DREAMSTER_PROPTEST_CASES:=1000}" "${DREAMSTER_FAULT_KILLS:=24}" "${DREAMSTER_SOAK_SECS:=30}"
elif [ -n "${1:-}" ]; then
    die "usage: scripts/soak.sh [--short]"
fi
export DREAMSTER_PROPTEST_CASES="${DREAMSTER_PROPTEST_CASES:-100000}"
export DREAMSTER_FAULT_KILLS="${DREAMSTER_FAULT_KILLS:-60}"
export DREAMSTER_SOAK_SECS="${DREAMSTER_SOAK_SECS:-600}"
export DREAMSTER_SOAK_RPS="${DREAMSTER_SOAK_RPS:-200}"

"$ROOT/scripts/setup.sh"
pg_isready -q -d "$DATABASE_URL" || die "PostgreSQL does not answer at $DATABASE_URL"
"$ROOT/scripts/build-contracts.sh"

log=$(mktemp)
run=$(mktemp)
trap 'rm -f "$log" "$run"' EXIT
status=0
# Each run must be exactly one test: a filter that matches nothing (a renamed test) would
# otherwise pass with "0 passed".
one() {
    cargo test "$@" 2>&1 | tee "$run" || status=1
    cat "$run" >>"$log"
    "$ROOT/scripts/summary.sh" "$run" --one || status=1
}
# Release mode for the contract sequences: the same test, about 30× faster than debug.
one --release --locked -p dreamster-release --lib sequences::money_balances_after_every_step -- --exact --nocapture
one --locked -p dreamster-indexer --test faults sigkills_database_crashes_and_a_node_restart_lose_and_duplicate_nothing -- --exact --nocapture
one --locked -p dreamster-api --test soak steady_traffic_without_errors_or_memory_growth -- --exact --nocapture

echo
echo "soak figures:"
grep -E '^(contract sequences|faults|api soak):' "$log" | sed 's/^/  /' || true
exit "$status"
