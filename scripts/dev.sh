#!/usr/bin/env bash
# Runs ds-agent locally against the provider simulator: the services it needs, self-signed certificates if missing,
# the simulator on http://127.0.0.1:5080 (Google Health and Google OAuth; the legacy Fitbit routes answer 410 Gone,
# as in the real world since 2 Nov 2026; SIM_LEGACY=1 keeps them alive), then the service on https://127.0.0.1:5001
# (and the redirect on http://127.0.0.1:5000). Ctrl-C stops both. scripts/demo.sh walks a child through it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
if [ ! -f .certs/server.crt ] || [ ! -f .certs/server.key ]; then
  ./create-self-signed-certs.sh
fi
cargo build --release --locked -p ds-agent -p provider-sim --bins

SIM_ADDR=127.0.0.1:5080
export FITBIT_CLIENT_ID="${FITBIT_CLIENT_ID:-1A2B3C}"
export FITBIT_CLIENT_SECRET="${FITBIT_CLIENT_SECRET:-f1tb1ts3cr3t}"
export GOOGLE_CLIENT_ID="${GOOGLE_CLIENT_ID:-sim-google-client.apps.googleusercontent.com}"
export GOOGLE_CLIENT_SECRET="${GOOGLE_CLIENT_SECRET:-sim-google-secret}"
# The connect flow sends the browser back only to listed app pages (docs/operations.md#the-google-connect-flow).
export GOOGLE_REDIRECT_URIS="${GOOGLE_REDIRECT_URIS:-http://localhost:3000/}"
export FITBIT_API_URL="http://$SIM_ADDR"
export GOOGLE_HEALTH_API_URL="http://$SIM_ADDR"
export GOOGLE_OAUTH_URL="http://$SIM_ADDR"
# Notifications on, signed by the simulator's key: scripts/live.sh registers the subscriber and adds a walk.
export GOOGLE_NOTIFICATION_SECRET="${GOOGLE_NOTIFICATION_SECRET:-Bearer dev-notification-secret-0123456789}"
export GOOGLE_NOTIFICATION_KEYSET_URL="http://$SIM_ADDR/googlehealthapi/webhooks/webhooks_public_keyset.json"
export GOOGLE_NOTIFICATION_COALESCE_SECS="${GOOGLE_NOTIFICATION_COALESCE_SECS:-5}"

legacy=(--legacy-gone)
if [ "${SIM_LEGACY:-0}" = 1 ]; then legacy=(); fi
./target/release/provider-sim --addr "$SIM_ADDR" "${legacy[@]}" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/5080") 2>/dev/null && break; sleep 0.1; done
echo "dev.sh: simulator on http://$SIM_ADDR (${legacy[*]:-legacy Fitbit routes alive})"
./target/release/ds-agent
