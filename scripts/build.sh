#!/usr/bin/env bash
# Builds the SDK's web package into pkg/ (sightline.js + sightline_bg.wasm), optimized by
# npm's binaryen wasm-opt (Debian's wasm-opt 108 corrupts wasm-bindgen's externref table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tests/node_modules/.bin:$PATH"
wasm-pack build --target web --release --out-dir pkg --out-name sightline --no-pack "$@" >&2
