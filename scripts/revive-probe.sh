#!/usr/bin/env bash
# Issue 15's probe (docs/platform.md): can Dreamster's contracts move to ink! 6 on
# pallet-revive? It installs cargo-contract 6 beside the product's 5.0.3, ports the contracts
# (the product's sources at $BASE plus probe/revive/port.patch), builds them, and runs them on
# pallet-revive 0.20.2 in the runtime of probe/revive/harness, then on a real node:
# polkadot-omni-node from crates.io running probe/revive/runtime, driven through subxt 0.38.
# Nothing here is part of the product or of scripts/test.sh: the first run installs and builds
# for about two hours on two cores (the node alone about 80 minutes); a second run reuses all
# of it and takes about four minutes (the runtime is rebuilt for each of its two variants).
#
# Environment: DREAMSTER_PROBE_DIR (default ~/.cache/dreamster/revive-probe) holds the tools,
# the node, the ported sources and the target directories; DREAMSTER_PROBE_RPC_PORT (default
# 9955) is the node's RPC port, beside the product's node on 9944.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${DREAMSTER_PROBE_DIR:-$HOME/.cache/dreamster/revive-probe}"
# The product's sources the patch was written against (the contracts and crates/types).
BASE=0b7e78bcfca4f71bc83ef00d93ae56379d25e1bc
TOOLCHAIN=1.91.0
CARGO_CONTRACT_6=6.0.0-beta.2
OMNI_NODE=0.24.0
RPC_PORT="${DREAMSTER_PROBE_RPC_PORT:-9955}"
PROBE="$ROOT/probe/revive"
CC6="$WORK/tools/bin/cargo-contract"

step() { printf '\n== %s\n' "$*"; }
# Runs a command and says how long it took, in seconds of wall time.
timed() {
    local start=$SECONDS
    "$@"
    echo "took $((SECONDS - start)) s: $*"
}

mkdir -p "$WORK"
# The probe's directories have no rust-toolchain.toml: without this cargo-contract would call
# the machine's default cargo, and a newer one refuses its target spec ("`.json` target specs
# require -Zjson-target-spec").
export RUSTUP_TOOLCHAIN="$TOOLCHAIN"
command -v rustup >/dev/null || { echo "rustup is needed (see scripts/setup.sh)" >&2; exit 1; }
git -C "$ROOT" cat-file -e "$BASE^{commit}" 2>/dev/null \
    || { echo "commit $BASE is not in this clone (a shallow clone?): git fetch --unshallow" >&2; exit 1; }
# Output captured before matching: `grep -q` on a pipe may end it early (SIGPIPE under pipefail).
toolchains="$(rustup toolchain list)"
[[ "$toolchains" == *"$TOOLCHAIN"* ]] || rustup toolchain install "$TOOLCHAIN" --profile minimal
rustup component add rust-src --toolchain "$TOOLCHAIN" >/dev/null

step "cargo-contract $CARGO_CONTRACT_6 (installed under $WORK/tools, not over the product's)"
installed="$("$CC6" contract --version 2>/dev/null || true)"
if [[ "$installed" != *"$CARGO_CONTRACT_6"* ]]; then
    # Built by the same Rust as the contracts: cargo-contract picks its rustc flags by the
    # Rust version it was compiled with.
    timed cargo "+$TOOLCHAIN" install cargo-contract --version "$CARGO_CONTRACT_6" --locked \
        --root "$WORK/tools"
fi
"$CC6" contract --version

