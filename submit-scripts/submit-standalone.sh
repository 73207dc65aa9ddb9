#!/usr/bin/env bash
# Submits one Candor command to a Spark standalone cluster (client mode: the driver runs here).
set -euo pipefail
if [[ $# -lt 2 && ! ( $# -eq 1 && ( "$1" == "-h" || "$1" == "--help" ) ) ]]; then
  echo "submit-standalone.sh: expected <command> <conf> (see --help)" >&2
  exit 2
fi
if [[ "$1" == "-h" || "$1" == "--help" ]]; then
  cat <<'USAGE'
Usage: submit-scripts/submit-standalone.sh <command> <conf> [candor args...]
  e.g. CANDOR_MASTER=spark://host:7077 submit-scripts/submit-standalone.sh shapley conf/samples/wine.conf
Submits like run-local.sh, to CANDOR_MASTER (default spark://127.0.0.1:7077, the cluster of
standalone-cluster.sh). Executor settings: CANDOR_EXECUTOR_MEMORY (default 2g). Every path in the conf
(data, output.root) must be reachable from the executors: a shared file system, HDFS or object storage.
Exit code: Candor's.
USAGE
  exit 0
fi
export CANDOR_MASTER="${CANDOR_MASTER:-spark://127.0.0.1:7077}"
export CANDOR_EXECUTOR_MEMORY="${CANDOR_EXECUTOR_MEMORY:-2g}"
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run-local.sh" "$@"
