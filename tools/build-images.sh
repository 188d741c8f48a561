#!/usr/bin/env bash
# Builds the OCI images the test environment's real node runs — nothing is pulled from any
# registry — into ~/.cache/pinot-operator/images (or $PINOT_OPERATOR_CACHE/images):
#
#   pinot-operator.local/pause:<key>                 the pod sandbox (tools/images/pause/pause.c)
#   pinot-operator.local/pinot:<PINOT_VERSION>       the official image's /opt/pinot interface
#   pinot-operator.local/pinot:<PINOT_VERSION>-next  the same files, another digest (upgrades)
#   pinot-operator.local/zookeeper:<ZOOKEEPER_VERSION>
#
# Pinot and ZooKeeper share one Debian base layer (debootstrap, openjdk-17-jre-headless).
# Every layer is cached under a key hashing its inputs (recipe, files, versions), and so is
# the OCI layout holding all four images: a warm cache returns in about a second.
#
#   tools/build-images.sh          build what is missing, print the layout's directory
#   tools/build-images.sh --list   only print it (exit 1 naming this script if not built)
#   tools/build-images.sh --operator <binary>
#                                  pinot-operator.local/pinot-operator:<hash> from a release
#                                  binary, in a layout of its own; prints its directory
#
# crates/testenv runs `--list` and imports the layout into its containerd.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PINOT_OPERATOR_CACHE:-$HOME/.cache/pinot-operator}"
images="$cache/images"
assets="$here/images"
registry=pinot-operator.local
pinot_lib="$cache/pinot-$PINOT_VERSION/lib"
zookeeper_lib="$cache/zookeeper-$ZOOKEEPER_VERSION/lib"

log() { echo "build-images: $*" >&2; }
hash_of() { sha256sum | cut -c1-16; }

# --- Inputs and keys -------------------------------------------------------------------

# The base layer's key: its recipe (this function's text) and the Debian suite.
base_key() { { declare -f base_rootfs; echo "$DEBIAN_SUITE"; } | hash_of; }

# A jar directory's identity: names and sizes (released jars never change under a name).
jars_id() { (cd "$1" && find . -name '*.jar' -printf '%p %s\n' | sort); }

pause_key() { { declare -f pause_layer; cat "$assets/pause/pause.c"; } | hash_of; }
pinot_key() {
  { declare -f pinot_layer; cat "$assets/pinot/"*; echo "$PINOT_VERSION"; jars_id "$pinot_lib"; } | hash_of
}
zookeeper_key() {
  { declare -f zookeeper_layer; cat "$assets/zookeeper/"*; echo "$ZOOKEEPER_VERSION"; jars_id "$zookeeper_lib"; } | hash_of
}

# --- Layers ----------------------------------------------------------------------------

