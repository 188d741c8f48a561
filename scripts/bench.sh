#!/usr/bin/env bash
# Benchmark (prints figures as markdown tables, asserts nothing) against the real
# components: content convergence vs. a plain-client floor, steady-state resyncs,
# reaction latency, a server rollout on KWOK (PoolByPool vs OneByOne), and a rollout on
# real pods under a query load (failed and partial queries per strategy).
#   scripts/bench.sh [--sizes 100,1000] [--steady-seconds 300] [--changes 200]
#                    [--resync-seconds 60] [--ready-delay 5s]
#                    [--only admission|convergence|steady|latency|rollout|real-rollout] [--crds DIR]
# Defaults are the issue's figures; results and their reading are in docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Build output lives outside the clone, so a warm machine rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pinot-operator/cargo-target}"
"$root/scripts/setup.sh"
cargo build --release --locked -p pinot-operator -p testenv --bins
exec "$CARGO_TARGET_DIR/release/pinot-bench" "$@"
