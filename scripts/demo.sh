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
curl -sk -w '\n%{http_code}\n' -X POST "$api/v1/users/$child/fitbit/sync"

echo "== the events went to exchange data.sync (vhost ocariot); the metrics say how many were confirmed:"
curl -sk "$api/metrics" | grep -E '^ds_agent_(publish_confirms_total|syncs_total)'
