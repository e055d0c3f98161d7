#!/usr/bin/env bash
# Builds the API reference from the package's TypeScript declarations with TypeDoc into
# target/api-docs/ (git-ignored), which the demo collector serves at /docs/. Warnings are
# errors: every exported symbol, option and member must have a doc comment (src/web/types.rs,
# the Rust doc comments of src/web/sightline.rs, and scripts/dts-fixups.sh for wasm-bindgen's
# own declarations).
#
#   bash scripts/api-docs.sh [FILE.d.ts]
#
# FILE defaults to the package's dist/web/sightline.d.ts (scripts/package.sh) when it is
# newer than pkg/sightline.d.ts (scripts/build.sh, the same wasm-bindgen output), else the
# latter. The README's test command runs this on the package (tests/e2e/docs.test.mjs);
# scripts/demo.sh runs it on pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-}
if [ -z "$src" ]; then
  if [ -f dist/web/sightline.d.ts ] && { [ ! -f pkg/sightline.d.ts ] || [ dist/web/sightline.d.ts -nt pkg/sightline.d.ts ]; }; then
    src=dist/web/sightline.d.ts
  else
    [ -f pkg/sightline.d.ts ] || bash scripts/build.sh
    src=pkg/sightline.d.ts
  fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sightline-api-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src" "$work/sightline.d.ts"
bash scripts/dts-fixups.sh "$work/sightline.d.ts"
rm -rf target/api-docs
tests/node_modules/.bin/typedoc --options tests/docs/typedoc.json --entryPoints "$work/sightline.d.ts" --logLevel Warn
[ -f target/api-docs/index.html ] || { echo "[api-docs] TypeDoc wrote no index.html" >&2; exit 1; }
echo "[api-docs] $src -> target/api-docs/ (served by the collector at /docs/)" >&2
