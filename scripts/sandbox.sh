#!/usr/bin/env bash
# The main job: a local sandbox with real Kubernetes (KWOK nodes), a real Apache Pinot,
# the operator, and the examples applied. Ctrl-C tears everything down.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
cargo build --locked -p pinot-operator -p testenv --bins
exec "$root/target/debug/pinot-sandbox"
