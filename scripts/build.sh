#!/usr/bin/env bash
# Builds the SDK's web package into pkg/ (sightline.js + sightline_bg.wasm), optimized by
# npm's binaryen wasm-opt (Debian's wasm-opt 108 corrupts wasm-bindgen's externref table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tests/node_modules/.bin:$PATH"
# A clean output: wasm-pack leaves stale snippets/ folders of earlier builds behind.
rm -rf pkg
wasm-pack build --target web --release --out-dir pkg --out-name sightline --no-pack "$@" >&2
# The glue ships as written by wasm-bindgen, comments and all: minify it for pages that load
# it with a plain <script type="module"> (bundlers minify it again anyway; -2.5 KB gzip).
# scripts/glue/init.js wraps init() so that a page whose CSP forbids WebAssembly is told to
# add 'wasm-unsafe-eval'; esbuild bundles it with the glue into one pkg/sightline.js.
mv pkg/sightline.js pkg/sightline.raw.js
# Code the glue repeats per import shared (scripts/glue/compact-glue.mjs), then short names
# for what the wasm and the glue call each other instead of wasm-bindgen's hashed ones
# (scripts/glue/shorten-names.mjs; -6.6 KB gzip).
node scripts/glue/compact-glue.mjs pkg/sightline.raw.js
node scripts/glue/shorten-names.mjs pkg
cp scripts/glue/init.js pkg/sightline.entry.js
# The inline_js snippets (pkg/snippets/) are bundled into the same file and minified with it:
# one module to load instead of eight. esbuild warns about the duplicate keys of wasm-bindgen's
# imports object (one per function imported from the same snippet): harmless, hence
# --log-level=error.
esbuild pkg/sightline.entry.js --bundle --minify --format=esm --log-level=error --outfile=pkg/sightline.js
rm -r pkg/sightline.raw.js pkg/sightline.entry.js pkg/snippets
