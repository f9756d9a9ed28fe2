#!/usr/bin/env bash
# Runs every test of the workspace — unit, property, contract (drink) and integration
# (real node, real Postgres) — after making sure everything they need is installed.
# Ends with one summary line: "summary: N passed, N failed, N skipped".
# The summary comes from an exit trap, so a run that stops early (setup, a build, an
# aborted test binary) still ends with it, and says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

log=$(mktemp)
stage="setup"
# Steps beside the test binaries that failed, named in the summary.
failures=()
finish() {
    local rc=$?
    trap - EXIT
    echo
    if [ "$stage" = "done" ]; then
        local extra=()
        for f in "${failures[@]}"; do extra+=(--also "$f"); done
        "$ROOT/scripts/summary.sh" "$log" "${extra[@]}" || rc=1
    else
        "$ROOT/scripts/summary.sh" "$log" --stopped "during $stage (exit $rc)" || true
        [ "$rc" -ne 0 ] || rc=1
    fi
    rm -f "$log"
    exit "$rc"
}
trap finish EXIT

"$ROOT/scripts/setup.sh"

# Nothing may be skipped for want of a part: say what is missing and stop.
command -v substrate-contracts-node >/dev/null || die "substrate-contracts-node is not installed (scripts/setup.sh failed?)"
pg_isready -q -d "$DATABASE_URL" || die "PostgreSQL does not answer at $DATABASE_URL"

# Databases left behind by test processes that were killed.
psql "$DATABASE_URL" -tAc "select datname from pg_database where datname like 'dreamster\_test\_%'" |
    while read -r db; do [ -n "$db" ] && psql "$DATABASE_URL" -qc "drop database if exists \"$db\" with (force)"; done

stage="the contract build"
"$ROOT/scripts/build-contracts.sh"
stage="the contract bench"
# The contract bench runs on the fresh bundles, so CI's log always shows current figures.
cargo run --quiet --locked -p dreamster-contract-bench

stage="the tests"
status=0
# The pages' JavaScript (api/web) is linted like the Rust code is compiled.
if (cd "$ROOT/api/web" && npx --no-install eslint src devwallet); then
    echo "eslint: api/web clean"
else
    echo "eslint: api/web has problems (above)"
    failures+=("eslint found problems in api/web")
    status=1
fi
# The long hardening tests run once, through scripts/soak.sh at CI's short size, so the
# script that runs them at full size is exercised too; the workspace run leaves them out.
long_tests=(
    money_balances_after_every_step
    sigkills_database_crashes_and_a_node_restart_lose_and_duplicate_nothing
    steady_traffic_without_errors_or_memory_growth
)
skips=()
for t in "${long_tests[@]}"; do skips+=(--skip "$t"); done
cargo test --workspace --locked --no-fail-fast -- "${skips[@]}" 2>&1 | tee "$log" || status=$?
"$ROOT/scripts/soak.sh" --short 2>&1 | tee -a "$log" || { status=1; failures+=("scripts/soak.sh --short (its own summary above says which run)"); }

stage="done"
exit "$status"
