#!/usr/bin/env bash
# The main job: a local sandbox with real Kubernetes (KWOK nodes), a real Apache Pinot,
# the operator, and the examples applied. Ctrl-C tears everything down.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Build output lives outside the clone, so a warm machine rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pinot-operator/cargo-target}"
"$root/scripts/setup.sh"
cargo build --locked -p pinot-operator -p testenv --bins
exec "$CARGO_TARGET_DIR/debug/pinot-sandbox"
