#!/usr/bin/env bash
# spellcheck.sh - spell-check documentation and code comments with codespell, or aspell as a fallback.
set -euo pipefail
me=spellcheck.sh

usage() {
  cat <<USAGE
Usage: $me [PATH...]

Spell-check PATH... (default: the tracked Markdown/RST/TXT files, or . outside git).
  codespell (preferred): finds common misspellings in docs and code, with file:line and a fix.
                         Project words to accept: one per line in .codespell-ignore
  aspell (fallback):     lists unknown words per Markdown/text file (English).
                         Project words to accept: one per line in .spelling
Exit: 0 clean, 1 misspellings found, 127 neither codespell nor aspell is installed.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

paths=("$@")
if [ ${#paths[@]} -eq 0 ]; then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t paths < <(git ls-files -- '*.md' '*.rst' '*.txt' '*.markdown')
    if [ ${#paths[@]} -eq 0 ]; then echo "$me: no tracked documentation files"; exit 0; fi
  else
    paths=(.)
  fi
fi

if command -v codespell >/dev/null 2>&1 || python3 -m codespell_lib --version >/dev/null 2>&1; then
  cmd=(codespell); command -v codespell >/dev/null 2>&1 || cmd=(python3 -m codespell_lib)
  args=(--skip '.git,node_modules,.venv,venv,*.lock,*.svg,*.min.js,package-lock.json')
  [ -f .codespell-ignore ] && args+=(--ignore-words .codespell-ignore)
  if "${cmd[@]}" "${args[@]}" "${paths[@]}"; then echo "$me: no misspellings"; exit 0; fi
  echo "$me: misspellings found (fix them, or run: codespell -w FILE)"; exit 1
fi

if command -v aspell >/dev/null 2>&1; then
  found=0
  while IFS= read -r -d '' f; do
    case "$f" in *.md|*.markdown) mode=markdown ;; *.rst|*.txt) mode=none ;; *) continue ;; esac
    words=$(aspell list --lang=en --mode="$mode" < "$f" | sort -u)
    [ -f .spelling ] && words=$(comm -23 <(echo "$words") <(sort -u .spelling))
    if [ -n "$words" ]; then echo "$f: $(echo "$words" | paste -sd ' ' -)"; found=1; fi
  done < <(find "${paths[@]}" -type f \( -name '*.md' -o -name '*.markdown' -o -name '*.rst' -o -name '*.txt' \) \
             -not -path '*/.git/*' -not -path '*/node_modules/*' -not -path '*/.venv/*' -print0)
  [ $found -eq 0 ] && { echo "$me: no unknown words"; exit 0; }
  echo "$me: unknown words found (fix them, or add project words to .spelling)"; exit 1
fi

echo "$me: neither codespell nor aspell is installed (pip install codespell)" >&2
exit 127
