#!/usr/bin/env bash
# Builds the npm package `sightline` into dist/ and packs it as sightline-<version>.tgz in
# the repository root (both git-ignored). The tarball's path is the only line on stdout.
#
#   dist/web/       wasm-pack --target web      (the default entry "." and "./web": init())
#   dist/bundler/   wasm-pack --target bundler  ("./bundler": instantiated on import)
#   dist/package.json, README.md, LICENSE       from pkg-template/ (version from Cargo.toml)
#   dist/CHANGELOG.md, dist/docs/               from the repository root
#
# Release builds, optimized by npm's binaryen wasm-opt (tests/node_modules/.bin first on
# PATH, as scripts/build.sh does: Debian's wasm-opt 108 corrupts the externref table).
# Extra arguments go to both wasm-pack builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tests/node_modules/.bin:$PATH"

log() { printf '[package] %s\n' "$*" >&2; }

version=$(awk '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 } p && /^version *=/ { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)
[ -n "$version" ] || { log "no [package] version in Cargo.toml"; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/sightline-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT

for target in web bundler; do
  log "wasm-pack build --target $target (release)"
  wasm-pack build --target "$target" --release --out-dir "$stage/$target" --out-name sightline --no-pack "$@" >&2
  # wasm-pack writes a `*` .gitignore into its output; npm pack would honour it.
  rm -f "$stage/$target/.gitignore"
done
# The web build is what a plain <script type="module"> loads: ship its glue minified, with
# init() wrapped by scripts/glue/init.js (a CSP without 'wasm-unsafe-eval' is named as such).
mv "$stage/web/sightline.js" "$stage/web/sightline.raw.js"
# The glue's repeated code shared and short names for what the wasm and the glue call each
# other (as scripts/build.sh does), and
# the inline_js snippets bundled into the same minified file (no web/snippets/).
node scripts/glue/compact-glue.mjs "$stage/web/sightline.raw.js"
node scripts/glue/shorten-names.mjs "$stage/web"
cp scripts/glue/init.js "$stage/web/sightline.entry.js"
esbuild "$stage/web/sightline.entry.js" --bundle --minify --format=esm --log-level=error \
  --outfile="$stage/web/sightline.js"
rm -r "$stage/web/sightline.raw.js" "$stage/web/sightline.entry.js" "$stage/web/snippets"

cp -R pkg-template/. "$stage/"
cp CHANGELOG.md "$stage/CHANGELOG.md"
cp -R docs "$stage/docs"
node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = process.argv[2];
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$stage/package.json" "$version"

# The raw wasm exports (web build: `InitOutput`; both: sightline_bg.wasm.d.ts) are typed
# `any` by wasm-bindgen. Nobody calls them, but the package promises no `any` in its types:
# they become `unknown`.
find "$stage" -name '*.d.ts' -exec sed -E -i '/^ *(readonly [A-Za-z0-9_$]+|export const [A-Za-z0-9_$]+): \(/ s/\bany\b/unknown/g' {} +
# wasm-bindgen declares `[Symbol.dispose]()`, whose type lives in TypeScript's
# `esnext.disposable` lib (TS >= 5.2): reference it, so that a project compiling with
# `lib: ["ES2022", "DOM"]` and `skipLibCheck: false` type-checks the package cleanly.
for dts in "$stage/web/sightline.d.ts" "$stage/bundler/sightline.d.ts"; do
  grep -q 'Symbol.dispose' "$dts" && sed -i '1i /// <reference lib="esnext.disposable" />' "$dts"
done
# Doc comments for what wasm-bindgen declares without one (the API reference needs them).
bash scripts/dts-fixups.sh "$stage/web/sightline.d.ts" "$stage/bundler/sightline.d.ts"
# Type positions only: doc comments may say "any".
if grep -rnw --include='*.d.ts' 'any' "$stage" | grep -vE '^[^:]+:[0-9]+: *(\*|/\*|//)'; then
  log "the package's .d.ts files still use the type \`any\` (above)"
  exit 1
fi

rm -rf dist
mkdir dist
cp -R "$stage/." dist/
log "packing dist/ (sightline $version)"
rm -f "sightline-$version.tgz"
tarball=$(npm pack ./dist --pack-destination . --silent --loglevel=error | tail -n1)
[ "$tarball" = "sightline-$version.tgz" ] || { log "npm pack produced '$tarball'"; exit 1; }
log "$tarball: $(wc -c <"$tarball") bytes"
printf '%s\n' "$PWD/$tarball"
