#!/usr/bin/env bash
# Makes sure MongoDB (27017), Redis (6379) and RabbitMQ (5672, vhost "ocariot") answer on this machine, starting or
# installing what is missing. Idempotent, and quick when everything is already up. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=.cache
SECANTUS_VERSION=0.7.0b3
started=()

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # name port seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    port_open "$2" && return 0
    sleep 0.2
  done
  echo "services.sh: $1 did not answer on 127.0.0.1:$2 within $3 s" >&2
  return 1
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# MongoDB: the one already running, else the SecantusDB stand-in from PyPI in a venv under .cache/.
# The stand-in can livelock (a createIndexes racing an implicit collection creation spins inside WiredTiger while
# holding its global lock; ping still answers, everything else hangs), so one of ours that cannot list its databases
# within 5 s is restarted. It keeps nothing on disk, so a restart loses only test data.
stand_in_stuck() {
  [ -f "$CACHE/secantus.pid" ] && kill -0 "$(cat "$CACHE/secantus.pid")" 2>/dev/null || return 1
  ! timeout 5 "$CACHE/venv/bin/python" -c \
    "import pymongo; pymongo.MongoClient(serverSelectionTimeoutMS=3000, socketTimeoutMS=4000).list_database_names()" \
    >/dev/null 2>&1
}
if port_open 27017 && stand_in_stuck; then
  kill -9 "$(cat "$CACHE/secantus.pid")" 2>/dev/null || true
  rm -f "$CACHE/secantus.pid"
  for ((i = 0; i < 50; i++)); do port_open 27017 || break; sleep 0.2; done
  echo "services.sh: the MongoDB stand-in did not answer; restarted it" >&2
fi
if ! port_open 27017; then
  if [ ! -x "$CACHE/venv/bin/secantusd-py" ]; then
    mkdir -p "$CACHE"
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q "secantusdb==$SECANTUS_VERSION"
  fi
  # In memory, everything lives in WiredTiger's cache: the default 1G overflows (WT_CACHE_FULL) under the benches'
  # hundreds of first syncs at once. The cache grows only as it is used.
  nohup "$CACHE/venv/bin/secantusd-py" --port 27017 --storage-path :memory: --cache-size 6G >"$CACHE/secantus.log" 2>&1 &
  echo $! >"$CACHE/secantus.pid"
  wait_for MongoDB 27017 60
  started+=("MongoDB stand-in (SecantusDB $SECANTUS_VERSION, log $CACHE/secantus.log)")
fi

# Redis.
if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ds-agent.log
  wait_for Redis 6379 30
  started+=("Redis")
fi

# RabbitMQ, with the service's vhost `ocariot` (docs/decisions.md#rabbitmq-vhost).
if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-server -detached
  wait_for RabbitMQ 5672 120
  rabbitmqctl await_startup >/dev/null
  started+=("RabbitMQ")
fi
if ! rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx ocariot; then
  rabbitmqctl -q add_vhost ocariot
  rabbitmqctl -q set_permissions -p ocariot guest ".*" ".*" ".*"
  started+=("RabbitMQ vhost ocariot")
fi

# Tools the tests run: redis-server (tests that kill Redis start their own), promtool (the alert rules' tests),
# docker-compose (the compose file's check; it needs no engine for that) and podman with runc and debootstrap (the
# image's build and test, scripts/image.sh).
command -v redis-server >/dev/null || apt_install redis-server
command -v promtool >/dev/null || apt_install --no-install-recommends prometheus
command -v docker-compose >/dev/null || apt_install --no-install-recommends docker-compose
command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null ||
  apt_install podman runc debootstrap uidmap

if [ ${#started[@]} -eq 0 ]; then
  echo "services.sh: MongoDB, Redis and RabbitMQ already up"
else
  printf 'services.sh: started %s\n' "${started[@]}"
fi