# A reproducible uncompressed layer tar of <dir>'s contents: sorted, fixed mtime, numeric
# owners. Uncompressed because the layers never travel: gzip would only cost time (the
# Pinot layer is hundreds of MiB) on build and again on import.
layer_tar() { # <dir> <out>
  local entries
  mapfile -t entries < <(cd "$1" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
  tar --sort=name --mtime=@0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$1" -cf "$2" -- "${entries[@]}"
}

# Debian <suite> minbase with a headless Java 17 (bash, coreutils and the JRE's libraries
# come with it), without documentation, locales or apt's caches.
base_rootfs() { # <dir>
  debootstrap --variant=minbase --include=openjdk-17-jre-headless \
    "$DEBIAN_SUITE" "$1" http://deb.debian.org/debian >&2
  rm -rf "$1"/usr/share/{doc,man,info,locale} "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* \
    "$1"/var/log/* "$1"/tmp/*
  mkdir -p "$1/home"
}

pause_layer() { # <dir>
  gcc -static -Os -s -Wall -Wextra -Werror -o "$1/pause" "$assets/pause/pause.c"
}

# A system user <name> with uid and gid 1000 (what the operator's pods run as), as the
# layer's own copies of the base's /etc/passwd and /etc/group.
add_user() { # <dir> <name> <home>
  mkdir -p "$1/etc" "$1$3"
  cp "$base_dir/rootfs/etc/passwd" "$base_dir/rootfs/etc/group" "$1/etc/"
  echo "$2:x:1000:1000::$3:/bin/bash" >>"$1/etc/passwd"
  echo "$2:x:1000:" >>"$1/etc/group"
  chown 1000:1000 "$1$3"
}

pinot_layer() { # <dir>
  local home="$1/opt/pinot" role
  mkdir -p "$home"/{bin,etc/conf,plugins,configs,data}
  mkdir -p "$home/lib"
  cp -l "$pinot_lib"/*.jar "$home/lib/"
  install -m 0755 "$assets/pinot/pinot-admin.sh" "$home/bin/pinot-admin.sh"
  for role in controller broker server minion; do
    install -m 0644 "$assets/pinot/log4j2.xml" "$home/etc/conf/pinot-$role-log4j2.xml"
  done
  add_user "$1" pinot /home/pinot
  chown 1000:1000 "$home/configs" "$home/data"
}

zookeeper_layer() { # <dir>
  local home="$1/opt/zookeeper"
  mkdir -p "$home/lib" "$home/conf" "$1/usr/local/bin" "$1/conf" "$1/data"
  cp -l "$zookeeper_lib"/*.jar "$home/lib/"
  install -m 0644 "$assets/zookeeper/logback.xml" "$home/conf/logback.xml"
  install -m 0755 "$assets/zookeeper/zkServer.sh" "$1/usr/local/bin/zkServer.sh"
  add_user "$1" zookeeper /home/zookeeper
  chown 1000:1000 "$1/data"
}

# Builds layer <name> with <function> into $images/layers/<name>-<key>.tar unless cached;
# sets $layer to its path. Logs how long a build took.
layer() { # <name> <key> <function>
  layer="$images/layers/$1-$2.tar"
  [[ -f $layer ]] && return
  local started=$SECONDS tmp
  log "building layer $1 ($2)"
  mkdir -p "$images/layers"
  tmp="$(mktemp -d "$images/layers/.$1.XXXXXX")"
  mkdir "$tmp/rootfs"
  "$3" "$tmp/rootfs"
  layer_tar "$tmp/rootfs" "$tmp/layer.tar"
  mv "$tmp/layer.tar" "$layer"
  rm -rf "$tmp"
  log "layer $1 built in $((SECONDS - started)) s ($(du -h "$layer" | cut -f1))"
}

# The base rootfs stays unpacked next to its layer: add_user reads its /etc files.
base_layer() {
  local key
  key="$(base_key)"
  base_dir="$images/base-$key"
  layer="$base_dir/layer.tar"
  [[ -f $layer ]] && return
  command -v debootstrap >/dev/null || { log "debootstrap is missing: run scripts/setup.sh"; exit 1; }
  local started=$SECONDS tmp
  log "building the Debian $DEBIAN_SUITE base layer ($key): debootstrap, a few minutes"
  mkdir -p "$images"
  tmp="$(mktemp -d "$images/.base-$key.XXXXXX")"
  base_rootfs "$tmp/rootfs"
  layer_tar "$tmp/rootfs" "$tmp/layer.tar"
  rm -rf "$base_dir" && mv "$tmp" "$base_dir"
  log "base layer built in $((SECONDS - started)) s ($(du -h "$layer" | cut -f1))"
}

# --- OCI layout ------------------------------------------------------------------------

# Adds <file> to the layout's blobs (a hard link: no copy) and prints its descriptor
# fields "<digest> <size>".
blob() { # <layout> <file>
  local digest size
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  size="$(stat -c %s "$2")"
  ln -f "$2" "$1/blobs/sha256/${digest#sha256:}" 2>/dev/null || cp "$2" "$1/blobs/sha256/${digest#sha256:}"
  echo "$digest $size"
}

# Writes <json> to a temporary file and adds it as a blob; prints "<digest> <size>".
json_blob() { # <layout> <json>
  local file
  file="$(mktemp "$1/.json.XXXXXX")"
  printf '%s' "$2" >"$file"
  blob "$1" "$file"
  rm "$file"
}

# One image: its config and manifest blobs; appends its index entry to $index_entries.
# <config> is the image config's "config" object; layers are the files after it.
image() { # <layout> <reference> <config json> <layer>...
  local layout="$1" ref="$2" config="$3" diff_ids="" layers="" d s
  shift 3
  for file in "$@"; do
    read -r d s <<<"$(blob "$layout" "$file")"
    diff_ids+="${diff_ids:+,}\"$d\""
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$d\",\"size\":$s}"
  done
  read -r d s <<<"$(json_blob "$layout" "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":$config,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]}}")"
  local manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$d\",\"size\":$s},\"layers\":[$layers]}"
  read -r d s <<<"$(json_blob "$layout" "$manifest")"
  # io.containerd.image.name is the full name containerd's importer gives the image.
  index_entries+="${index_entries:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$s,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$ref\",\"org.opencontainers.image.ref.name\":\"${ref##*:}\"}}"
}

java_env='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64","LANG=C.UTF-8"'
pinot_config() { # <extra label json or empty>
  echo "{\"User\":\"1000:1000\",\"Env\":[$java_env,\"PINOT_HOME=/opt/pinot\"],\
\"Entrypoint\":[\"/opt/pinot/bin/pinot-admin.sh\"],\"Cmd\":[\"-help\"],\"WorkingDir\":\"/opt/pinot\",\
\"ExposedPorts\":{\"9000/tcp\":{},\"8099/tcp\":{},\"8098/tcp\":{},\"8097/tcp\":{},\"9514/tcp\":{}},\
\"Volumes\":{\"/opt/pinot/configs\":{},\"/opt/pinot/data\":{}},\
\"Labels\":{\"org.opencontainers.image.version\":\"$PINOT_VERSION\"$1}}"
}
zookeeper_config() {
  echo "{\"User\":\"1000:1000\",\"Env\":[$java_env],\"Cmd\":[\"zkServer.sh\",\"--config\",\"/conf\",\"start-foreground\"],\
\"WorkingDir\":\"/opt/zookeeper\",\"ExposedPorts\":{\"2181/tcp\":{},\"2888/tcp\":{},\"3888/tcp\":{},\"8080/tcp\":{}},\
\"Volumes\":{\"/data\":{}},\"Labels\":{\"org.opencontainers.image.version\":\"$ZOOKEEPER_VERSION\"}}"
}

# The layout with all four images, under a key of its layers and of this function.
layout() { # <pause> <base> <pinot> <zookeeper> layer keys
  local key dir tmp index_entries=""
  key="$({ declare -f layout image pinot_config zookeeper_config; echo "$*"; } | hash_of)"
  dir="$images/oci-$key"
  if [[ ! -f $dir/index.json ]]; then
    tmp="$(mktemp -d "$images/.oci-$key.XXXXXX")"
    mkdir -p "$tmp/blobs/sha256"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
    image "$tmp" "$registry/pause:$1" '{"User":"65535:65535","Entrypoint":["/pause"]}' "$pause_tar"
    image "$tmp" "$registry/pinot:$PINOT_VERSION" "$(pinot_config '')" "$base_tar" "$pinot_tar"
    image "$tmp" "$registry/pinot:$PINOT_VERSION-next" \
      "$(pinot_config ',"dev.pinot-operator.testenv.variant":"next"')" "$base_tar" "$pinot_tar"
    image "$tmp" "$registry/zookeeper:$ZOOKEEPER_VERSION" "$(zookeeper_config)" "$base_tar" "$zookeeper_tar"
    echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$index_entries]}" >"$tmp/index.json"
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "$dir"
}

# --- The operator's image ---------------------------------------------------------------

# The Dockerfile's layout (/usr/local/bin/pinot-operator, user 65532, port 8080,
# `pinot-operator run`) on the shared Debian base layer (already on the node, so it costs
# nothing more) instead of distroless, which cannot be pulled here.
operator_layer() { # <dir>
  install -D -m 0755 "$operator_binary" "$1/usr/local/bin/pinot-operator"
}
operator_config='{"User":"65532:65532","Entrypoint":["/usr/local/bin/pinot-operator"],"Cmd":["run"],"ExposedPorts":{"8080/tcp":{}},"Labels":{"org.opencontainers.image.source":"pinot-operator"}}'

# An OCI layout holding pinot-operator.local/pinot-operator:<binary hash>; prints its dir.
operator_layout() { # <binary>
  operator_binary="$(realpath "$1")"
  [[ -x $operator_binary ]] || { log "$1 is not an executable: build it with cargo build --release"; exit 1; }
  base_layer && base_tar="$layer"
  local key dir tmp index_entries=""
  key="$({ declare -f operator_layer operator_layout image; echo "$operator_config"; sha256sum <"$operator_binary"; } | hash_of)"
  layer operator "$key" operator_layer && operator_tar="$layer"
  dir="$images/operator-$key"
  if [[ ! -f $dir/index.json ]]; then
    tmp="$(mktemp -d "$images/.operator-$key.XXXXXX")"
    mkdir -p "$tmp/blobs/sha256"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
    image "$tmp" "$registry/pinot-operator:$key" "$operator_config" "$base_tar" "$operator_tar"
    echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$index_entries]}" >"$tmp/index.json"
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  # Only the newest operator image is kept.
  find "$images" -mindepth 1 -maxdepth 1 -name 'operator-*' ! -name "${dir##*/}" -exec rm -rf {} +
  find "$images/layers" -mindepth 1 -maxdepth 1 -name 'operator-*' ! -name "operator-$key.tar" -exec rm -rf {} +
  echo "$dir"
}

