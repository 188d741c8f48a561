#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): N schemas + N tables synced into a real
# Pinot by the operator binary, an update of all tables, and the operator's peak memory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Build output lives outside the clone, so a warm machine rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pinot-operator/cargo-target}"
"$root/scripts/setup.sh"
cargo build --release --locked -p pinot-operator -p testenv --bins
exec "$CARGO_TARGET_DIR/release/pinot-bench" "${1:-50}"
