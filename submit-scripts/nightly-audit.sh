#!/usr/bin/env bash
# The scheduled nightly audit: one `candor audit` for one date, its output in a dated log file, and
# Candor's exit code as this script's, so that cron, Airflow or a CI scheduler can act on it.
set -uo pipefail

usage() {
  cat <<'USAGE'
Usage: submit-scripts/nightly-audit.sh <conf> [--date YYYY-MM-DD] [--log-dir DIR] [candor audit args...]
  e.g. submit-scripts/nightly-audit.sh conf/samples/breast_cancer.conf --set output.root=/data/candor

Runs `candor audit --conf <conf> --date <date>` (date: today in UTC unless given) through
run-local.sh, or through the script named by CANDOR_SUBMIT (e.g. submit-standalone.sh,
submit-yarn.sh, submit-k8s.sh, with their own environment). Everything it prints goes to
<log-dir>/audit-<conf name>-<date>.log (default log dir: logs/, or CANDOR_LOG_DIR); a re-run of
the same date appends to the same log. On failure the error, or each breached threshold, is
repeated on stderr.

Exit code: Candor's. 0 passed, 4 a threshold breached, 2 bad usage or conf, 3 bad input data or
model, or another audit of the same model and date still running on the output root (this one
wrote nothing; a retry after that one ends is safe), 1 internal error.

Cron (every night at 02:30 UTC):
  30 2 * * * cd /opt/candor && submit-scripts/nightly-audit.sh conf/prod.conf --log-dir /var/log/candor
USAGE
}

fail() { echo "nightly-audit: $*" >&2; exit 2; }

if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  usage
  exit 0
fi
[[ $# -ge 1 ]] || fail "missing the conf file (expected: nightly-audit.sh <conf> [options]; see --help)"
conf="$1"
shift
date="$(date -u +%F)"
log_dir="${CANDOR_LOG_DIR:-logs}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --date) [[ $# -ge 2 ]] || fail "--date needs a value (expected YYYY-MM-DD)"; date="$2"; shift 2 ;;
    --log-dir) [[ $# -ge 2 ]] || fail "--log-dir needs a value (expected a directory)"; log_dir="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[[ -f "$conf" ]] || fail "conf file $conf: does not exist or is not a file (expected a HOCON job conf)"
[[ "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || fail "--date $date: is not a date (expected YYYY-MM-DD)"
mkdir -p "$log_dir" || fail "--log-dir $log_dir: cannot be created (expected a writable directory)"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
submit="$here/${CANDOR_SUBMIT:-run-local.sh}"
[[ -x "$submit" ]] || fail "CANDOR_SUBMIT=${CANDOR_SUBMIT:-}: $submit is not an executable script (expected one of submit-scripts/)"
log="$log_dir/audit-$(basename "$conf" .conf)-$date.log"

{
  echo "=== nightly-audit $(date -u +%FT%TZ): candor audit --conf $conf --date $date ${extra[*]:-}"
} >> "$log"
"$submit" audit "$conf" --date "$date" ${extra[@]+"${extra[@]}"} >> "$log" 2>&1
rc=$?
echo "=== nightly-audit $(date -u +%FT%TZ): exit $rc" >> "$log"

case "$rc" in
  0) echo "nightly-audit: $date passed (log $log)" ;;
  4) grep '^candor audit: threshold ' "$log" | tail -n 20 >&2
     echo "nightly-audit: $date breached a threshold (log $log)" >&2 ;;
  *) line="$(grep -E '^candor audit: |^run-local.sh: |^Usage:' "$log" | tail -n 1)"
     echo "${line:-nightly-audit: $date failed with exit $rc} (log $log)" >&2 ;;
esac
exit "$rc"
