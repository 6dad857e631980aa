#!/usr/bin/env bash
# health_check.sh - HTTP health check of a service: exit 0 when healthy, 1 when not.
set -euo pipefail
me=health_check.sh

usage() {
  cat <<USAGE
Usage: $me [URL|PORT] [--retries N] [--delay S] [--timeout S] [--expect CODE]

GET the URL (or http://localhost:PORT/) and judge the answer. Without an argument the port
comes from \$SANDBOX_PORT (set in the sandbox). Healthy = HTTP 2xx/3xx, or exactly --expect CODE.
  --retries N   try N times before declaring it unhealthy (default 1; use 10 right after a deploy)
  --delay S     seconds between tries (default 2)
  --timeout S   seconds per request (default 5)

Examples:
  $me                                 # http://localhost:\$SANDBOX_PORT/
  $me 8000 --retries 10               # wait up to ~20 s for a service to come up
  $me http://localhost:8000/healthz --expect 204

Exit: 0 healthy, 1 unhealthy, 2 usage error, 127 neither curl nor python3 is installed.
USAGE
}

target="" retries=1 delay=2 timeout=5 expect=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --retries|--delay|--timeout|--expect)
      [ $# -ge 2 ] || { echo "$me: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift ;;
    -*) echo "$me: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) target=$1 ;;
  esac
  shift
done
for n in "$retries" "$delay" "$timeout"; do
  [[ "$n" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "$me: not a number: $n" >&2; exit 2; }
done
[ -n "$target" ] || target=${SANDBOX_PORT:-}
if [ -z "$target" ]; then echo "$me: give a URL or port (or set SANDBOX_PORT); see --help" >&2; exit 2; fi
case "$target" in
  *://*) url=$target ;;
  *[!0-9]*) url="http://$target" ;;
  *) url="http://localhost:$target/" ;;
esac

probe() {  # prints "CODE SECONDS"; CODE 000 when the connection failed
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time "$timeout" "$url" || true
  else
    python3 - "$url" "$timeout" <<'PY'
import sys, time, urllib.request, urllib.error
start = time.monotonic()
try:
    code = urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).status
except urllib.error.HTTPError as exc:
    code = exc.code
except Exception:
    code = 0
print(f"{code:03d} {time.monotonic() - start:.3f}")
PY
  fi
}
if ! command -v curl >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
  echo "$me: curl is not installed (apt-get install curl)" >&2; exit 127
fi

for attempt in $(seq 1 "$retries"); do
  read -r code secs <<<"$(probe)"
  code=${code:-000}
  if [ -n "$expect" ]; then healthy=$([ "$code" = "$expect" ] && echo 1 || echo 0)
  else healthy=$([[ "$code" =~ ^[23][0-9][0-9]$ ]] && echo 1 || echo 0); fi
  if [ "$healthy" = 1 ]; then echo "HEALTHY    $url -> HTTP $code in ${secs}s"; exit 0; fi
  [ "$attempt" -lt "$retries" ] && sleep "$delay"
done
reason=$([ "$code" = 000 ] && echo "no connection" || echo "HTTP $code")
echo "UNHEALTHY  $url -> $reason after $retries attempt(s)"
exit 1
