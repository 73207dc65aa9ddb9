#!/usr/bin/env bash
# Runs one Candor command on Spark in local mode, through spark-submit.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: submit-scripts/run-local.sh <command> <conf> [more candor args...]
       submit-scripts/run-local.sh bench <benchmark> <conf> [more candor args...]
  e.g. submit-scripts/run-local.sh train conf/samples/breast_cancer.conf --set train.epochs=5
       submit-scripts/run-local.sh bench importance conf/samples/digits.conf

Commands: those of `candor --help` (now: train, qat, distill, importance, shapley, audit, bench importance,
bench shapley, bench scale).
Builds the jar first if it is missing. Uses $SPARK_HOME/bin/spark-submit when SPARK_HOME is set,
otherwise Spark's SparkSubmit from the Maven-resolved Spark jars (needs only Java 17 and Maven).

Environment: CANDOR_MASTER (default local[*]), CANDOR_DRIVER_MEMORY (default 4g), CANDOR_EXECUTOR_MEMORY
(cluster masters), JAVA_OPTS.
Exit code: Candor's (0 ok, 1 internal, 2 usage/config, 3 input data/model, 4 audit threshold breached).
EOF
}

if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  usage
  exit 0
fi
if [[ $# -lt 2 ]]; then
  echo "run-local.sh: expected <command> <conf> (see --help)" >&2
  exit 2
fi
command=("$1")
shift
# Benchmarks are two words: bench <name> <conf>.
if [[ "${command[0]}" == "bench" && $# -ge 2 ]]; then
  command+=("$1")
  shift
fi
conf="$1"
shift

# The conf is named relative to the caller's directory, but we run from the project root.
if [[ -f "$conf" ]]; then
  conf="$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Java 17 closes JDK internals that Spark and ND4J reach into; keep in sync with candor.jvm.opens in pom.xml.
opens="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
log4j="-Dlog4j2.configurationFile=$root/conf/log4j2.properties"

find_jar() {
  local f
  for f in jobs/target/candor-jobs-*.jar; do
    case "$f" in
      *-tests.jar | *-sources.jar | *-javadoc.jar) ;;
      *) [[ -f "$f" ]] && { echo "$f"; return 0; } ;;
    esac
  done
  return 1
}

jar="$(find_jar || true)"
if [[ -z "$jar" || ! -f jobs/target/spark-classpath.txt ]]; then
  echo "run-local.sh: building the Candor jar (mvn -B -q -DskipTests package)..." >&2
  mvn -B -q -DskipTests package >&2
  jar="$(find_jar)"
fi

# The log4j option rides in spark.driver.extraJavaOptions, not --driver-java-options: both set the same
# key, and whichever comes last would silently drop the other's add-opens.
submit_args=(
  --master "${CANDOR_MASTER:-local[*]}"
  --class io.candor.jobs.Candor
  --driver-memory "${CANDOR_DRIVER_MEMORY:-4g}"
  --conf "spark.driver.extraJavaOptions=$opens $log4j"
  --conf "spark.executor.extraJavaOptions=$opens"
  --conf spark.ui.enabled=false
)
if [[ -n "${CANDOR_EXECUTOR_MEMORY:-}" ]]; then
  submit_args+=(--conf "spark.executor.memory=$CANDOR_EXECUTOR_MEMORY")
fi
submit_args+=("$jar" "${command[@]}" --conf "$conf" "$@")

# exec, so that Candor's exit code is the script's.
if [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]]; then
  exec "$SPARK_HOME/bin/spark-submit" "${submit_args[@]}"
fi

# In client mode the driver is this very JVM, started before SparkSubmit reads its arguments: the heap
# size, add-opens and log4j config must be on the java command line itself. JAVA_OPTS comes after -Xmx so
# that it can override it, and is split into words on purpose.
# shellcheck disable=SC2086
exec java -Xmx"${CANDOR_DRIVER_MEMORY:-4g}" ${JAVA_OPTS:-} $opens "$log4j" \
  -cp "$(cat jobs/target/spark-classpath.txt)" org.apache.spark.deploy.SparkSubmit "${submit_args[@]}"
