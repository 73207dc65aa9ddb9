#!/usr/bin/env bash
# Runs `candor bench scale` on a fresh Spark standalone cluster of this machine, as the scale issue measures it:
# 2 workers with 1 core and 3 GB each, and a 512 MB driver heap (client mode: the driver is this script's JVM).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  cat <<'USAGE'
Usage: submit-scripts/bench-scale.sh [candor bench scale args...]
  e.g. submit-scripts/bench-scale.sh --sizes 1000000,4000000,16000000 --work-dir /data/bench
Starts submit-scripts/standalone-cluster.sh (2 workers, 1 core, 3g each), submits
`candor bench scale --conf conf/bench/scale.conf` with a 512m driver heap and 3g executors, and stops the
cluster on exit. Without --work-dir the data and tables go under candor-out/bench-scale (deleted per size
unless --keep). Environment: CANDOR_WORKERS, CANDOR_WORKER_CORES, CANDOR_WORKER_MEMORY,
CANDOR_DRIVER_MEMORY (default 512m), CANDOR_EXECUTOR_MEMORY (default the worker memory).
Exit code: Candor's.
USAGE
  exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workers="${CANDOR_WORKERS:-2}" cores="${CANDOR_WORKER_CORES:-1}" memory="${CANDOR_WORKER_MEMORY:-3g}"
"$here/standalone-cluster.sh" start "$workers" "$cores" "$memory"
trap '"$here/standalone-cluster.sh" stop' EXIT
status=0
CANDOR_MASTER="spark://127.0.0.1:${CANDOR_MASTER_PORT:-7077}" \
  CANDOR_DRIVER_MEMORY="${CANDOR_DRIVER_MEMORY:-512m}" CANDOR_EXECUTOR_MEMORY="${CANDOR_EXECUTOR_MEMORY:-$memory}" \
  "$here/run-local.sh" bench scale "$here/../conf/bench/scale.conf" "$@" || status=$?
exit "$status"
