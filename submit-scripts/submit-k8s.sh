#!/usr/bin/env bash
# Submits one Candor command to Kubernetes with $SPARK_HOME/bin/spark-submit.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: submit-scripts/submit-k8s.sh [--client] [--dry-run] [--spark-conf key=value]... <command> <conf> [candor args...]
  e.g. CANDOR_MASTER=k8s://https://<api-server>:6443 CANDOR_IMAGE=<your-image>:3.5.3-java17 \
       CANDOR_JAR=local:///opt/candor/candor-jobs.jar CANDOR_UPLOAD_PATH=s3a://bucket/spark-uploads \
       submit-scripts/submit-k8s.sh importance conf/samples/adult.conf \
         --set dataset.path=s3a://bucket/adult.csv --set output.root=s3a://bucket/candor

Runs `candor <command> --conf <conf> [candor args...]` on Kubernetes, by default in cluster mode: the driver runs
in a pod, so the conf is shipped with --files (uploaded to CANDOR_UPLOAD_PATH) and named by its base name. The
image needs Spark 3.5 (Scala 2.12) on Java 17. Every path in the conf (dataset.path, output.root) must be one the
pods can read: S3, HDFS or a mounted volume.
USAGE
  usage_options
  cat <<'USAGE'

It passes the shaded jar ($CANDOR_JAR: local:///... for a jar inside the image; by default the local
jobs/target/candor-jobs-<version>.jar, uploaded to CANDOR_UPLOAD_PATH), main class io.candor.jobs.Candor, and the
Java 17 options of conf/spark-defaults.conf.example for the driver and the executors. GPUs: build with -Pcuda,
add the spark.*.resource.gpu.* settings of that file and spark.executor.resource.gpu.vendor=nvidia.com.
Environment: SPARK_HOME (required), CANDOR_MASTER (required, k8s://https://<api-server>:<port>), CANDOR_IMAGE
(required), CANDOR_JAR, CANDOR_UPLOAD_PATH (needed to ship a local jar or conf in cluster mode),
CANDOR_NAMESPACE, CANDOR_SERVICE_ACCOUNT, CANDOR_DRIVER_MEMORY, CANDOR_EXECUTOR_MEMORY (default 4g each).
Exit code: spark-submit's. In cluster mode that is 0 when the driver pod succeeded and 1 when it failed (the pod's
log has Candor's message); in client mode it is Candor's.
USAGE
}

script=submit-k8s.sh
# shellcheck source=cluster-submit.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-submit.sh"

[[ "${CANDOR_MASTER:-}" == k8s://* ]] || die "CANDOR_MASTER must be k8s://https://<api-server>:<port>"
[[ -n "${CANDOR_IMAGE:-}" ]] || die "CANDOR_IMAGE must name a Spark 3.5 / Java 17 image"
args=(--master "$CANDOR_MASTER" "${args[@]}" --conf "spark.kubernetes.container.image=$CANDOR_IMAGE")
for setting in "spark.kubernetes.namespace=${CANDOR_NAMESPACE:-}" \
  "spark.kubernetes.authenticate.driver.serviceAccountName=${CANDOR_SERVICE_ACCOUNT:-}" \
  "spark.kubernetes.file.upload.path=${CANDOR_UPLOAD_PATH:-}"; do
  if [[ "$setting" != *= ]]; then
    args+=(--conf "$setting")
  fi
done
submit
