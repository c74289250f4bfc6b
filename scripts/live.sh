#!/usr/bin/env bash
# With scripts/dev.sh running and scripts/demo.sh done (the child is connected): the live feed. Registers ds-agent's
# notification endpoint with the simulator's Google (which checks it as Google does: 201 with the secret, 401
# without), adds a walk for the child's simulator user, and waits until the notification became a sync whose events
# were confirmed. Usage: scripts/live.sh [simulator_user]
set -euo pipefail
user="${1:-DEMO01}"
api=https://127.0.0.1:5001
sim=http://127.0.0.1:5080
secret="${GOOGLE_NOTIFICATION_SECRET:-Bearer dev-notification-secret-0123456789}"
metric() { curl -sk "$api/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

# A service account's token: the simulator does not check the assertion's signature ({"alg":"RS256"}.{"iss":"dev"}).
assertion='eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJkZXYifQ.c2ln'
token=$(curl -sf "$sim/token" -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer -d "assertion=$assertion" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo "== subscriber ds-agent-dev at the simulator's Google, for $api/v1/google/notifications"
body=$(python3 -c 'import json,sys; print(json.dumps({"endpointUri": sys.argv[1], "endpointAuthorization": {"secret": sys.argv[2]},
  "subscriberConfigs": [{"dataTypes": ["exercise", "sleep", "weight", "body-fat", "steps", "total-calories",
  "active-minutes", "sedentary-period"], "subscriptionCreatePolicy": "AUTOMATIC"}]}))' "$api/v1/google/notifications" "$secret")
code=$(curl -s -o /tmp/ds-agent-live.json -w '%{http_code}' -X POST \
  "$sim/v4/projects/123456789/subscribers?subscriberId=ds-agent-dev" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d "$body")
case "$code" in
  200) echo "created: $(python3 -c 'import json; print(json.load(open("/tmp/ds-agent-live.json"))["response"]["state"])' 2>/dev/null)";;
  409) echo "already registered";;
  *) echo "refused ($code): $(cat /tmp/ds-agent-live.json)"; exit 1;;
esac

jobs_before=$(metric ds_agent_notification_jobs_total); jobs_before=${jobs_before:-0}
done_before=$(metric ds_agent_notification_to_published_seconds_count); done_before=${done_before:-0}
start=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
echo "== a 30-minute walk of $user starting $start, added at Google"
curl -sf -X POST "$sim/__admin/google/users/$user/exercises" -H 'content-type: application/json' \
  -d "{\"start\":\"$start\",\"minutes\":30,\"steps\":2500}" >/dev/null
printf '== waiting for the notification to become a sync (window %s s)' "${GOOGLE_NOTIFICATION_COALESCE_SECS:-5}"
for _ in $(seq 1 60); do
  sleep 1
  done_now=$(metric ds_agent_notification_to_published_seconds_count); done_now=${done_now:-0}
  if [ "${done_now%.*}" -gt "${done_before%.*}" ]; then
    printf '\n== published: %s notification job(s) so far; seconds from notification to confirm, total %s\n' \
      "$(metric ds_agent_notification_jobs_total)" "$(metric ds_agent_notification_to_published_seconds_sum)"
    exit 0
  fi
  printf '.'
done
printf '\n== no sync after 60 s (jobs before %s, now %s): is the child connected (scripts/demo.sh)?\n' \
  "$jobs_before" "$(metric ds_agent_notification_jobs_total)"
exit 1
