#!/usr/bin/env bash
# Runs the whole product on this machine: installs what is missing, builds the contracts
# and binaries, starts a dev chain (state kept in .dreamster/ between runs) and
# PostgreSQL, deploys the contracts and seeds demo data (first run only), starts the
# indexer, the refund keeper and the API, and prints the URL to open. Ctrl-C stops what it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

RPC_PORT=${DREAMSTER_RPC_PORT:-9944}
DATA_DIR=${DREAMSTER_DATA_DIR:-$ROOT/.dreamster}
mkdir -p "$DATA_DIR"

"$ROOT/scripts/setup.sh"
echo "building the contracts and binaries (several minutes the first time)"
[ -f "$DREAMSTER_CONTRACTS_DIR/dreamster_registry/dreamster_registry.contract" ] &&
    [ -f "$DREAMSTER_CONTRACTS_DIR/dreamster_release/dreamster_release.contract" ] ||
    "$ROOT/scripts/build-contracts.sh"
cargo build --release --locked -q -p dreamster-cli -p dreamster-indexer -p dreamster-api -p dreamster-keeper
BIN="$CARGO_TARGET_DIR/release"
export DREAMSTER_CONFIG="$DATA_DIR/config.json"
export DREAMSTER_RPC_URL="ws://127.0.0.1:$RPC_PORT"
API_PORT=${DREAMSTER_API_PORT:-8080}

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

# Deploy once per chain: --reuse keeps the registry when it still answers — but only one
# deployed from these very bundles. A registry from an older checkout speaks older events
# and messages than this indexer and API (its releases would be missing from the pages, and
# the indexer's audit would say so); a new one is deployed beside it, on the same chain.
bundles=$(cat "$DREAMSTER_CONTRACTS_DIR"/dreamster_registry/dreamster_registry.contract \
    "$DREAMSTER_CONTRACTS_DIR"/dreamster_release/dreamster_release.contract | sha256sum | cut -d' ' -f1)
reuse=()
[ "$(cat "$DATA_DIR/contracts.sha256" 2>/dev/null)" = "$bundles" ] && reuse=(--reuse)
"$BIN/dreamster" --suri //Alice deploy "${reuse[@]}" | tail -n 1
echo "$bundles" >"$DATA_DIR/contracts.sha256"
REGISTRY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$DREAMSTER_CONFIG")
if [ "$(cat "$DATA_DIR/demo.done" 2>/dev/null)" != "$REGISTRY" ]; then
    echo "seeding demo data (about a minute)"
    "$BIN/dreamster" --suri //Alice demo
    echo "$REGISTRY" >"$DATA_DIR/demo.done"
fi

# The read model lives in its own database, rebuilt unless it was indexed from this very
# chain and registry: its cursor's registry and block hash are compared with the node's
# (another checkout may share the database name; a dev chain may have been reset), since
# the indexer refuses to mix two chains.
READ_DB=${DREAMSTER_READ_DB:-dreamster_read_model}
READ_URL="${DATABASE_URL%/*}/$READ_DB"
# (A database set up before the services had roles of their own is rebuilt too, once: what
# the API kept in it — uploaded secrets, sessions, hooks — belonged to that layout.)
stored=$(psql -tA "$READ_URL" -c "SELECT encode(registry, 'hex') || ' ' || block_number || ' 0x' || encode(block_hash, 'hex') FROM read_model.indexer_cursor" 2>/dev/null || true)
keep=no
if [ -n "$stored" ]; then
    read -r stored_registry stored_block stored_hash <<<"$stored"
    chain_hash=$(curl -s -H 'Content-Type: application/json' \
        -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"chain_getBlockHash\",\"params\":[$stored_block]}" \
        "http://127.0.0.1:$RPC_PORT" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("result") or "")')
    wanted_registry=$(python3 - "$REGISTRY" <<'PY'
import sys
# SS58 → the 32-byte account in hex (base58, then prefix and checksum stripped).
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n = 0
for c in sys.argv[1]:
    n = n * 58 + alphabet.index(c)
raw = n.to_bytes(35, "big")
print(raw[1:33].hex())
PY
)
    if [ "$stored_registry" = "$wanted_registry" ] && [ "$stored_hash" = "$chain_hash" ]; then
        keep=yes
    fi
