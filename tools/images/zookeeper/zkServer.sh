#!/usr/bin/env bash
# The image's ZooKeeper launcher, on the PATH as zkServer.sh. It speaks the subset of the
# distribution script's interface the operator uses:
#   zkServer.sh [--config <dir>] start-foreground
# <dir> holds zoo.cfg (default /conf). JVMFLAGS is passed to the JVM (heap settings).
set -euo pipefail
conf=/conf
if [[ ${1:-} == --config ]]; then
  conf="${2:?zkServer.sh: --config needs a directory}"
  shift 2
fi
case "${1:-}" in
  start-foreground) ;;
  *)
    echo "usage: zkServer.sh [--config <dir>] start-foreground" >&2
    exit 2
    ;;
esac
[[ -r $conf/zoo.cfg ]] || { echo "zkServer.sh: no readable $conf/zoo.cfg" >&2; exit 1; }
home=/opt/zookeeper
# shellcheck disable=SC2086 # JVMFLAGS is a list of options, split on purpose.
exec java ${JVMFLAGS:-} \
  -Dlogback.configurationFile="$home/conf/logback.xml" \
  -Dzookeeper.log.dir=/tmp \
  -XX:+ExitOnOutOfMemoryError \
  -cp "$home/lib/*:$conf" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf/zoo.cfg"
