#!/usr/bin/env bash
# Runs a candor command in Spark local mode with spark-submit semantics:
#   submit-scripts/run-local.sh <command> <conf> [more candor args...]
# e.g. submit-scripts/run-local.sh train conf/samples/breast_cancer.conf --set train.epochs=5
#
# Uses $SPARK_HOME/bin/spark-submit when SPARK_HOME is set; otherwise Spark's own SparkSubmit class from the
# Maven-resolved Spark jars, so a fresh clone needs only Java 17 and Maven.
# Environment: CANDOR_MASTER (default local[*]), CANDOR_DRIVER_MEMORY (default 4g), JAVA_OPTS.
set -euo pipefail

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  usage
  exit 0
fi
if [[ $# -lt 2 ]]; then
  usage >&2
  exit 2
fi
command="$1"
conf="$2"
shift 2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Java 17 closes JDK internals that Spark and ND4J use; the same list as candor.jvm.opens in pom.xml.
opens="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"

jar="$(ls jobs/target/candor-jobs-*.jar 2>/dev/null | grep -v original- | head -n 1 || true)"
if [[ -z "$jar" || ! -f jobs/target/spark-classpath.txt ]]; then
  echo "run-local.sh: building the shaded jar (mvn -DskipTests package) ..." >&2
  mvn -B -q -DskipTests package >&2
  jar="$(ls jobs/target/candor-jobs-*.jar | grep -v original- | head -n 1)"
fi

log4j="-Dlog4j2.configurationFile=$root/conf/log4j2.properties"
submit_args=(
  --master "${CANDOR_MASTER:-local[*]}"
  --class io.candor.jobs.Candor
  --driver-memory "${CANDOR_DRIVER_MEMORY:-4g}"
  --conf "spark.driver.extraJavaOptions=$opens $log4j"
  --conf "spark.executor.extraJavaOptions=$opens"
  --conf spark.ui.enabled=false
  "$jar" "$command" --conf "$conf" "$@"
)

if [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]]; then
  exec "$SPARK_HOME/bin/spark-submit" "${submit_args[@]}"
fi
# In client mode the driver is this JVM: the options must be on the java command itself.
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -Xmx"${CANDOR_DRIVER_MEMORY:-4g}" $opens "$log4j" \
  -cp "$(cat jobs/target/spark-classpath.txt)" org.apache.spark.deploy.SparkSubmit "${submit_args[@]}"
