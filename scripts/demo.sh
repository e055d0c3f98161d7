#!/usr/bin/env bash
# Builds the SDK and the collector, then serves the demo page and the dashboard.
# Ctrl-C stops it. Extra arguments go to the collector (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cargo build -p sightline-collector --release --quiet
exec target/release/sightline-collector "$@"
