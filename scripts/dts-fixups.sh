#!/usr/bin/env bash
# Adds doc comments to what wasm-bindgen declares without one (`free()`, `[Symbol.dispose]()`,
# `InitInput`, `SyncInitInput`, `InitOutput`), so that the API reference (scripts/api-docs.sh:
# TypeDoc, warnings as errors) finds every exported symbol documented. The raw wasm exports
# inside `InitOutput` are marked @internal (TypeDoc leaves them out). Idempotent: a file that
# already has the comments is left as it is. Used by scripts/package.sh and scripts/api-docs.sh.
#
#   bash scripts/dts-fixups.sh FILE.d.ts...
set -euo pipefail
for dts in "$@"; do
  grep -q 'Releases the Rust object' "$dts" && continue
  sed -E -i \
    -e 's|^(    )free\(\): void;|\1/** Releases the Rust object. Call `stop()` first: the instance cannot be used afterwards. */\n\1free(): void;|' \
    -e 's|^(    )\[Symbol\.dispose\]\(\): void;|\1/** Same as `free()`, for `using` declarations. */\n\1[Symbol.dispose](): void;|' \
    -e 's|^export type InitInput =|/** What `init()` accepts: the wasm module as a URL, a `Response`, bytes or a compiled `WebAssembly.Module`. */\nexport type InitInput =|' \
    -e 's|^export type SyncInitInput =|/** What `initSync()` accepts: the wasm module as bytes or a compiled `WebAssembly.Module`. */\nexport type SyncInitInput =|' \
    -e 's|^export interface InitOutput \{|/** The raw exports of the wasm module, for wasm-bindgen'"'"'s glue: not part of the API. */\nexport interface InitOutput {|' \
    -e '/export interface InitOutput \{/,/^\}/ s|^(    )(readonly )|\1/** @internal */\n\1\2|' \
    "$dts"
done
