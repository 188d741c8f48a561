#!/usr/bin/env bash
# The image's entrypoint: Pinot's command-line administrator (StartController,
# StartBroker, StartServer, StartMinion, StartZookeeper, AddTable, ...), like the
# official image's bin/pinot-admin.sh. JAVA_OPTS carries heap, log4j2 and plugin settings.
set -euo pipefail
home="${PINOT_HOME:-/opt/pinot}"
# Pinot up to 1.5 reaches into JDK internals (direct buffers, Netty); Java 17 refuses
# that without these.
opens=(
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
  -Dio.netty.tryReflectionSetAccessible=true
)
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options, split on purpose.
exec java "${opens[@]}" -Dpinot.admin.system.exit=false ${JAVA_OPTS:-} \
  -cp "$home/lib/*" org.apache.pinot.tools.admin.PinotAdministrator "$@"
