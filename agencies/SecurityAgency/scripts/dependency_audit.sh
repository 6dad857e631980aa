#!/usr/bin/env bash
# dependency_audit.sh - audit third-party dependencies for known vulnerabilities:
# pip-audit (Python), npm audit (Node), govulncheck (Go), each when its manifest is present.
set -euo pipefail
me=dependency_audit.sh

usage() {
  cat <<USAGE
Usage: $me [--level low|moderate|high|critical]

Audit the dependencies of the project in the current directory:
  requirements*.txt             -> pip-audit -r FILE (each file)
  pyproject.toml (no reqs file) -> pip-audit .
  package.json                  -> npm audit --audit-level=LEVEL (needs package-lock.json)
  go.mod                        -> govulncheck ./...
  --level   minimum npm severity that fails the audit (default: moderate)

Exit: 0 no known vulnerabilities, 1 vulnerabilities found, 127 a needed auditor is not installed.
USAGE
}

level=moderate
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --level) [ $# -ge 2 ] || { echo "$me: --level needs a value" >&2; exit 2; }; level=$2; shift ;;
    *) echo "$me: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

failed=0 missing=0 ran=0
tool() {  # tool NAME -> the command for NAME (on PATH or as a python module), or nothing
  if command -v "$1" >/dev/null 2>&1; then echo "$1"
  elif python3 -m "${1//-/_}" --version >/dev/null 2>&1; then echo "python3 -m ${1//-/_}"; fi
}

shopt -s nullglob
reqs=(requirements*.txt requirements/*.txt)
if [ ${#reqs[@]} -gt 0 ] || [ -f pyproject.toml ]; then
  ran=1
  pipaudit=$(tool pip-audit)
  if [ -z "$pipaudit" ]; then
    echo "$me: pip-audit is not installed (pip install pip-audit)" >&2; missing=1
  elif [ ${#reqs[@]} -gt 0 ]; then
    for r in "${reqs[@]}"; do echo "== pip-audit -r $r"; $pipaudit -r "$r" || failed=1; done
  else
    echo "== pip-audit . (pyproject.toml)"; $pipaudit . || failed=1
  fi
fi

if [ -f package.json ]; then
  ran=1
  if ! command -v npm >/dev/null 2>&1; then
    echo "$me: npm is not installed (install Node.js: https://nodejs.org)" >&2; missing=1
  elif [ ! -f package-lock.json ] && [ ! -f npm-shrinkwrap.json ]; then
    echo "== npm audit: skipped, no package-lock.json (run: npm install --package-lock-only)"; failed=1
  else
    echo "== npm audit --audit-level=$level"; npm audit --audit-level="$level" || failed=1
  fi
fi

if [ -f go.mod ]; then
  ran=1
  if command -v govulncheck >/dev/null 2>&1; then
    echo "== govulncheck ./..."; govulncheck ./... || failed=1
  else
    echo "$me: govulncheck is not installed (go install golang.org/x/vuln/cmd/govulncheck@latest)" >&2; missing=1
  fi
fi

if [ $ran -eq 0 ]; then echo "$me: nothing to audit (no requirements*.txt, pyproject.toml, package.json or go.mod)"; exit 0; fi
if [ $failed -ne 0 ]; then echo "$me: vulnerabilities or audit problems found"; exit 1; fi
if [ $missing -ne 0 ]; then exit 127; fi
echo "$me: no known vulnerabilities"