step "the port: sources at $BASE with probe/revive/port.patch"
STAMP="$(cat "$PROBE/port.patch" "$PROBE/workspace/Cargo.toml" "$PROBE/workspace/Cargo.lock" | sha256sum | cut -c1-16)-$BASE"
if [ "$(cat "$WORK/port/.stamp" 2>/dev/null)" != "$STAMP" ]; then
    rm -rf "$WORK/port"
    mkdir -p "$WORK/port"
    # -m: the files get today's time, so cargo never mistakes them for an older build's.
    git -C "$ROOT" archive "$BASE" contracts/release contracts/registry crates/types \
        | tar -x -m -C "$WORK/port"
    patch -d "$WORK/port" -p1 --quiet --no-backup-if-mismatch < "$PROBE/port.patch"
    cp "$PROBE/workspace/Cargo.toml" "$PROBE/workspace/Cargo.lock" "$WORK/port/"
    echo "$STAMP" > "$WORK/port/.stamp"
fi
files="$(grep -c '^+++ ' "$PROBE/port.patch")"
echo "patch: $(($(grep -c '^+' "$PROBE/port.patch") - files)) lines added," \
    "$(($(grep -c '^-' "$PROBE/port.patch") - files)) removed, in $files files"

step "build both contracts with cargo-contract 6 (--release)"
export CARGO_TARGET_DIR="$WORK/target-contracts"
# cargo-contract copies Cargo.lock but does not pass --locked: check it is complete first.
(cd "$WORK/port" && cargo "+$TOOLCHAIN" metadata --locked --format-version 1 >/dev/null)
for contract in release registry; do
    timed "$CC6" contract build --release --quiet \
        --manifest-path "$WORK/port/contracts/$contract/Cargo.toml"
done
ARTIFACTS="$WORK/artifacts"
mkdir -p "$ARTIFACTS"
for contract in release registry; do
    for ext in polkavm json; do
        built="$CARGO_TARGET_DIR/ink/dreamster_$contract/dreamster_$contract.$ext"
        [ -f "$built" ] || { echo "cargo-contract wrote no $built" >&2; exit 1; }
        cp "$built" "$ARTIFACTS/"
    done
    echo "dreamster_$contract.polkavm: $(stat -c %s "$ARTIFACTS/dreamster_$contract.polkavm") bytes"
done

step "the contracts' own #[ink::test] unit tests, ported (a failing test is a finding here)"
export CARGO_TARGET_DIR="$WORK/target-tests"
TESTS_LOG="$WORK/unit-tests.log"
(cd "$WORK/port" && cargo "+$TOOLCHAIN" test --locked --no-fail-fast -p dreamster-types -p dreamster-release -p dreamster-registry \
    > "$TESTS_LOG" 2>&1) || true
grep -E '^test result|^     Running' "$TESTS_LOG" || { echo "no test ran: see $TESTS_LOG" >&2; exit 1; }
grep -E '^test .* FAILED$' "$TESTS_LOG" | sed 's/^/  /' || true

step "run them on pallet-revive 0.20.2 (probe/revive/harness)"
rm -rf "$WORK/harness"
cp -a "$PROBE/harness" "$WORK/harness"
export CARGO_TARGET_DIR="$WORK/target-harness"
(cd "$WORK/harness" && timed cargo "+$TOOLCHAIN" build --release --locked --quiet)
"$CARGO_TARGET_DIR/release/revive-probe" "$ARTIFACTS"

step "a node from crates.io: polkadot-omni-node $OMNI_NODE (under $WORK/node)"
NODE="$WORK/node/bin/polkadot-omni-node"
if [ ! -x "$NODE" ]; then
    # Its target directory is kept until the install finishes (a cut build resumes), then
    # dropped: it holds about 10 GB.
    CARGO_TARGET_DIR="$WORK/node/target" timed cargo "+$TOOLCHAIN" install polkadot-omni-node \
        --version "$OMNI_NODE" --locked --root "$WORK/node"
    rm -rf "$WORK/node/target"
fi
# The crate 0.24.0 calls itself 1.25.1 (polkadot-sdk's release numbering).
node_version="$("$NODE" --version)"
[[ "$node_version" == *"1.25.1"* ]] || { echo "$NODE is $node_version, not omni-node $OMNI_NODE: remove $WORK/node" >&2; exit 1; }
echo "$node_version"
command -v curl >/dev/null || { echo "curl is needed to wait for the node's RPC" >&2; exit 1; }

