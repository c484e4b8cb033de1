#!/usr/bin/env bash
# Install Redis from Debian's packages if missing, and run a private instance on 127.0.0.1:${WEIR_REDIS_PORT:-56379}
# (no persistence; its files in ${WEIR_REDIS_DIR:-/tmp/weir-redis}). Prints its URL. Idempotent: a running one is reused.
set -euo pipefail
port=${WEIR_REDIS_PORT:-56379}
dir=${WEIR_REDIS_DIR:-/tmp/weir-redis}
if ! command -v redis-server >/dev/null; then
  echo "installing Redis from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq redis-server >&2
fi
if ! redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/log" --protected-mode yes
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
fi
echo "redis://127.0.0.1:$port/0"