# --- Main ------------------------------------------------------------------------------

# --list: the layout's directory for the current inputs, without building anything.
list() {
  local base pause pinot zk
  base="$(base_key)"
  [[ -f $images/base-$base/layer.tar && -d $pinot_lib && -d $zookeeper_lib ]] || return 1
  pause="$(pause_key)" pinot="$(pinot_key)" zk="$(zookeeper_key)"
  local key
  key="$({ declare -f layout image pinot_config zookeeper_config; echo "$pause $base $pinot $zk"; } | hash_of)"
  [[ -f $images/oci-$key/index.json ]] && echo "$images/oci-$key"
}

fetch_zookeeper() {
  grep -qs "$(sha256sum "$here/zookeeper/pom.xml" | cut -c1-16)" "$zookeeper_lib/../.complete" && return
  log "resolving ZooKeeper $ZOOKEEPER_VERSION from Maven Central"
  local tmp
  tmp="$(mktemp -d "$cache/.zookeeper-$ZOOKEEPER_VERSION.XXXXXX")"
  if ! mvn -B -Dstyle.color=never -f "$here/zookeeper/pom.xml" -Dzookeeper.version="$ZOOKEEPER_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/maven.log" 2>&1; then
    cat "$tmp/maven.log" >&2
    log "Maven failed to resolve ZooKeeper $ZOOKEEPER_VERSION (log above)"
    exit 1
  fi
  rm "$tmp/maven.log"
  sha256sum "$here/zookeeper/pom.xml" | cut -c1-16 >"$tmp/.complete"
  rm -rf "${zookeeper_lib%/lib}" && mv "$tmp" "${zookeeper_lib%/lib}"
}

