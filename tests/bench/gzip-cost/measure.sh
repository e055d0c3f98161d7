#!/usr/bin/env bash
# Prints the gzip size of a minimal wasm module with and without miniz_oxide's deflate.
set -euo pipefail
cd "$(dirname "$0")"
opt="../../node_modules/.bin/wasm-opt"
size() {
  cargo build --release --target wasm32-unknown-unknown --quiet --target-dir target "$@"
  "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    target/wasm32-unknown-unknown/release/gzip_cost.wasm -o target/opt.wasm
  gzip -9c target/opt.wasm | wc -c
}
without=$(size)
with=$(size --features encoder)
echo "minimal module: ${without} B gzip; with miniz_oxide deflate: ${with} B gzip; the encoder costs $((with - without)) B gzip"
