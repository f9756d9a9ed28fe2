#!/usr/bin/env bash
# Idempotent installer for everything Dreamster needs on a Debian machine.
# Safe to run at any time: each step checks first and prints one line
# ("present" / "installed" / "started"). The first run on a new 2-core machine
# takes about an hour (the contracts node alone is ~50 min); later runs take seconds.
set -euo pipefail

RUST_VERSION=1.91.0
NODE_WASM_RUST_VERSION=1.81.0
CARGO_CONTRACT_VERSION=5.0.3
CONTRACTS_NODE_VERSION=0.42.0
PG_PORT=${DREAMSTER_PG_PORT:-5432}
PG_ROLE=dreamster
PG_PASSWORD=dreamster
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV=${DREAMSTER_SCHEMATHESIS_VENV:-$HOME/.cache/dreamster/schemathesis}

export PATH="$HOME/.cargo/bin:$PATH"
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
LOG_DIR=${DREAMSTER_SETUP_LOG_DIR:-$HOME/.cache/dreamster/setup-logs}
mkdir -p "$LOG_DIR"

say() { printf '%-28s %s\n' "$1" "$2"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Runs a long command with its output in a log file, printing a heartbeat so a
# human (and CI's log) can see it is alive.
run_logged() {
    local name=$1; shift
    local log="$LOG_DIR/$name.log"
    local start=$SECONDS
    "$@" >"$log" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 60
        if kill -0 "$pid" 2>/dev/null; then
            printf '  … %s: %d min, last: %s\n' "$name" $(((SECONDS - start) / 60)) \
                "$(tail -n 1 "$log" | cut -c1-100)"
        fi
    done
    if ! wait "$pid"; then
        echo "FAILED: $name — last lines of $log:" >&2
        tail -n 40 "$log" >&2
        return 1
    fi
}

apt_packages() {
    local missing=()
    for p in protobuf-compiler clang libclang-dev postgresql pkg-config libssl-dev curl python3-venv chromium chromium-driver fonts-noto-color-emoji; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "debian packages" "present"
    else
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
        say "debian packages" "installed (${missing[*]})"
    fi
}

has_toolchain() {
    local tc=$1; shift
    rustup toolchain list | grep -q "^$tc-" || return 1
    local installed
    installed=$(rustup component list --toolchain "$tc" --installed 2>/dev/null) || return 1
    for c in "$@"; do
        grep -q "^$c" <<<"$installed" || return 1
    done
}

toolchains() {
    if has_toolchain "$RUST_VERSION" rust-src clippy rustfmt rust-std-wasm32-unknown-unknown; then
        say "rust $RUST_VERSION" "present"
    else
        rustup toolchain install "$RUST_VERSION" --profile minimal -t wasm32-unknown-unknown \
            -c rust-src -c clippy -c rustfmt >/dev/null 2>&1
        say "rust $RUST_VERSION" "installed"
    fi
    # The node's runtime Wasm (sp-io 38) does not compile under Rust >= 1.84.
    if has_toolchain "$NODE_WASM_RUST_VERSION" rust-src rust-std-wasm32-unknown-unknown; then
        say "rust $NODE_WASM_RUST_VERSION (node wasm)" "present"
    else
        rustup toolchain install "$NODE_WASM_RUST_VERSION" --profile minimal \
            -t wasm32-unknown-unknown -c rust-src >/dev/null 2>&1
        say "rust $NODE_WASM_RUST_VERSION (node wasm)" "installed"
    fi
}

cargo_contract() {
    if cargo-contract --version 2>/dev/null | grep -q "$CARGO_CONTRACT_VERSION"; then
        say "cargo-contract" "present ($CARGO_CONTRACT_VERSION)"
        return
    fi
    echo "cargo-contract $CARGO_CONTRACT_VERSION: building (about 10-12 min on 2 cores)"
    run_logged cargo-contract cargo "+$RUST_VERSION" install "cargo-contract@$CARGO_CONTRACT_VERSION" --locked --force
    say "cargo-contract" "installed ($CARGO_CONTRACT_VERSION)"
}

registry_src_dir() {
    # The folder cargo unpacks crates.io sources into; its hash differs between cargo versions,
    # so take the one that holds a crate this cargo has already unpacked.
    local d
    for d in "$CARGO_HOME"/registry/src/index.crates.io-*; do
        [ -d "$d/cargo-contract-$CARGO_CONTRACT_VERSION" ] && { echo "$d"; return; }
    done
    # Nothing unpacked yet: the folder name cargo >= 1.85 gives crates.io.
    echo "$CARGO_HOME/registry/src/index.crates.io-1949cf8c6b5b557f"
}

contracts_node() {
    if substrate-contracts-node --version 2>/dev/null | grep -q "$CONTRACTS_NODE_VERSION"; then
        say "substrate-contracts-node" "present ($CONTRACTS_NODE_VERSION)"
        return
    fi
    echo "substrate-contracts-node $CONTRACTS_NODE_VERSION: building (about 50 min on 2 cores)"
    local src
    src="$(registry_src_dir)/contracts-node-$CONTRACTS_NODE_VERSION"
    # The runtime Wasm is built in a separate project that does not see the crate's
    # Cargo.lock unless pointed at it, and only compiles with an older toolchain.
    WASM_BUILD_WORKSPACE_HINT="$src" \
    WASM_BUILD_TOOLCHAIN="$NODE_WASM_RUST_VERSION" \
    SKIP_ROCOCO_RUNTIME_WASM_BUILD=1 \
    SKIP_CONTRACTS_PARACHAIN_RUNTIME_WASM_BUILD=1 \
        run_logged contracts-node cargo "+$RUST_VERSION" install "contracts-node@$CONTRACTS_NODE_VERSION" --locked --force
    say "substrate-contracts-node" "installed ($CONTRACTS_NODE_VERSION)"
}

postgres() {
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
        say "postgresql" "present (127.0.0.1:$PG_PORT)"
    else
        local ver
        ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
        if ! pg_lsclusters -h 2>/dev/null | awk '{print $1,$2}' | grep -q "^$ver main$"; then
            as_root pg_createcluster "$ver" main >/dev/null
        fi
        as_root pg_ctlcluster "$ver" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 1; done
        pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { echo "postgresql did not start" >&2; return 1; }
        say "postgresql" "started (127.0.0.1:$PG_PORT)"
    fi
    # The project role may create databases: every test makes its own.
    if as_root su postgres -c "psql -p $PG_PORT -tAc \"select 1 from pg_roles where rolname='$PG_ROLE'\"" | grep -q 1; then
        say "postgres role $PG_ROLE" "present"
    else
        as_root su postgres -c "psql -p $PG_PORT -qc \"create role $PG_ROLE login createdb password '$PG_PASSWORD'\""
        as_root su postgres -c "createdb -p $PG_PORT -O $PG_ROLE $PG_ROLE"
        say "postgres role $PG_ROLE" "installed"
    fi
    # The services' own roles (scripts/db-roles.sql gives each its part of a database); the
    # project role is a member of each, so it can set a database up for them.
    local role missing=()
    for role in dreamster_indexer dreamster_api dreamster_reader; do
        as_root su postgres -c "psql -p $PG_PORT -tAc \"select 1 from pg_roles where rolname='$role'\"" | grep -q 1 ||
            missing+=("$role")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "postgres service roles" "present"
    else
        for role in "${missing[@]}"; do
            as_root su postgres -c "psql -p $PG_PORT -qc \"create role $role login password '$PG_PASSWORD'\""
            as_root su postgres -c "psql -p $PG_PORT -qc \"grant $role to $PG_ROLE\""
        done
        say "postgres service roles" "installed (${missing[*]})"
    fi
}

# The API's OpenAPI fuzzer (PyPI), in its own virtualenv.
schemathesis() {
    local bin="$SCHEMATHESIS_VENV/bin/schemathesis"
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
        say "schemathesis" "present ($SCHEMATHESIS_VERSION)"
        return
    fi
    python3 -m venv "$SCHEMATHESIS_VENV"
    run_logged schemathesis "$SCHEMATHESIS_VENV/bin/pip" install "schemathesis==$SCHEMATHESIS_VERSION"
    say "schemathesis" "installed ($SCHEMATHESIS_VERSION)"
}

# The pages' browser packages (api/web/package-lock.json: the polkadot.js libraries the dev
# wallet is bundled from, esbuild, eslint, axe-core, and swagger-ui-dist, which the API serves
# at /docs) and the dev wallet bundle. npm checks each package against the lockfile's integrity
# hash; swagger-ui-dist's install-time analytics (@scarf/scarf) are off by package.json.
web_packages() {
    local web="$ROOT_DIR/api/web"
    if ! command -v npm >/dev/null; then
        as_root apt-get install -y -qq nodejs npm >/dev/null
    fi
    # Installed packages are current when they were installed from this very lockfile (a
    # stamp of its hash: npm rewrites its own hidden lockfile on other commands too).
    local stamp="$web/node_modules/.dreamster-lock.sha256" want
    want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        (cd "$web" && SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$want" >"$stamp"
        say "web packages" "installed (npm ci)"
    else
        say "web packages" "present"
    fi
    local bundle="$web/dist/devwallet.js"
    if [ ! -f "$bundle" ] || [ -n "$(find "$web/devwallet" "$web/package-lock.json" -newer "$bundle" 2>/dev/null)" ]; then
        (cd "$web" && npm run --silent build >/dev/null 2>&1) || { echo "FAILED: building $bundle" >&2; return 1; }
        say "dev wallet bundle" "built ($(du -k "$bundle" | cut -f1) KiB)"
    else
        say "dev wallet bundle" "present"
    fi
}

main() {
    local only=${1:-all}
    case $only in
        all) apt_packages; toolchains; postgres; schemathesis; web_packages; cargo_contract; contracts_node ;;
        quick) apt_packages; toolchains; postgres ;;
        *) echo "usage: setup.sh [all|quick]" >&2; exit 2 ;;
    esac
}

main "$@"
