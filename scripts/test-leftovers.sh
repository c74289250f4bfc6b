#!/usr/bin/env bash
# Removes what test runs that started before $1 (unix seconds) left behind: `ds-agent-test-<seconds>-*` databases
# (and `ds-agent-test-*` ones of suites that did not name the time),
# the Redis keys named after them, the Redis servers of tests that kill Redis, and the per-test UserDeleteEvent queues. A test cleans up after itself even when it
# fails; this catches runs that were killed. Safe while another run goes on: only older databases are touched.
set -uo pipefail
cd "$(dirname "$0")/.."
before=${1:-$(date +%s)}

mkdir -p .cache
# pymongo: the MongoDB stand-in's venv has it; otherwise a small venv of its own (PyPI), made once.
python=.cache/venv/bin/python
if ! { [ -x "$python" ] && "$python" -c 'import pymongo' 2>/dev/null; }; then
  python=.cache/tools-venv/bin/python
  if ! { [ -x "$python" ] && "$python" -c 'import pymongo' 2>/dev/null; }; then
    python3 -m venv .cache/tools-venv && .cache/tools-venv/bin/pip install -q pymongo >/dev/null 2>&1
  fi
fi
if [ -x "$python" ] && "$python" -c 'import pymongo' 2>/dev/null; then
  "$python" - "$before" <<'PY'
import re, sys
import pymongo
before = int(sys.argv[1])
client = pymongo.MongoClient(serverSelectionTimeoutMS=5000, socketTimeoutMS=30000)
# Names without the start time come from suites older than this script: always leftovers.
old = [n for n in client.list_database_names()
       if (m := re.fullmatch(r"ds-agent-test-(?:(\d+)-)?[0-9a-f]{16}", n)) and int(m.group(1) or 0) < before]
for name in old:
    client.drop_database(name)
print(f"test-leftovers: dropped {len(old)} old test database(s)")
with open(".cache/old-test-databases", "w") as out:
    out.write("\n".join(old))
PY
else
  echo "test-leftovers: pymongo could not be installed; old test databases left as they are"
  : >.cache/old-test-databases
fi

if command -v redis-cli >/dev/null; then
  keys=0
  while read -r db; do
    [ -n "$db" ] || continue
    while read -r key; do
      [ -n "$key" ] && redis-cli del "$key" >/dev/null && keys=$((keys + 1))
    done < <(redis-cli --scan --pattern "ds-agent:$db:*")
    redis-cli del "ds-agent:lock:outbox:$db" >/dev/null
  done <.cache/old-test-databases
  echo "test-leftovers: removed $keys Redis key(s) of old test databases"
fi

# Redis servers of tests that kill Redis (tests/api/own_redis.rs): each leaves its pid in a file, removed when it
# stops; a file older than this run names one whose test run was killed.
servers=0
for pid_file in "${TMPDIR:-/tmp}"/ds-agent-test-redis/*.pid; do
  [ -f "$pid_file" ] || continue
  [ "$(stat -c %Y "$pid_file")" -lt "$before" ] || continue
  pid=$(cat "$pid_file")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ]; then
    kill "$pid" 2>/dev/null && servers=$((servers + 1))
  fi
  rm -f "$pid_file"
done
echo "test-leftovers: stopped $servers Redis server(s) of killed test runs"

if command -v rabbitmqctl >/dev/null; then
  queues=0
  # Test instances name their queue data.sync.agent.app-<16 hex digits>; the service's own has no suffix. Only queues
  # nobody consumes go: a running test's queue has its instance as consumer.
  for queue in $(rabbitmqctl -q list_queues -p ocariot name consumers 2>/dev/null |
    awk '$1 ~ /^data\.sync\.agent\.app-[0-9a-f]+$/ && $2 == 0 { print $1 }'); do
    rabbitmqctl -q delete_queue -p ocariot "$queue" >/dev/null 2>&1 && queues=$((queues + 1))
  done
  echo "test-leftovers: deleted $queues unused test queue(s)"
fi
exit 0
