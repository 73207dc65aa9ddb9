# Shared by submit-yarn.sh and submit-k8s.sh (sourced, not run): option parsing, the checks, the Java 17 options,
# the shaded jar, and the final spark-submit. The sourcing script defines usage() and sets `script` first; then it
# adds its own spark-submit arguments to `args` and calls submit "$@".

# The commands and options every cluster script takes, for its usage().
usage_options() {
  cat <<'USAGE'
Commands: train, qat, distill, importance, shapley, audit, bench (see `candor --help`).

Options:
  --client              client mode: the driver runs here and reads the conf from its local path
  --spark-conf k=v      one more spark-submit --conf (repeatable), e.g. spark.executor.instances=4
  --dry-run             print the spark-submit command instead of running it
  -h, --help            this text
USAGE
}

die() {
  echo "$script: $1 (see --help)" >&2
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
  train | qat | distill | importance | shapley | audit | bench) ;;
  *) die "unknown command '$command'" ;;
esac
[[ -f "$conf" ]] || die "conf file '$conf' not found"
candor_args=("$@")

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

args=(--deploy-mode "$deploy" --class io.candor.jobs.Candor
  --driver-memory "${CANDOR_DRIVER_MEMORY:-4g}" --executor-memory "${CANDOR_EXECUTOR_MEMORY:-4g}"
  --conf "spark.driver.extraJavaOptions=$opens" --conf "spark.executor.extraJavaOptions=$opens")

# Ships the conf in cluster mode (the driver finds --files in its working directory, by base name), then runs
# spark-submit, or prints it with --dry-run.
submit() {
  if [[ "$deploy" == cluster ]]; then
    args+=(--files "$conf")
    conf="$(basename "$conf")"
  fi
  args+=(${extra[@]+"${extra[@]}"} "$jar" "$command" --conf "$conf" ${candor_args[@]+"${candor_args[@]}"})
  if [[ "$dry_run" == true ]]; then
    printf '%s/bin/spark-submit' "${SPARK_HOME:-\$SPARK_HOME}"
    printf ' %q' "${args[@]}"
    echo
    exit 0
  fi
  [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]] || die "SPARK_HOME must name a Spark 3.5 installation"
  exec "$SPARK_HOME/bin/spark-submit" "${args[@]}"
}
