#!/usr/bin/env bash
# Fetches the real Apache Pinot the tests run, and a Kafka broker for REALTIME tables, from
# Maven Central into ~/.cache/pinot-operator/{pinot-<ver>,kafka-<ver>}/lib (or
# $PINOT_OPERATOR_CACHE). Versions come from tools/versions.env; tools/pinot/pom.xml lists
# the artefacts. A warm cache returns at once.
#
# Each component is resolved into a temporary directory next to its final place and renamed
# into place only when complete, so an interrupted fetch never looks like a finished one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PINOT_OPERATOR_CACHE:-$HOME/.cache/pinot-operator}"

fetch() { # fetch <profile> <version>
  local profile="$1" version="$2"
  local dest="$cache/$profile-$version"
  # crates/testenv checks the same marker before it starts anything. It records the
  # pom's hash, so a changed pom (e.g. a pinned dependency) refreshes the cache.
  local stamp
  stamp="$(sha256sum "$here/pinot/pom.xml" | cut -c1-16)"
  if grep -qs "$stamp" "$dest/.complete"; then return; fi
  command -v mvn >/dev/null || { echo "fetch-pinot: Maven (mvn) is required" >&2; exit 1; }
  echo "fetch-pinot: resolving $profile $version from Maven Central into $dest" >&2
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d "$cache/.$profile-$version.XXXXXX")"
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this call.
  trap "rm -rf '$tmp'" EXIT
  # runtime scope: pinot-tools declares the Kafka stream plugin, pinot-s3 and metrics as runtime.
  # Maven's full log only when it fails: on success it is noise (and, from Maven 3.8, ANSI codes).
  if ! mvn -B -Dstyle.color=never -f "$here/pinot/pom.xml" -P "$profile" \
    -Dpinot.version="$PINOT_VERSION" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
    >"$tmp/maven.log" 2>&1; then
    cat "$tmp/maven.log" >&2
    echo "fetch-pinot: Maven failed to resolve $profile $version (log above)" >&2
    exit 1
  fi
  rm "$tmp/maven.log"
  echo "$profile $version $(ls "$tmp/lib" | wc -l) jars pom $stamp" >"$tmp/.complete"
  # Another fetch may have finished first (and be in use): keep its copy.
  if grep -qs "$stamp" "$dest/.complete"; then
    rm -rf "$tmp"
  else
    rm -rf "$dest"
    mv "$tmp" "$dest"
  fi
  trap - EXIT
}

fetch pinot "$PINOT_VERSION"
fetch kafka "$KAFKA_VERSION"
echo "fetch-pinot: Pinot $PINOT_VERSION and Kafka $KAFKA_VERSION ready under $cache" >&2