if [[ ${1:-} == --operator ]]; then
  [[ -n ${2:-} ]] || { log "usage: tools/build-images.sh --operator <pinot-operator binary>"; exit 1; }
  operator_layout "$2"
  exit 0
fi
if [[ ${1:-} == --list ]]; then
  list || { log "images not built for the current inputs: run tools/build-images.sh"; exit 1; }
  exit 0
fi
[[ -d $pinot_lib ]] || { log "$pinot_lib is missing: run tools/fetch-pinot.sh first"; exit 1; }
fetch_zookeeper
started=$SECONDS
base_layer && base_tar="$layer"
base="$(base_key)"
pause="$(pause_key)" && layer pause "$pause" pause_layer && pause_tar="$layer"
pinot="$(pinot_key)" && layer pinot "$pinot" pinot_layer && pinot_tar="$layer"
zk="$(zookeeper_key)" && layer zookeeper "$zk" zookeeper_layer && zookeeper_tar="$layer"
dir="$(layout "$pause" "$base" "$pinot" "$zk")"
# Older builds' layers and layouts (inputs changed since): only the current ones are used.
find "$images" -mindepth 1 -maxdepth 1 \( -name 'oci-*' -o -name 'base-*' \) \
  ! -name "${dir##*/}" ! -name "base-$base" -exec rm -rf {} +
find "$images/layers" -mindepth 1 -maxdepth 1 ! -name "pause-$pause.tar" ! -name "pinot-$pinot.tar" \
  ! -name "zookeeper-$zk.tar" ! -name 'operator-*' -exec rm -rf {} +
log "images ready in $dir ($((SECONDS - started)) s)"
echo "$dir"
