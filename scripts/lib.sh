# Shared settings for the project's scripts; sourced, never run.
# shellcheck shell=bash

export PATH="$HOME/.cargo/bin:$PATH"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Kept outside the clone so that a fresh clone (CI) reuses compiled dependencies.
# Plain output: scripts/summary.sh reads cargo's "Running …" lines.
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dreamster/target}
export DATABASE_URL=${DATABASE_URL:-postgres://dreamster:dreamster@127.0.0.1:5432/dreamster}
# Where `scripts/build-contracts.sh` leaves the `.contract` bundles the tests deploy.
export DREAMSTER_CONTRACTS_DIR=${DREAMSTER_CONTRACTS_DIR:-$CARGO_TARGET_DIR/ink}

die() {
    echo "error: $*" >&2
    exit 1
}
