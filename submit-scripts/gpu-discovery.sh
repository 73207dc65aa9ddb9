#!/usr/bin/env bash
# Spark resource discovery script for GPUs: prints the GPUs this machine has, in the JSON Spark expects.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: submit-scripts/gpu-discovery.sh
Prints this machine's GPUs as Spark resource discovery JSON, e.g. {"name":"gpu","addresses":["0","1"]}: one
address per line of `nvidia-smi --query-gpu=index --format=csv,noheader`. Prints an empty address list when
nvidia-smi is missing or finds no GPU, so that Spark reports "no GPU" instead of a script failure.

Spark runs it on each executor (and standalone Worker) that asks for GPUs:
  --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1
  --conf spark.executor.resource.gpu.discoveryScript=<path of this script on the executor's machine>
See conf/spark-defaults.conf.example and README.md, "Running on a cluster".
USAGE
}

case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) echo "gpu-discovery.sh: unexpected argument '$1' (it takes none; see --help)" >&2; exit 2 ;;
esac

addresses=""
if command -v nvidia-smi > /dev/null 2>&1; then
  # A driver that is installed but not loaded makes nvidia-smi fail: that is "no GPU" too.
  indexes="$(nvidia-smi --query-gpu=index --format=csv,noheader 2> /dev/null || true)"
  addresses="$(printf '%s\n' "$indexes" | tr -d ' \r' | { grep -E '^[0-9]+$' || true; } \
    | sed 's/.*/"&"/' | paste -sd, -)"
fi
printf '{"name":"gpu","addresses":[%s]}\n' "$addresses"
