#!/usr/bin/env bash
# The whole test suite, against real MongoDB (or its stand-in), Redis and RabbitMQ. Run from anywhere; extra
# arguments go to `cargo test` (e.g. `scripts/test.sh -p provider-sim`, or a test name filter).
#
# It says what it does as it goes: the services, leftovers of earlier runs it removes, the build (the first one on
# 2 cores takes about 6 minutes), the compose file's check, the Docker image (built with podman and tested as
# operators run it; SKIP_IMAGE=1 leaves it out), the alert rules' tests (promtool), each test binary, the scan of the test
# applications' logs for secrets (scripts/scan-logs.sh), and a closing line "summary: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }

step "services: MongoDB, Redis, RabbitMQ"
scripts/services.sh

step "leftovers of earlier runs (test databases, their Redis keys and queues)"
scripts/test-leftovers.sh "$started"

step "building the tests (cargo test --no-run; the crates it compiles are counted, not listed)"
set +e
cargo test --locked --workspace --all-targets --no-run "$@" 2>&1 |
  awk '/^ *Compiling / { n++; if (n % 50 == 0) printf "  %d crates compiled\n", n; next } { print }'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "test.sh: the build failed" >&2
  exit "$status"
fi

step "compose file: docker-compose config"
docker-compose -f docker-compose.yml config -q && echo "  docker-compose.yml is valid"

# The image operators run, built as it is (scripts/image.sh) and then tested by tests/api/image.rs. SKIP_IMAGE=1
# leaves it out, for a quick local run; CI never sets it.
if [ -z "${SKIP_IMAGE:-}" ]; then
  step "the Docker image: scripts/image.sh (podman; about 10 minutes the first time, 6 when only the sources changed)"
  scripts/image.sh ds-agent:test
  export DS_AGENT_IMAGE=ds-agent:test
fi

step "alert rules: promtool check rules, promtool test rules"
(cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts.test.yml)

step "running the tests"
# The test applications' log lines, scanned for secrets afterwards (tests/api/helpers.rs writes them).
rm -rf target/tmp/test-logs
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --workspace --all-targets --no-fail-fast "$@" 2>&1 | tee "$log" | grep --line-buffered -E '^(\s+Running |test result:|failures:|---- |thread .* panicked|error)'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  step "failures (full output above the summary)"
  sed -n '/^failures:$/,/^test result:/p' "$log"
fi

if compgen -G "target/tmp/test-logs/*.log" >/dev/null; then
  step "the test applications' logs: no token, secret, code, state, e-mail address or URI password"
  scripts/scan-logs.sh || status=1
fi

# The closing line, summed over every test binary.
printf '\ntest.sh: done in %d s\n' "$(($(date +%s) - started))"
awk '/^test result:/ {
       for (i = 1; i < NF; i++) {
         if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i
       }
     }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
