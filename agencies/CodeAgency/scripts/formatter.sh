#!/usr/bin/env bash
# formatter.sh - format the project in the current directory: ruff format (or black + isort),
# prettier (package.json), gofmt (go.mod). --check reports without changing files.
set -euo pipefail
me=formatter.sh

usage() {
  cat <<USAGE
Usage: $me [--check]

Format the repository in the current directory:
  Python files present  -> ruff (sort imports + format), or black + isort when ruff is missing
  package.json present  -> prettier --write . (node_modules/.bin/prettier or prettier on PATH)
  go.mod present        -> gofmt -w .
  --check               only report files that would change (exit 1 if any); use before committing

Exit: 0 done/clean, 1 files need formatting (--check), 127 a needed formatter is not installed.
USAGE
}

check=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --check) check=1 ;;
    *) echo "$me: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

has_python() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    [ -n "$(git ls-files -- '*.py' | head -n1)" ]
  else
    [ -n "$(find . -name '*.py' -not -path '*/.*' -not -path '*/node_modules/*' -print -quit)" ]
  fi
}
tool() {  # tool NAME -> prints the command for NAME (on PATH or as a python module), or nothing
  if command -v "$1" >/dev/null 2>&1; then echo "$1"
  elif python3 -m "$1" --version >/dev/null 2>&1; then echo "python3 -m $1"; fi
}

failed=0 missing=0 ran=0

if has_python; then
  ran=1
  ruff=$(tool ruff); black=$(tool black); isort=$(tool isort)
  if [ -n "$ruff" ]; then
    echo "== ruff (imports + format)"
    if [ $check -eq 1 ]; then
      $ruff check --select I . || failed=1
      $ruff format --check . || failed=1
    else
      $ruff check --select I --fix . || true
      $ruff format .
    fi
  elif [ -n "$black" ] && [ -n "$isort" ]; then
    echo "== isort + black"
    if [ $check -eq 1 ]; then
      $isort --profile black --check-only --diff . || failed=1
      $black --check . || failed=1
    else
      $isort --profile black . && $black .
    fi
  else
    echo "$me: ruff is not installed (pip install ruff; or pip install black isort)" >&2; missing=1
  fi
fi

if [ -f package.json ]; then
  ran=1
  if [ -x node_modules/.bin/prettier ]; then prettier=node_modules/.bin/prettier
  elif command -v prettier >/dev/null 2>&1; then prettier=prettier
  else echo "$me: prettier is not installed (npm install --save-dev prettier)" >&2; missing=1; prettier=; fi
  if [ -n "$prettier" ]; then
    echo "== prettier"
    if [ $check -eq 1 ]; then "$prettier" --check . || failed=1; else "$prettier" --write . >/dev/null; fi
  fi
fi

if [ -f go.mod ]; then
  ran=1
  if command -v gofmt >/dev/null 2>&1; then
    echo "== gofmt"
    if [ $check -eq 1 ]; then
      out=$(gofmt -l .)
      if [ -n "$out" ]; then echo "$out"; failed=1; fi
    else
      gofmt -w .
    fi
  else
    echo "$me: gofmt is not installed (https://go.dev/dl/)" >&2; missing=1
  fi
fi

if [ $ran -eq 0 ]; then echo "$me: nothing to format (no Python files, package.json or go.mod)"; exit 0; fi
if [ $failed -ne 0 ]; then echo "$me: files need formatting (run $me without --check)"; exit 1; fi
if [ $missing -ne 0 ]; then exit 127; fi
if [ $check -eq 1 ]; then echo "$me: formatting is clean"; else echo "$me: done"; fi
