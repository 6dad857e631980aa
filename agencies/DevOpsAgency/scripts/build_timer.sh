#!/usr/bin/env bash
# build_timer.sh - time a build command, log it to .devops/build_times.csv and show the trend.
set -euo pipefail
me=build_timer.sh

usage() {
  cat <<USAGE
Usage: $me [--label NAME] [--] COMMAND [ARGS...]

Run COMMAND in the current directory, time it, append a row to .devops/build_times.csv
(timestamp, commit, branch, exit code, seconds, label) and compare it with earlier
successful runs of the same label (default label: the command line).

Examples:
  $me -- docker build -t app .
  $me --label unit-tests python -m pytest -q

Exit: the exit code of COMMAND (127 when it is not found).
USAGE
}

label=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --label) [ $# -ge 2 ] || { echo "$me: --label needs a name" >&2; exit 2; }; label=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then echo "$me: no command given; see --help" >&2; exit 2; fi
if ! command -v "$1" >/dev/null 2>&1; then echo "$me: command not found: $1" >&2; exit 127; fi
[ -n "$label" ] || label="$*"
label=${label//$'\n'/ }

log=.devops/build_times.csv
mkdir -p .devops
[ -s "$log" ] || echo "timestamp,commit,branch,exit_code,seconds,label" > "$log"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)
branch=$(git branch --show-current 2>/dev/null || echo -)

start=$(date +%s.%N)
rc=0; "$@" || rc=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')

# Trend over the previous successful runs of this label (the label is the last column, may hold commas).
awk -F, -v label="$label" -v secs="$secs" -v rc="$rc" '
  NR > 1 { l = $0; for (i = 1; i <= 5; i++) sub(/^[^,]*,/, "", l)
           if (l == label && $4 == 0) { n++; t[n] = $5 } }
  END {
    printf "build_timer: %s  %.2fs  (exit %d)\n", label, secs, rc
    if (n == 0) { print "trend: first recorded successful run of this build"; exit }
    m = (n < 5 ? n : 5); s = 0; for (i = n - m + 1; i <= n; i++) s += t[i]; avg = s / m
    best = t[1]; for (i = 1; i <= n; i++) if (t[i] < best) best = t[i]
    d = (avg > 0 ? (secs - avg) / avg * 100 : 0)
    printf "trend: previous %.2fs, average of last %d %.2fs, best %.2fs -> %+.0f%% vs average%s\n",
           t[n], m, avg, best, d, (d > 20 ? "  (SLOWER: investigate)" : d < -20 ? "  (faster)" : "")
  }' "$log"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ),$commit,$branch,$rc,$secs,$label" >> "$log"
exit $rc
