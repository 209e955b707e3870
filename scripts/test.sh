#!/usr/bin/env bash
# The one command that runs every test of modei:  ./scripts/test.sh   (from any directory)
#
# Installs what it needs, idempotently, and reuses what exists (a warm run only rebuilds):
#   rustup target wasm32-unknown-unknown, wasm-bindgen-cli of Cargo.lock's version (cargo install),
#   Debian chromium (apt, only if missing), .venv with maturin + pytest, npm packages.
# Steps: redis-server (apt, only if missing) -> Python binding (maturin develop + pytest) -> Rust tests (whole workspace) -> core for
#        wasm32 -> Node binding (napi) -> WASM binding under Node (both targets) -> WASM in a
#        real browser (Chromium). Python runs first so `cargo test` can reuse maturin's pyo3 config.
# Everything uses the dev profile. Set SKIP_BROWSER=1 to skip the Chromium step locally.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One target triple for every native build. `napi build` always passes `--target <host>`, which
# puts artifacts under target/<triple>/; building cargo test and maturin there too shares one
# dependency build instead of compiling everything twice. (wasm32 builds pass their own --target.)
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
# Same interpreter for `cargo test` and `maturin develop`, so pyo3 is not rebuilt back and forth.
export PYO3_PYTHON="$ROOT/.venv/bin/python"

T0=$SECONDS
STEP_NAMES=()
STEP_TIMES=()
current=""
step_start=0
LOG="$(mktemp -t modei-test.XXXXXX)"
# On failure, also the free disk space: a full disk shows up as odd tool errors (napi's
# "Failed to copy artifact" once), and the build output is several GB.
trap 'rc=$?; if [ $rc -ne 0 ]; then echo; echo "FAILED in step: ${current:-setup} (exit $rc)"; df -h "$ROOT" 2>/dev/null | tail -1; fi; rm -f "$LOG"' EXIT

step() {
  end_step
  current="$1"
  step_start=$SECONDS
  printf '\n==== [%s] %s ====\n' "$(date +%H:%M:%S)" "$1"
}
end_step() {
  if [ -n "$current" ]; then
    local d=$((SECONDS - step_start))
    STEP_NAMES+=("$current")
    STEP_TIMES+=("$d")
    printf -- '---- %s: %ss\n' "$current" "$d"
    current=""
  fi
}
# Runs a test command, keeping a copy of its output to count results at the end.
run_tests() { "$@" 2>&1 | tee -a "$LOG"; }

# ---------------------------------------------------------------------------------------------
step "tools: rust target, wasm-bindgen-cli, chromium"
echo "disk: $(df -h "$ROOT" | awk 'NR==2 {print $4 " free of " $2}')"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
cargo fetch --locked
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)" != "$WB_VERSION" ]; then
  # No --locked: the CLI's own lockfile pins a crate version the registry lacks (pitfall T1).
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi
wasm-bindgen --version
if [ "${SKIP_BROWSER:-0}" != 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

# ---------------------------------------------------------------------------------------------
step "redis: redis-server for the Redis tests (modei-redis, Python, Node)"
# The tests start their own servers (127.0.0.1, a free port, their own data dir) and stop them;
# this step only installs the binary (idempotent) and makes a missing one a failure.
if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
fi
redis-server --version
export MODEI_REQUIRE_REDIS=1

# ---------------------------------------------------------------------------------------------
step "python env: .venv with maturin + pytest + mypy"
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -x .venv/bin/maturin ] || [ ! -x .venv/bin/pytest ] || [ ! -x .venv/bin/mypy ]; then
  # mypy: the binding's stubs are checked with `mypy --strict` (modei-py/tests/test_typing.py).
  .venv/bin/pip install -q --disable-pip-version-check 'maturin>=1.9,<2' 'pytest>=8' 'mypy>=1.10'
fi
.venv/bin/maturin --version

# ---------------------------------------------------------------------------------------------
step "python: maturin develop + pytest"
(
  export VIRTUAL_ENV="$ROOT/.venv" PATH="$ROOT/.venv/bin:$PATH"
  maturin develop --locked -m modei-py/Cargo.toml
  cd modei-py && run_tests python -m pytest -q -p no:cacheprovider tests
)

