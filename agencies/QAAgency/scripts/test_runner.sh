#!/usr/bin/env bash
# test_runner.sh - run every test suite of the project in the current directory and write
# machine-readable reports: pytest (JUnit XML), npm test, go test.
set -euo pipefail
me=test_runner.sh

usage() {
  cat <<USAGE
Usage: $me [REPORT_DIR] [-- PYTEST_ARGS...]

Run the test suites found in the current directory; reports go to REPORT_DIR (default: reports/).
  Python files present       -> pytest --junitxml=REPORT_DIR/junit-python.xml PYTEST_ARGS
  package.json "test" script -> npm test            (log: REPORT_DIR/npm-test.log)
  go.mod present             -> go test ./...       (log: REPORT_DIR/go-test.log)

Examples:
  $me                              # all suites, reports in reports/
  $me reports/FEAT-123 -- -k auth  # only auth tests, reports in reports/FEAT-123/

Exit: 0 all suites passed, 1 a suite failed, 127 a needed test tool is not installed.
USAGE
}

reports=reports
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --) shift; pytest_args=("$@"); break ;;
    -*) echo "$me: unknown option $1 (pytest options go after --; see --help)" >&2; exit 2 ;;
    *) reports=$1 ;;
  esac
  shift
done
mkdir -p "$reports"

has_python() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    [ -n "$(git ls-files -- '*.py' | head -n1)" ]
  else
    [ -n "$(find . -name '*.py' -not -path '*/.*' -not -path '*/node_modules/*' -print -quit)" ]
  fi
}

summary=() failed=0 missing=0

if has_python; then
  # python3 -m pytest puts the project on sys.path, as the sandbox's `python -m pytest` does.
  if python3 -m pytest --version >/dev/null 2>&1; then pytest=(python3 -m pytest)
  elif command -v pytest >/dev/null 2>&1; then pytest=(pytest)
  else echo "$me: pytest is not installed (pip install pytest)" >&2; missing=1; pytest=(); fi
  if [ ${#pytest[@]} -gt 0 ]; then
    xml="$reports/junit-python.xml"
    echo "== pytest (JUnit report: $xml)"
    rc=0; "${pytest[@]}" -q --junitxml="$xml" ${pytest_args[@]+"${pytest_args[@]}"} || rc=$?
    counts=""
    if [ -f "$xml" ] && command -v python3 >/dev/null 2>&1; then
      counts=$(python3 - "$xml" <<'PY' || true
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(f"{t['tests'] - t['failures'] - t['errors'] - t['skipped']} passed, {t['failures']} failed, "
      f"{t['errors']} errors, {t['skipped']} skipped")
PY
)
    fi
    case $rc in
      0) summary+=("PASS  pytest  $counts  ($xml)") ;;
      5) summary+=("FAIL  pytest  no tests were collected"); failed=1 ;;
      *) summary+=("FAIL  pytest  $counts  ($xml)"); failed=1 ;;
    esac
  fi
fi

if [ -f package.json ] && grep -q '"test"[[:space:]]*:' package.json; then
  if command -v npm >/dev/null 2>&1; then
    log="$reports/npm-test.log"
    echo "== npm test (log: $log)"
    if npm test 2>&1 | tee "$log"; then summary+=("PASS  npm test  ($log)")
    else summary+=("FAIL  npm test  ($log)"); failed=1; fi
  else
    echo "$me: npm is not installed (install Node.js: https://nodejs.org)" >&2; missing=1
  fi
fi

if [ -f go.mod ]; then
  if command -v go >/dev/null 2>&1; then
    log="$reports/go-test.log"
    echo "== go test ./... (log: $log)"
    if go test ./... 2>&1 | tee "$log"; then summary+=("PASS  go test  ($log)")
    else summary+=("FAIL  go test  ($log)"); failed=1; fi
  else
    echo "$me: go is not installed (https://go.dev/dl/)" >&2; missing=1
  fi
fi

if [ ${#summary[@]} -eq 0 ] && [ $missing -eq 0 ]; then
  echo "$me: no test suites found (no Python files, npm test script or go.mod)"; exit 1
fi
if [ ${#summary[@]} -gt 0 ]; then
  printf '\n== Summary\n'
  printf '  %s\n' "${summary[@]}"
fi
[ $failed -ne 0 ] && exit 1
[ $missing -ne 0 ] && exit 127
exit 0