# Builds probe/revive/runtime with the given features and writes its chain spec to $SPEC.
export CARGO_TARGET_DIR="$WORK/target-runtime"
# The Wasm is built by a second cargo in a project of wasm-builder's own, which takes its lock
# from here; without it, it resolved alloy-trie 0.9.9 and pallet-revive failed to compile
# ("missing field `all_branch_nodes`").
export WASM_BUILD_WORKSPACE_HINT="$WORK/runtime"
rm -rf "$WORK/runtime"
cp -a "$PROBE/runtime" "$WORK/runtime"
runtime_with() {
    local features="$1"
    (cd "$WORK/runtime" && timed cargo "+$TOOLCHAIN" build --release --locked --quiet --features "$features")
    local wasm="$CARGO_TARGET_DIR/release/wbuild/dreamster-probe-runtime/dreamster_probe_runtime.compact.compressed.wasm"
    [ -f "$wasm" ] || { echo "the runtime build wrote no $wasm" >&2; exit 1; }
    echo "runtime Wasm: $(stat -c %s "$wasm") bytes"
    # No parachain-info pallet: the para id comes from the spec; the relay chain is never asked.
    "$NODE" chain-spec-builder -c "$SPEC" create -t development --relay-chain dev --para-id 1000 \
        --properties tokenSymbol=DOT,tokenDecimals=10 -r "$wasm" named-preset development
}

# Starts the node on $SPEC, waits (at most 60 s) for its RPC on $RPC_PORT, runs the driver,
# stops the node.
drive() {
    local log="$WORK/node$1.log" ready=""
    # A node left over (or anything else) on the port would be driven instead of this one,
    # and the node would quietly take another port.
    if curl -s "http://127.0.0.1:$RPC_PORT" >/dev/null 2>&1; then
        echo "something already answers on port $RPC_PORT: stop it or set DREAMSTER_PROBE_RPC_PORT" >&2
        exit 1
    fi
    "$NODE" --chain "$SPEC" --tmp --dev-block-time 1000 --rpc-port "$RPC_PORT" \
        --port "$((RPC_PORT + 1))" --no-prometheus --no-telemetry > "$log" 2>&1 &
    # Global: the trap runs after this function has returned.
    node_pid=$!
    trap 'kill "$node_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 60); do
        kill -0 "$node_pid" 2>/dev/null || { echo "the node exited: see $log" >&2; tail -20 "$log" >&2; exit 1; }
        if curl -sf -H 'Content-Type: application/json' \
            -d '{"id":1,"jsonrpc":"2.0","method":"chain_getHeader","params":[]}' \
            "http://127.0.0.1:$RPC_PORT" >/dev/null; then
            ready=1
            break
        fi
        sleep 1
    done
    [ -n "$ready" ] || { echo "the node's RPC did not answer on $RPC_PORT within 60 s: see $log" >&2; exit 1; }
    grep -q "addr=127.0.0.1:$RPC_PORT" "$log" \
        || { echo "the node did not take port $RPC_PORT: see $log" >&2; exit 1; }
    "$WORK/target-harness/release/revive-node-probe" "ws://127.0.0.1:$RPC_PORT" "$ARTIFACTS"
    kill "$node_pid"
    wait "$node_pid" 2>/dev/null || true
    trap - EXIT
}

SPEC="$WORK/chain-spec.json"
step "its runtime, accounts mapped by hand: probe/revive/runtime (pallet-revive 0.20.2; Aura, which omni-node needs)"
runtime_with ""
step "the node in dev mode (a block a second, each 6 s of chain time) and the scenario through subxt 0.38"
drive ""

step "the same runtime with auto-map (accounts mapped on creation, as asset-hub-westend-runtime 0.57.0)"
runtime_with auto-map
step "the node again, and the scenario"
drive -auto-map
