#!/usr/bin/env bash
# Runs Dreamster on this machine: installs what is missing, then starts a dev chain
# (state kept in .dreamster/chain between runs) and PostgreSQL, and prints the endpoints.
# Ctrl-C stops what this script started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

RPC_PORT=${DREAMSTER_RPC_PORT:-9944}
DATA_DIR=${DREAMSTER_DATA_DIR:-$ROOT/.dreamster}
mkdir -p "$DATA_DIR"

"$ROOT/scripts/setup.sh"

pids=()
cleanup() {
    trap - INT TERM EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        echo "stopping ${#pids[@]} process(es)"
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap cleanup INT TERM EXIT

rpc() {
    curl -s -H 'Content-Type: application/json' \
        -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":[]}" "http://127.0.0.1:$RPC_PORT"
}

if rpc system_health >/dev/null 2>&1; then
    die "something already answers on port $RPC_PORT (another run.sh?); set DREAMSTER_RPC_PORT"
fi
substrate-contracts-node --dev --base-path "$DATA_DIR/chain" --rpc-port "$RPC_PORT" --state-pruning archive \
    --no-telemetry --no-prometheus >"$DATA_DIR/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    rpc system_health >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || die "the node exited; see $DATA_DIR/node.log"
    sleep 1
done
rpc system_health >/dev/null 2>&1 || die "the node did not answer within 60 s; see $DATA_DIR/node.log"

cat <<INFO

Dreamster is running.
  chain RPC      ws://127.0.0.1:$RPC_PORT   (log: $DATA_DIR/node.log)
  PostgreSQL     $DATABASE_URL

Press Ctrl-C to stop.
INFO
wait "${pids[0]}"
