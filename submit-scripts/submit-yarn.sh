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
USAGE
  usage_options
  cat <<'USAGE'

It passes the shaded jar (jobs/target/candor-jobs-<version>.jar, or $CANDOR_JAR), main class
io.candor.jobs.Candor, and the Java 17 options of conf/spark-defaults.conf.example for the driver and the
executors. GPUs: build with -Pcuda and add the spark.*.resource.gpu.* settings of that file.
Environment: SPARK_HOME (required), HADOOP_CONF_DIR or YARN_CONF_DIR (as spark-submit needs them), CANDOR_JAR,
CANDOR_QUEUE (YARN queue), CANDOR_DRIVER_MEMORY, CANDOR_EXECUTOR_MEMORY (default 4g each).
Exit code: spark-submit's. In cluster mode that is 0 when the application succeeded and 1 when it failed (YARN
does not report Candor's own exit code; the driver's log does); in client mode it is Candor's.
USAGE
}

script=submit-yarn.sh
# shellcheck source=cluster-submit.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-submit.sh"

args=(--master yarn "${args[@]}")
if [[ -n "${CANDOR_QUEUE:-}" ]]; then
  args+=(--queue "$CANDOR_QUEUE")
fi
submit
