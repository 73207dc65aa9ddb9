#!/usr/bin/env bash
# Submits one Candor command to YARN with $SPARK_HOME/bin/spark-submit.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: submit-scripts/submit-yarn.sh [--client] [--dry-run] [--spark-conf key=value]... <command> <conf> [candor args...]
  e.g. submit-scripts/submit-yarn.sh train conf/samples/adult.conf \
         --set dataset.path=hdfs:///data/adult.csv --set output.root=hdfs:///candor

Runs `candor <command> --conf <conf> [candor args...]` on YARN (`--master yarn`), by default in cluster mode:
the driver runs in the cluster, so the conf is shipped with --files and named by its base name. Every path in
the conf (dataset.path, output.root) must be one the cluster can read: HDFS, S3 or a shared file system.
Commands: train, qat, distill, importance, shapley, bench (see `candor --help`).

Options:
  --client              client mode: the driver runs here and reads the conf from its local path
  --spark-conf k=v      one more spark-submit --conf (repeatable), e.g. spark.executor.instances=4
  --dry-run             print the spark-submit command instead of running it
  -h, --help            this text

It passes the shaded jar (jobs/target/candor-jobs-<version>.jar, or $CANDOR_JAR), main class
io.candor.jobs.Candor, and the Java 17 options of conf/spark-defaults.conf.example for the driver and the
executors. GPUs: build with -Pcuda and add the spark.*.resource.gpu.* settings of that file.
Environment: SPARK_HOME (required), HADOOP_CONF_DIR or YARN_CONF_DIR (as spark-submit needs them), CANDOR_JAR,
CANDOR_QUEUE (YARN queue), CANDOR_DRIVER_MEMORY, CANDOR_EXECUTOR_MEMORY (default 4g each).
Exit code: spark-submit's. In cluster mode that is 0 when the application succeeded and 1 when it failed (YARN
does not report Candor's own exit code; the driver's log does); in client mode it is Candor's.
USAGE
}

die() {
  echo "submit-yarn.sh: $1 (see --help)" >&2
  exit 2
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deploy=cluster
dry_run=false
extra=()
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --client) deploy=client; shift ;;
    --dry-run) dry_run=true; shift ;;
    --spark-conf)
      [[ $# -ge 2 && "$2" == *=* ]] || die "--spark-conf needs key=value"
      extra+=(--conf "$2"); shift 2 ;;
    *) die "unknown option '$1'" ;;
  esac
done
[[ $# -ge 2 ]] || die "expected <command> <conf>"
command="$1"
conf="$2"
shift 2
case "$command" in
  train | qat | distill | importance | shapley | bench) ;;
  *) die "unknown command '$command'" ;;
esac
[[ -f "$conf" ]] || die "conf file '$conf' not found"

# The Java 17 options, from the one place the scripts keep them for clusters.
opens="$(awk '$1 == "spark.executor.extraJavaOptions" { $1 = ""; sub(/^ +/, ""); print }' \
  "$root/conf/spark-defaults.conf.example")"
jar="${CANDOR_JAR:-}"
if [[ -z "$jar" ]]; then
  for f in "$root"/jobs/target/candor-jobs-*.jar; do
    case "$f" in *-tests.jar | *-sources.jar | *-javadoc.jar) ;; *) [[ -f "$f" ]] && jar="$f" ;; esac
  done
  [[ -n "$jar" ]] || die "no shaded jar: build it with 'mvn -B -DskipTests package' or set CANDOR_JAR"
fi

args=(--master yarn --deploy-mode "$deploy" --class io.candor.jobs.Candor
  --driver-memory "${CANDOR_DRIVER_MEMORY:-4g}" --executor-memory "${CANDOR_EXECUTOR_MEMORY:-4g}"
  --conf "spark.driver.extraJavaOptions=$opens" --conf "spark.executor.extraJavaOptions=$opens")
if [[ -n "${CANDOR_QUEUE:-}" ]]; then
  args+=(--queue "$CANDOR_QUEUE")
fi
if [[ "$deploy" == cluster ]]; then
  # The driver starts in a YARN container, where --files puts the conf in its working directory.
  args+=(--files "$conf")
  conf="$(basename "$conf")"
fi
args+=("${extra[@]}" "$jar" "$command" --conf "$conf" "$@")

if [[ "$dry_run" == true ]]; then
  printf '%s/bin/spark-submit' "${SPARK_HOME:-\$SPARK_HOME}"
  printf ' %q' "${args[@]}"
  echo
  exit 0
fi
[[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]] || die "SPARK_HOME must name a Spark 3.5 installation"
exec "$SPARK_HOME/bin/spark-submit" "${args[@]}"
