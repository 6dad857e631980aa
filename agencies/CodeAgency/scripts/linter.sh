#!/usr/bin/env bash
# linter.sh - lint the project in the current directory: ruff (Python), eslint (package.json),
# go vet (go.mod). Each linter runs only when its language is present.
set -euo pipefail
me=linter.sh

usage() {
  cat <<USAGE
Usage: $me [--fix] [PATH...]

Lint the repository in the current directory:
  Python files present  -> ruff check PATH... (default .)
  package.json present  -> eslint . (node_modules/.bin/eslint or eslint on PATH)
  go.mod present        -> go vet ./...
  --fix                 let ruff and eslint fix what they safely can

Exit: 0 clean, 1 problems found, 127 a needed linter is not installed.
USAGE
}

fix=0
paths=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --fix) fix=1 ;;
    -*) echo "$me: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) paths+=("$arg") ;;
  esac
done
[ ${#paths[@]} -eq 0 ] && paths=(.)

has_python() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    [ -n "$(git ls-files -- '*.py' | head -n1)" ]
  else
    [ -n "$(find . -name '*.py' -not -path '*/.*' -not -path '*/node_modules/*' -print -quit)" ]
  fi
}

failed=0 missing=0 ran=0

if has_python; then
  ran=1
  if command -v ruff >/dev/null 2>&1; then ruff=(ruff)
  elif python3 -m ruff --version >/dev/null 2>&1; then ruff=(python3 -m ruff)
  else echo "$me: ruff is not installed (pip install ruff)" >&2; missing=1; ruff=(); fi
  if [ ${#ruff[@]} -gt 0 ]; then
    echo "== ruff check ${paths[*]}"
    args=(check --output-format=concise); [ $fix -eq 1 ] && args+=(--fix)
    "${ruff[@]}" "${args[@]}" "${paths[@]}" || failed=1
  fi
fi

if [ -f package.json ]; then
  ran=1
  if [ -x node_modules/.bin/eslint ]; then eslint=node_modules/.bin/eslint
  elif command -v eslint >/dev/null 2>&1; then eslint=eslint
  else echo "$me: eslint is not installed (npm install --save-dev eslint)" >&2; missing=1; eslint=; fi
  if [ -n "$eslint" ]; then
    echo "== eslint ."
    args=(.); [ $fix -eq 1 ] && args+=(--fix)
    "$eslint" "${args[@]}" || failed=1
  fi
fi

if [ -f go.mod ]; then
  ran=1
  if command -v go >/dev/null 2>&1; then
    echo "== go vet ./..."
    go vet ./... || failed=1
  else
    echo "$me: go is not installed (https://go.dev/dl/)" >&2; missing=1
  fi
fi

if [ $ran -eq 0 ]; then echo "$me: nothing to lint (no Python files, package.json or go.mod)"; exit 0; fi
if [ $failed -ne 0 ]; then echo "$me: problems found"; exit 1; fi
if [ $missing -ne 0 ]; then exit 127; fi
echo "$me: clean"
