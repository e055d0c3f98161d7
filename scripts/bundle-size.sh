#!/usr/bin/env bash
# Prints the gzip size of the built SDK (pkg/: wasm + JS glue), as BENCHMARKS.md reports it.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=$(gzip -9c pkg/sightline_bg.wasm | wc -c)
# The JS glue plus any inline-JS snippets in pkg/snippets/ (none since scripts/build.sh bundles
# them into sightline.js; kept for builds made otherwise).
js=$(cat pkg/sightline.js $(find pkg/snippets -name '*.js' 2>/dev/null) | gzip -9c | wc -c)
printf 'bundle: sightline_bg.wasm %d B raw, %d B gzip; sightline.js (+ snippets) %d B raw, %d B gzip; total %d B gzip (%.1f KB)\n' \
  "$(wc -c <pkg/sightline_bg.wasm)" "$wasm" "$(cat pkg/sightline.js $(find pkg/snippets -name '*.js' 2>/dev/null) | wc -c)" "$js" "$((wasm + js))" \
  "$(awk "BEGIN { print ($wasm + $js) / 1000 }")"
rrweb=tests/node_modules/@rrweb/record/dist/record.umd.min.cjs
if [ -f "$rrweb" ]; then
  printf 'peer: @rrweb/record 2.1.6 record.umd.min.cjs %d B raw, %d B gzip\n' "$(wc -c <"$rrweb")" "$(gzip -9c "$rrweb" | wc -c)"
fi

# The budget: the total may not grow past the number in scripts/bundle-budget.txt (gzip
# bytes). Lower it whenever a change cuts the bundle; raise it only with a line in
# BENCHMARKS.md saying what the bytes buy.
budget=$(tr -dc '0-9' < scripts/bundle-budget.txt)
total=$((wasm + js))
if [ "$total" -gt "$budget" ]; then
  printf 'bundle: %d B gzip is over the budget of %d B (scripts/bundle-budget.txt)\n' "$total" "$budget" >&2
  exit 1
fi
printf 'bundle: within the budget of %d B (%d B to spare)\n' "$budget" "$((budget - total))"
