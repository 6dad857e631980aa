#!/usr/bin/env bash
# coverage.sh - measure Python test coverage: coverage run -m pytest, then the report and the total.
set -euo pipefail
me=coverage.sh

usage() {
  cat <<USAGE
Usage: $me [--fail-under PCT] [--html] [-- PYTEST_ARGS...]

Run the Python tests of the current directory under coverage.py and print the report
(missing lines per file) and the line "TOTAL COVERAGE: NN%".
  --fail-under PCT   exit 2 when the total is below PCT (e.g. 80)
  --html             also write an HTML report to reports/coverage-html/
Also writes reports/coverage.xml (Cobertura) for CI and reviewers.

Exit: 0 ok, 1 tests failed, 2 below --fail-under, 127 coverage or pytest is not installed.
USAGE
}

fail_under="" html=0 pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --fail-under) [ $# -ge 2 ] || { echo "$me: --fail-under needs a number" >&2; exit 2; }
                  fail_under=$2; shift ;;
    --html) html=1 ;;
    --) shift; pytest_args=("$@"); break ;;
    *) echo "$me: unknown argument $1 (pytest options go after --; see --help)" >&2; exit 2 ;;
  esac
  shift
done

if command -v coverage >/dev/null 2>&1; then cov=(coverage)
elif python3 -m coverage --version >/dev/null 2>&1; then cov=(python3 -m coverage)
else echo "$me: coverage is not installed (pip install coverage)" >&2; exit 127; fi
# coverage runs pytest with its own interpreter, so pytest must be importable there.
py=python3
[ "${cov[0]}" = coverage ] && py=$(sed -n '1s/^#!//p' "$(command -v coverage)" | awk '{print $NF}')
case "${py##*/}" in python*) ;; *) py="" ;; esac  # a shim or wrapper: cannot tell, let coverage report it
if [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import pytest' 2>/dev/null; then
  echo "$me: pytest is not installed next to coverage (pip install pytest)" >&2; exit 127
fi

rc=0
"${cov[@]}" run -m pytest -q ${pytest_args[@]+"${pytest_args[@]}"} || rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
  echo "$me: pytest exited with $rc (5 = no tests collected)" >&2; exit 1
fi
echo
"${cov[@]}" report -m --skip-covered
mkdir -p reports
"${cov[@]}" xml -q -o reports/coverage.xml >/dev/null 2>&1 || true
[ $html -eq 1 ] && "${cov[@]}" html -q -d reports/coverage-html && echo "HTML report: reports/coverage-html/index.html"
total=$("${cov[@]}" report --format=total 2>/dev/null || "${cov[@]}" report | awk '/^TOTAL/ {sub("%","",$NF); print $NF}')
echo
echo "TOTAL COVERAGE: ${total}%"
[ $rc -ne 0 ] && { echo "$me: tests failed; coverage is of a failing run" >&2; exit 1; }
if [ -n "$fail_under" ] && awk -v t="$total" -v f="$fail_under" 'BEGIN { exit !(t + 0 < f + 0) }'; then
  echo "$me: coverage ${total}% is below the required ${fail_under}%" >&2; exit 2
fi
exit 0