fi
if [ "$keep" = no ]; then
    psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $READ_DB WITH (FORCE)" -c "CREATE DATABASE $READ_DB"
fi
# Each service under its own role (scripts/setup.sh creates them): the indexer owns the read
# model, the API its own tables and reads the read model, the keeper only reads.
psql -q -v ON_ERROR_STOP=1 "$READ_URL" -f "$ROOT/scripts/db-roles.sql" ||
    die "could not give the services their roles in $READ_DB (scripts/setup.sh creates the roles)"
# The read model's URL as another role: only the user name changes (the password, host and
# options stay as written; scripts/setup.sh gives every role the project role's password).
role_url() {
    python3 - "$READ_URL" "$1" <<'PY'
import sys
import urllib.parse as u
p = u.urlsplit(sys.argv[1])
userinfo, at, hostport = p.netloc.rpartition("@")
password = userinfo.partition(":")[2] if at else ""
print(u.urlunsplit(p._replace(netloc=f"{sys.argv[2]}{':' + password if password else ''}@{hostport}")))
PY
}
INDEXER_METRICS="${DREAMSTER_INDEXER_METRICS:-127.0.0.1:9616}"
"$BIN/dreamster-indexer" --registry "$REGISTRY" --database-url "$(role_url dreamster_indexer)" \
    --metrics-listen "$INDEXER_METRICS" >"$DATA_DIR/indexer.log" 2>&1 &
pids+=($!)
API_METRICS="${DREAMSTER_API_METRICS:-127.0.0.1:9617}"
"$BIN/dreamster-api" --listen "127.0.0.1:$API_PORT" --database-url "$(role_url dreamster_api)" --dev-wallet \
    --metrics-listen "$API_METRICS" >"$DATA_DIR/api.log" 2>&1 &
pids+=($!)
# The refund keeper signs as the operator (//Alice on the dev chain, who deployed): it
# pays the fees of refunds nobody claimed; the contract pays the holders.
KEEPER_SURI="$DATA_DIR/keeper.suri"
(umask 077 && echo "//Alice" >"$KEEPER_SURI")
"$BIN/dreamster-keeper" --database-url "$(role_url dreamster_reader)" --rpc-url "$DREAMSTER_RPC_URL" \
    --suri-file "$KEEPER_SURI" >"$DATA_DIR/keeper.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 30); do
    curl -sf "http://127.0.0.1:$API_PORT/health" >/dev/null && break
    sleep 1
done
curl -sf "http://127.0.0.1:$API_PORT/health" >/dev/null || die "the API did not answer; see $DATA_DIR/api.log"
sleep 1 # the indexer checks the database and the chain as it starts
kill -0 "${pids[1]}" 2>/dev/null || die "the indexer stopped: $(grep -m1 '^error' "$DATA_DIR/indexer.log" || tail -n 1 "$DATA_DIR/indexer.log")"

cat <<INFO

Dreamster is running.
  open           http://127.0.0.1:$API_PORT/
  chain RPC      ws://127.0.0.1:$RPC_PORT   (log: $DATA_DIR/node.log)
  registry       $REGISTRY   (config: $DREAMSTER_CONFIG)
  read model     $READ_URL   (indexer log: $DATA_DIR/indexer.log)
  refund keeper  log: $DATA_DIR/keeper.log
$( [ "$INDEXER_METRICS" = off ] || echo "  indexer        http://$INDEXER_METRICS/metrics, http://$INDEXER_METRICS/health" )
$( [ "$API_METRICS" = off ] || echo "  API metrics    http://$API_METRICS/metrics" )
  CLI            scripts/dreamster --help

Press Ctrl-C to stop.
INFO
wait "${pids[0]}"
