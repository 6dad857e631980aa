#!/usr/bin/env bash
# pipeline_check.sh - validate the CI/CD configuration of the project in the current directory.
set -euo pipefail
me=pipeline_check.sh

usage() {
  cat <<USAGE
Usage: $me

Check the CI/CD files of the repository in the current directory:
  .github/workflows/*.yml|yaml  parse (python3 + PyYAML when available, else basic checks:
                                not empty, no tab indentation, top-level 'on:' and 'jobs:')
                                and every job has runs-on (or uses a reusable workflow)
  .gitlab-ci.yml                parses (with PyYAML)
  .ci/run                       exists and is executable when .ci/ exists
  Dockerfile*                   linted with hadolint when it is installed

Prints one OK / WARN / FAIL line per check. Exit: 0 no FAIL, 1 at least one FAIL.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; "") ;; *) echo "$me: unknown argument $1 (see --help)" >&2; exit 2 ;; esac

fails=0 found=0
ok()   { echo "OK    $*"; }
warn() { echo "WARN  $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }

have_yaml=0
command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null && have_yaml=1

check_yaml() {  # check_yaml FILE KIND -> prints a problem, or nothing when the file is fine
  python3 - "$1" "$2" <<'PY'
import sys, yaml
path, kind = sys.argv[1], sys.argv[2]
try:
    doc = yaml.safe_load(open(path))
except yaml.YAMLError as exc:
    sys.exit(print(str(exc).replace("\n", " ")[:200]))
if not isinstance(doc, dict):
    sys.exit(print("top level is not a mapping"))
if kind == "github":
    if "on" not in doc and True not in doc:  # PyYAML reads a bare `on:` as the boolean True
        print("no 'on:' trigger")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        sys.exit(print("no jobs"))
    for name, job in jobs.items():
        if not isinstance(job, dict) or not ("runs-on" in job or "uses" in job):
            print(f"job '{name}' has no runs-on")
        elif "uses" not in job and not job.get("steps"):
            print(f"job '{name}' has no steps")
PY
}

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
for wf in ${workflows[@]+"${workflows[@]}"}; do
  found=1
  if [ ! -s "$wf" ]; then fail "$wf is empty"; continue; fi
  if [ $have_yaml -eq 1 ]; then
    problems=$(check_yaml "$wf" github || true)
  else
    problems=""
    grep -qE $'^[ ]*\t' "$wf" && problems+=$'tab characters in indentation\n'
    grep -qE '^("?on"?|true):' "$wf" || problems+=$'no top-level \'on:\'\n'
    grep -qE '^jobs:' "$wf" || problems+=$'no top-level \'jobs:\'\n'
    grep -qE '^[[:space:]]+runs-on:|^[[:space:]]+uses:' "$wf" || problems+=$'no job with runs-on\n'
  fi
  if [ -n "$problems" ]; then fail "$wf: $(printf '%s\n' "$problems" | sed '/^$/d' | paste -sd ';' - | sed 's/;/; /g')"
  else ok "$wf"; fi
done
if [ ${#workflows[@]} -gt 0 ] && [ $have_yaml -eq 0 ]; then
  warn "PyYAML not available: workflows got basic checks only (pip install pyyaml)"
fi

if [ -f .gitlab-ci.yml ]; then
  found=1
  if [ $have_yaml -eq 1 ]; then
    problems=$(check_yaml .gitlab-ci.yml gitlab || true)
    if [ -n "$problems" ]; then fail ".gitlab-ci.yml: $problems"; else ok ".gitlab-ci.yml"; fi
  else
    [ -s .gitlab-ci.yml ] && ok ".gitlab-ci.yml present (not parsed: no PyYAML)" || fail ".gitlab-ci.yml is empty"
  fi
fi

if [ -e .ci/run ]; then
  found=1
  if [ -x .ci/run ]; then ok ".ci/run is executable"; else fail ".ci/run is not executable (chmod +x .ci/run)"; fi
elif [ -d .ci ]; then
  found=1; fail ".ci/ exists but .ci/run is missing"
fi

dockerfiles=(Dockerfile Dockerfile.* */Dockerfile)
for df in ${dockerfiles[@]+"${dockerfiles[@]}"}; do
  [ -f "$df" ] || continue
  if command -v hadolint >/dev/null 2>&1; then
    if out=$(hadolint "$df" 2>&1); then ok "$df (hadolint)"; else fail "$df (hadolint)"; echo "$out" | sed 's/^/      /'; fi
  else
    grep -qiE '^FROM[[:space:]]' "$df" && ok "$df has a FROM line (hadolint is not installed: deeper lint skipped)" \
      || fail "$df has no FROM line"
  fi
done

if [ $found -eq 0 ]; then
  fail "no CI configuration found (.github/workflows/, .gitlab-ci.yml or .ci/run)"
fi
if [ $fails -gt 0 ]; then echo "$me: $fails problem(s)"; exit 1; fi
echo "$me: pipeline configuration looks valid"
