#!/usr/bin/env bash
# Builds modei-wasm into pkg-node/ (wasm-bindgen --target nodejs) and pkg-web/ (--target web),
# each with the JS wrapper (index.mjs: error classes, wrapped functions) next to the bindings.
#
#   modei-wasm/build.sh            dev profile (what the tests use)
#   modei-wasm/build.sh --release  the `wasm-release` profile (opt-level z, fat LTO, one codegen
#                                  unit, panic=abort) with size-only rustflags (below) + wasm-opt
#                                  (`--merge-similar-functions -Oz --reorder-functions`) from npm
#                                  binaryen (installed on demand into modei-wasm/.tools; never
#                                  Debian's binaryen, whose wasm-opt 108 produces broken modules)
#   modei-wasm/build.sh --release --features cel
#                                  only these features (default: cel,tzdb,idna; "" = verify-only)
#
# Needs `wasm-bindgen` of the same version as Cargo.lock's wasm-bindgen on PATH
# (scripts/test.sh installs it: cargo install wasm-bindgen-cli --version X, without --locked).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

release=0
features=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) release=1 ;;
    --features) shift; features=(--no-default-features --features "${1-}") ;;
    *) echo "usage: $0 [--release] [--features LIST]" >&2; exit 2 ;;
  esac
  shift
done

want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "build.sh: need wasm-bindgen $want on PATH (found '${have:-none}');" \
       "run: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

cd "$ROOT"
if [ "$release" = 1 ]; then
  # Size-only rustflags, release only (the dev build the tests use keeps its cache): sha2's
  # compact software backend instead of the unrolled one (same digests, 16 KB less), and panic
  # locations that name `crate-x.y.z/src/...` instead of the absolute registry path.
  rf='--cfg sha2_backend_soft="compact"'
  for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    if [ -d "$d" ]; then rf="$rf --remap-path-prefix=$d="; fi
  done
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$rf" \
    cargo build -p modei-wasm --target wasm32-unknown-unknown --locked --profile wasm-release "${features[@]}"
  dir=wasm-release
else
  cargo build -p modei-wasm --target wasm32-unknown-unknown --locked "${features[@]}"
  dir=debug
fi
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
wasm="$target_dir/wasm32-unknown-unknown/$dir/modei_wasm.wasm"
version="$(node -p 'require(process.argv[1]).version' "$HERE/package.json")"

for t in node web; do
  out="$HERE/pkg-$t"
  rm -rf "$out"
  if [ "$t" = node ]; then bt=nodejs; type=commonjs; else bt=web; type=module; fi
  wasm-bindgen --target "$bt" --out-dir "$out" "$wasm"
  cp "$HERE/js/errors.mjs" "$HERE/js/api.mjs" "$HERE/js/index.d.ts" "$ROOT/modei-node/api.d.ts" "$out/"
  # One shaping layer for Node and WASM: modei-node/shape.js, as an ES module.
  sed -e "s/^'use strict';$//" -e 's/^module\.exports = { makeApi };$/export { makeApi };/' \
    "$ROOT/modei-node/shape.js" > "$out/shape.mjs"
  grep -q '^export { makeApi };$' "$out/shape.mjs"
  cp "$HERE/js/entry-$t.mjs" "$out/index.mjs"
  # pkg-node's wasm-bindgen output is CommonJS (pitfall W4); the wrapper files are .mjs.
  cat > "$out/package.json" <<JSON
{
  "name": "modei-wasm",
  "version": "$version",
  "license": "Apache-2.0",
  "type": "$type",
  "main": "index.mjs",
  "types": "index.d.ts",
  "exports": { ".": { "types": "./index.d.ts", "default": "./index.mjs" } }
}
JSON
done

if [ "$release" = 1 ]; then
  tools="$HERE/.tools"
  if [ ! -x "$tools/node_modules/.bin/wasm-opt" ]; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --no-save binaryen@132
  fi
  for t in node web; do
    f="$HERE/pkg-$t/modei_wasm_bg.wasm"
    # merge-similar-functions first (it finds more before -Oz inlines), -Oz until it stops
    # shrinking (--converge, ~1 KB, ~30 s more), reorder-functions last (the most-called
    # functions get one-byte indices), no producers section: about 20 KB less than -Oz alone.
    "$tools/node_modules/.bin/wasm-opt" --merge-similar-functions -Oz --converge \
      --reorder-functions --strip-producers \
      "$f" -o "$f.opt" && mv "$f.opt" "$f"
  done
fi
ls -l "$HERE"/pkg-node/*.wasm "$HERE"/pkg-web/*.wasm
echo "pkg-web wasm: $(wc -c < "$HERE/pkg-web/modei_wasm_bg.wasm") bytes raw, $(gzip -9c "$HERE/pkg-web/modei_wasm_bg.wasm" | wc -c) bytes gzip -9"
