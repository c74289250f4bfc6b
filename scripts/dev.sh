#!/usr/bin/env bash
# Runs ds-agent locally: the services it needs, self-signed certificates if missing, then the service itself on
# https://127.0.0.1:5001 (and the redirect on http://127.0.0.1:5000). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
if [ ! -f .certs/server.crt ] || [ ! -f .certs/server.key ]; then
  ./create-self-signed-certs.sh
fi
cargo build --release --locked --bin ds-agent
exec ./target/release/ds-agent
