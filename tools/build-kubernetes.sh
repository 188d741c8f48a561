#!/usr/bin/env bash
# Builds the real Kubernetes control plane the tests run (kube-apiserver,
# kube-controller-manager, kube-scheduler), etcd and KWOK from their Go modules, and what
# a real node runs (kubelet, kube-proxy, CoreDNS), into
# ~/.cache/pinot-operator/<component>-<version>/bin. A warm cache returns at once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PINOT_OPERATOR_CACHE:-$HOME/.cache/pinot-operator}"

command -v go >/dev/null || { echo "build-kubernetes: the Go toolchain is required" >&2; exit 1; }

# build <module dir> <output dir> <extra ldflags> <package>...
# Skips the build when every binary is there and was built with the same command (a
# stamp file records it), so changing flags or versions here rebuilds on next run.
build() {
  local dir="$1" out="$2" ldflags="-s -w $3"; shift 3
  local stamp="go build -ldflags='$ldflags' $*"
  local missing=0
  for pkg in "$@"; do [[ -x "$out/$(basename "$pkg")" ]] || missing=1; done
  if [[ $missing == 0 && "$(cat "$out/.stamp" 2>/dev/null)" == "$stamp" ]]; then return; fi
  echo "build-kubernetes: building $* into $out" >&2
  # Plain `go build` flags (no -trimpath, default CGO_ENABLED): compile results are keyed
  # by those flags, so any other invocation in this module dir (an IDE, a probe build)
  # shares the Go build cache. -ldflags only affect the final link and so stay cheap.
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$here/$dir" && go build -ldflags="$ldflags" -o "$out.tmp/" "$@")
  echo "$stamp" >"$out.tmp/.stamp"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# What `kube-apiserver --version` and the /version endpoint report; a build from the Go
# module otherwise says v0.0.0-master, which clients and kubectl would see.
k8s_version_ldflags() {
  local major minor flags=""
  IFS=. read -r major minor _ <<<"$KUBERNETES_VERSION"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

build k8s "$cache/kubernetes-$KUBERNETES_VERSION/bin" "$(k8s_version_ldflags)" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
# The node binaries have a directory (and stamp) of their own, so adding them left the
# control plane's cached build valid.
build k8s "$cache/kubernetes-node-$KUBERNETES_VERSION/bin" "$(k8s_version_ldflags)" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
build etcd "$cache/etcd-$ETCD_VERSION/bin" "" pinot-operator.dev/tools/etcd
build kwok "$cache/kwok-$KWOK_VERSION/bin" "" sigs.k8s.io/kwok/cmd/kwok
build coredns "$cache/coredns-$COREDNS_VERSION/bin" "" pinot-operator.dev/tools/coredns
echo "build-kubernetes: binaries ready under $cache" >&2
