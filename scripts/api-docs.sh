#!/usr/bin/env bash
# Builds the API reference from the package's TypeScript declarations (dist/web/sightline.d.ts,
# what `import … from "sightline"` gets) with TypeDoc into target/api-docs/ (git-ignored), which
# the demo collector serves at /docs/. Warnings are errors: every exported symbol, option and
# member must have a doc comment (src/web/types.rs, the Rust doc comments of src/web/sightline.rs,
# and the few scripts/package.sh adds to wasm-bindgen's own declarations).
#
# Needs dist/ from scripts/package.sh (built here when missing). The README's test command runs
# this through tests/e2e/docs.test.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/web/sightline.d.ts ]; then
  bash scripts/package.sh >/dev/null
fi
rm -rf target/api-docs
tests/node_modules/.bin/typedoc --options tests/docs/typedoc.json --logLevel Warn
[ -f target/api-docs/index.html ] || { echo "[api-docs] TypeDoc wrote no index.html" >&2; exit 1; }
echo "[api-docs] target/api-docs/index.html" >&2
