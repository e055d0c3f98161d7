#!/usr/bin/env bash
# Builds the SDK, its API reference and the collector, then serves the demo page, the
# dashboard and the API reference (/docs/).
# Ctrl-C stops it. Extra arguments go to the collector (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# The API reference at /docs/ (TypeDoc, a few seconds); the demo runs without it if it fails.
bash scripts/api-docs.sh pkg/sightline.d.ts || echo "[demo] the API reference was not built: /docs/ stays empty" >&2
cargo build -p sightline-collector --release --quiet
exec target/release/sightline-collector "$@"
