#!/usr/bin/env bash
# bandit.sh - static security analysis of the Python sources (bandit), skipping tests and venvs.
set -euo pipefail
me=bandit.sh

usage() {
  cat <<USAGE
Usage: $me [PATH] [BANDIT_ARGS...]

Run bandit -r on PATH (default .), excluding tests, virtualenvs, node_modules and build output.
Extra arguments go to bandit, e.g.:
  $me                      # everything, all severities
  $me src -ll              # only medium and high severity
  $me . -f json -o reports/bandit.json
Silence a reviewed false positive in the code with "# nosec B105" and say why in the commit.

Exit: 0 no issues, 1 issues found, 127 bandit is not installed.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

target=.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then target=$1; shift; fi

if command -v bandit >/dev/null 2>&1; then bandit=(bandit)
elif python3 -m bandit --version >/dev/null 2>&1; then bandit=(python3 -m bandit)
else echo "$me: bandit is not installed (pip install bandit)" >&2; exit 127; fi

if [ -z "$(find "$target" -name '*.py' -not -path '*/.*' -not -path '*/node_modules/*' -print -quit)" ]; then
  echo "$me: no Python sources under $target"; exit 0
fi
exclude='*/tests/*,*/test/*,*/test_*.py,*_test.py,*/conftest.py,*/.venv/*,*/venv/*,*/env/*,*/.tox/*,*/node_modules/*,*/build/*,*/dist/*,*/site-packages/*'
echo "== bandit -r $target (tests and venvs excluded)"
exec "${bandit[@]}" -r "$target" -x "$exclude" "$@"
