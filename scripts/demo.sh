#!/usr/bin/env bash
# With scripts/dev.sh running: connects a child through Google Health (simulator tokens handed over with POST auth),
# syncs it, and shows what was published. Usage: scripts/demo.sh [child_id] [simulator_user]
set -euo pipefail
child="${1:-5a62be07de34500146d9c544}"
user="${2:-DEMO01}"
api=https://127.0.0.1:5001
sim=http://127.0.0.1:5080

echo "== tokens for simulator user $user (Google OAuth, as a consent would give them)"
tokens=$(curl -sf -X POST "$sim/__admin/google/users/$user/tokens")
access=$(printf '%s' "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
refresh=$(printf '%s' "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')

echo "== POST $api/v1/users/$child/fitbit/auth (provider google)"
curl -sk -o /dev/null -w '%{http_code}\n' -X POST "$api/v1/users/$child/fitbit/auth" -H 'content-type: application/json' \
  -d "{\"access_token\":\"$access\",\"refresh_token\":\"$refresh\",\"provider\":\"google\"}"

echo "== POST $api/v1/users/$child/fitbit/sync"
answer=$(curl -sk -w '\n%{http_code}' -X POST "$api/v1/users/$child/fitbit/sync")
printf '%s\n' "$answer"
if [ "$(printf '%s' "$answer" | tail -1)" = 202 ]; then
  # A first sync paced as Google paces an unverified app (2 requests a second) takes about a minute and goes on in
  # the service; a sync of the child answers 409 until it has finished, then 200 (an incremental one).
  printf '== the first sync goes on in the service; waiting for it to finish'
  for _ in $(seq 1 60); do
    sleep 3
    code=$(curl -sk -o /tmp/ds-agent-demo-sync.json -w '%{http_code}' -X POST "$api/v1/users/$child/fitbit/sync")
    [ "$code" != 409 ] && break
    printf '.'
  done
  printf '\n== done; the next sync answered %s: %s\n' "$code" "$(cat /tmp/ds-agent-demo-sync.json)"
fi

echo "== the events went to exchange data.sync (vhost ocariot); the metrics say how many were confirmed:"
curl -sk "$api/metrics" | grep -E '^ds_agent_(publish_confirms_total|syncs_total)'
