#!/usr/bin/env bash
# The whole test suite, against real MongoDB (or its stand-in), Redis and RabbitMQ. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo test --locked --workspace --all-targets "$@"
