#!/usr/bin/env bash
# Builds the optimized `.contract` bundles (code + metadata) of both contracts, and of the
# test-only attacker the reentrancy test deploys (never part of the product).
# Release builds only: debug Wasm from Rust >= 1.87 is rejected by pallet-contracts.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
for contract in release registry hostile-registry; do
    cargo contract build --release --quiet --manifest-path "contracts/$contract/Cargo.toml"
    name="dreamster_${contract//-/_}"
    bundle="$DREAMSTER_CONTRACTS_DIR/$name/$name.contract"
    [ -f "$bundle" ] || die "cargo contract build did not produce $bundle"
    echo "built $bundle ($(stat -c %s "${bundle%.contract}.wasm") bytes of Wasm)"
done
