#!/usr/bin/env bash
# Starts or stops a Spark standalone cluster on this machine: one Master and N Workers, each its own JVM,
# from the Maven-resolved Spark jars (no Spark download). For trying Candor on a real multi-process cluster.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: submit-scripts/standalone-cluster.sh start [workers] [cores-per-worker] [memory-per-worker]
       submit-scripts/standalone-cluster.sh stop
  start: a Master on spark://127.0.0.1:7077 (UI :8090) and <workers> Workers (default 2, 1 core, 3g each).
  stop:  stops every daemon this script started.
Then submit with: submit-scripts/submit-standalone.sh <command> <conf> [candor args...]

State and logs live under target/standalone/ (pids, logs/, work/ with each executor's stdout/stderr).
Spark's Worker builds executor command lines from $SPARK_HOME/jars; without a Spark installation this
script makes one there from symbolic links to the jars in jobs/target/spark-classpath.txt.
Environment: SPARK_HOME (a real installation is used as is), CANDOR_MASTER_PORT (default 7077).
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/target/standalone"
port="${CANDOR_MASTER_PORT:-7077}"
# Keep in sync with candor.jvm.opens in pom.xml.
opens="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED"

stop() {
  local pid
  for f in "$state"/*.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  echo "standalone-cluster: stopped"
}

start() {
  local workers="${1:-2}" cores="${2:-1}" memory="${3:-3g}"
  if ! [[ "$workers" =~ ^[1-9][0-9]*$ && "$cores" =~ ^[1-9][0-9]*$ && "$memory" =~ ^[1-9][0-9]*[mg]$ ]]; then
    echo "standalone-cluster.sh: start expects [workers] [cores] [memory] like 2 1 3g (see --help)" >&2
    exit 2
  fi
  cd "$root"
  if [[ ! -f jobs/target/spark-classpath.txt ]]; then
    echo "standalone-cluster: building the Candor jar (mvn -B -q -DskipTests package)..." >&2
    mvn -B -q -DskipTests package >&2
  fi
  local cp home
  cp="$(cat jobs/target/spark-classpath.txt)"
  home="${SPARK_HOME:-$state/spark-home}"
  if [[ -z "${SPARK_HOME:-}" ]]; then
    mkdir -p "$home/jars"
    tr ':' '\n' < jobs/target/spark-classpath.txt | while IFS= read -r jar || [[ -n "$jar" ]]; do
      [[ -f "$jar" ]] && ln -sf "$jar" "$home/jars/"
    done
  fi
  mkdir -p "$state/logs" "$state/work"
  # setsid: the daemons outlive this shell and its process group.
  setsid nohup java -Xmx512m $opens -cp "$cp" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port 8090 > "$state/logs/master.log" 2>&1 < /dev/null &
  echo $! > "$state/master.pid"
  for ((i = 1; i <= workers; i++)); do
    SPARK_HOME="$home" SPARK_SCALA_VERSION=2.12 setsid nohup java -Xmx512m $opens -cp "$cp" \
      org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores "$cores" --memory "$memory" \
      --webui-port $((8090 + i)) --work-dir "$state/work" "spark://127.0.0.1:$port" \
      > "$state/logs/worker-$i.log" 2>&1 < /dev/null &
    echo $! > "$state/worker-$i.pid"
  done
  # Ready when every worker has registered.
  for _ in $(seq 1 60); do
    if [[ "$(grep -c 'Registering worker' "$state/logs/master.log" 2>/dev/null || true)" -ge "$workers" ]]; then
      echo "standalone-cluster: spark://127.0.0.1:$port with $workers workers (logs: $state/logs)"
      return 0
    fi
    sleep 1
  done
  echo "standalone-cluster: workers did not register within 60 s; see $state/logs" >&2
  stop >&2
  return 1
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  -h | --help) usage ;;
  *) echo "standalone-cluster.sh: expected start or stop, not '${1:-}' (see --help)" >&2; exit 2 ;;
esac
