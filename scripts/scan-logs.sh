#!/usr/bin/env bash
# Reads the log files of a test run (default: target/tmp/test-logs, written by tests/api/helpers.rs) for anything
# that must never reach a log line: a whole access or refresh token, an authorization code, a connect-flow `state`, a
# client or webhook secret the tests use, an e-mail address, or a URI with its password. Prints each finding (cut
# short, so the scan itself repeats no secret in full) and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/tmp/test-logs}
if ! compgen -G "$dir/*.log" >/dev/null; then
  echo "scan-logs: no log files in $dir" >&2
  exit 1
fi
lines=$(cat "$dir"/*.log | wc -l)
patterns=(
  'ya29\.a0[A-Za-z0-9_-]{8}'                  # Google access token, whole (a masked one keeps 6 characters)
  '1//0[A-Za-z0-9_-]{8}'                      # Google refresh token
  '4/0[A-Za-z0-9_-]{8}'                       # Google authorization code
  'eyJ[A-Za-z0-9_-]{20,}'                     # a JWT (Fitbit tokens) or a connect-flow state
  'f1tb1ts3cr3t|sim-google-secret'            # the tests' client secrets
  '5f1c0e9a7b3d4c2e8f6a1b0c9d8e7f6a'          # the tests' webhook secret
  '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.(org|com|net|example|test)\b'  # an e-mail address
  '://[^/[:space:]:@*]*:[^/[:space:]@*][^/[:space:]@]*@'   # a URI with its password
)
found=0
for pattern in "${patterns[@]}"; do
  # Service accounts' addresses are the project's, not a person's.
  hits=$(grep -ohE "$pattern" "$dir"/*.log | grep -v 'gserviceaccount\.com' || true)
  if [ -n "$hits" ]; then
    found=$((found + $(printf '%s\n' "$hits" | wc -l)))
    printf '%s\n' "$hits" | sort -u | head -5 | cut -c1-12 | sed "s|^|scan-logs: /$pattern/ matched: |; s|$|…|"
  fi
done
echo "scan-logs: $lines log lines read, $found secrets found"
[ "$found" -eq 0 ]