# ---------------------------------------------------------------------------------------------
step "rust: cargo test --workspace"
# Reuse the pyo3 build config maturin wrote, so pyo3 is not rebuilt for each of the two tools.
pyo3_cfg="$(ls "${CARGO_TARGET_DIR:-$ROOT/target}"/maturin/pyo3-config-*.txt 2>/dev/null | head -1 || true)"
if [ -n "$pyo3_cfg" ]; then export PYO3_CONFIG_FILE="$pyo3_cfg"; fi
run_tests cargo test --workspace --locked

# ---------------------------------------------------------------------------------------------
step "rust: modei-core for wasm32-unknown-unknown"
cargo build -p modei-core --target wasm32-unknown-unknown --locked

# ---------------------------------------------------------------------------------------------
# npm ci when node_modules is missing or package-lock.json changed since the last install.
npm_ensure() {
  local dir="$1" stamp="$1/node_modules/.modei-lock-sha"
  local sha
  sha="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sha" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
    echo "$sha" > "$stamp"
  else
    echo "$dir/node_modules is up to date"
  fi
}

step "node: napi build + node --test"
npm_ensure modei-node
(
  cd modei-node
  if ! npx napi build --platform --js binding.js --dts binding.d.ts; then
    # napi's CLI reports some failures without their cause ("Failed to copy artifact"): once
    # more with its debug log, which names the file and the error (and gets past a transient).
    echo "napi build failed; once more with DEBUG=napi:* to show why"
    DEBUG='napi:*' npx napi build --platform --js binding.js --dts binding.d.ts
  fi
  # Explicit file list (pitfall N4: helpers like test/fuzz-entry.mjs are not tests).
  run_tests node --test --test-reporter=spec test/cjs.test.js test/esm.test.mjs test/errors.test.js \
    test/vectors.test.mjs test/types.test.js test/no-panic.test.js test/server.test.mjs test/redis.test.mjs
)

# ---------------------------------------------------------------------------------------------
step "wasm: build (pkg-node, pkg-web) + node --test"
npm_ensure modei-wasm
modei-wasm/build.sh
(cd modei-wasm && run_tests node --test --test-reporter=spec test/node.test.mjs test/web.test.mjs \
  test/vectors.test.mjs test/no-panic.test.mjs)

# ---------------------------------------------------------------------------------------------
if [ "${SKIP_BROWSER:-0}" != 1 ]; then
  step "wasm: real browser (Chromium via playwright-core)"
  (cd modei-wasm && run_tests node www/browser-test.mjs)
fi
end_step

# ---------------------------------------------------------------------------------------------
# Summary: per-step durations and the test counts the runners printed.
count() { { grep -E "$1" "$LOG" || true; } | awk -v f="$2" '{s+=$f} END{print s+0}'; }
rust_passed=$(count '^test result: ' 4)
rust_failed=$(count '^test result: ' 6)
py_passed=$(count '^[0-9]+ passed' 1)
node_passed=$(count '^ℹ pass ' 3)
node_failed=$(count '^ℹ fail ' 3)
browser=$({ grep -Eo 'RESULT: [A-Z]+ [0-9]+/[0-9]+' "$LOG" || true; } | tail -1)
echo
echo "==== summary ===="
for i in "${!STEP_NAMES[@]}"; do printf '%6ss  %s\n' "${STEP_TIMES[$i]}" "${STEP_NAMES[$i]}"; done
printf '%6ss  total\n' "$((SECONDS - T0))"
echo "disk: $(df -h "$ROOT" | awk 'NR==2 {print $4 " free"}'), build output $(du -sh "${CARGO_TARGET_DIR:-$ROOT/target}" 2>/dev/null | cut -f1)"
echo "rust: $rust_passed passed, $rust_failed failed | python: $py_passed passed | node+wasm (node --test): $node_passed passed, $node_failed failed | browser: ${browser:-skipped}"
total=$((rust_passed + py_passed + node_passed))
echo "ALL TESTS PASSED: $total passed, 0 failed"
