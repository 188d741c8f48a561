#!/usr/bin/env bash
# The whole test suite: setup, formatting, lints, unit and integration tests
# against real Kubernetes and real Pinot. Nothing is skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Build output lives outside the clone, so a warm machine rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pinot-operator/cargo-target}"

"$root/scripts/setup.sh"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
