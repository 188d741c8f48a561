#!/usr/bin/env bash
# Builds Helm from its Go module (helm.sh/helm/v3) into ~/.cache/pinot-operator/helm-<version>/bin,
# for `helm lint` / `helm template` of charts/pinot-operator. A warm cache returns at once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
out="${PINOT_OPERATOR_CACHE:-$HOME/.cache/pinot-operator}/helm-$HELM_VERSION/bin"
[[ -x "$out/helm" ]] && exit 0
echo "build-helm: building helm $HELM_VERSION into $out" >&2
mkdir -p "$out.tmp"
(cd "$here/helm" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out.tmp/helm" helm.sh/helm/v3/cmd/helm)
rm -rf "$out" && mv "$out.tmp" "$out"
