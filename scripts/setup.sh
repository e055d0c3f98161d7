#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently: the Rust wasm
# target, wasm-pack, wasm-bindgen-cli, Debian's chromium, firefox-esr, WebKitGTK's WebDriver
# and MiniBrowser, xvfb, geckodriver, and the npm packages in tests/.
# Safe to run on every invocation: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
WASM_PACK_VERSION=0.15.1

log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v wasm-pack >/dev/null 2>&1 || ! wasm-pack --version | grep -q "$WASM_PACK_VERSION"; then
  log "installing wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo install wasm-pack --locked --version "$WASM_PACK_VERSION"
fi

if ! command -v wasm-bindgen >/dev/null 2>&1 || ! wasm-bindgen --version | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Without --locked: its lock file pins a webpki-roots release the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  log "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The other two engines of the browser tests: Firefox ESR (driven by geckodriver, built from
# crates.io, and by puppeteer-core over WebDriver BiDi) and WebKitGTK (WebKitWebDriver drives
# its MiniBrowser; it needs a display, hence xvfb). Nothing downloads a browser build.
apt_missing=()
[ -x /usr/bin/firefox-esr ] || apt_missing+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || apt_missing+=(webkit2gtk-driver)
# MiniBrowser ships in the libwebkit2gtk package under its libexec folder.
ls /usr/lib/*/webkit2gtk-4.*/MiniBrowser >/dev/null 2>&1 || apt_missing+=(libwebkit2gtk-4.1-0)
command -v xvfb-run >/dev/null 2>&1 || apt_missing+=(xvfb xauth)
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "installing ${apt_missing[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if ! command -v geckodriver >/dev/null 2>&1; then
  log "installing geckodriver from crates.io (a few minutes)"
  cargo install geckodriver --locked
fi

# Node packages (wasm-opt from npm's binaryen, playwright-core, rrweb, peers for benchmarks).
if [ -f tests/package-lock.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
    log "installing node packages (npm ci in tests/)"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
log "toolchain ready"
