#!/usr/bin/env bash
# Installs what the tests and the sandbox need on a fresh Debian machine, then
# builds/fetches the real components into ~/.cache/pinot-operator (idempotent:
# a warm machine returns in seconds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

need_apt=()
command -v go >/dev/null || need_apt+=(golang-go)
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
# The test environment's real node (crates/testenv, real_node): a container runtime, pod
# networking, and debootstrap for the Debian base of the images tools/build-images.sh makes.
command -v containerd >/dev/null || need_apt+=(containerd)
[[ -x /usr/sbin/runc ]] || need_apt+=(runc)
[[ -x /usr/lib/cni/bridge ]] || need_apt+=(containernetworking-plugins)
[[ -x /usr/sbin/iptables ]] || need_apt+=(iptables)
[[ -x /usr/sbin/conntrack ]] || need_apt+=(conntrack)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 1; }

"$root/tools/build-kubernetes.sh"
"$root/tools/build-helm.sh"
"$root/tools/fetch-pinot.sh"
"$root/tools/build-images.sh" >/dev/null
