#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages if missing, and run a private cluster on 127.0.0.1:${WEIR_PG_PORT:-55432}.
# Prints the SQLAlchemy URL of database weir_test. Idempotent: an already running cluster is reused.
set -euo pipefail
port=${WEIR_PG_PORT:-55432}
dir=${WEIR_PG_DIR:-/tmp/weir-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
run_as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    run_as_pg "'$bin/initdb' -D '$dir' -U postgres -A trust -E UTF8 >/dev/null"
  fi
  run_as_pg "'$bin/pg_ctl' -D '$dir' -l '$dir/log' -w -o \"-h 127.0.0.1 -p $port -k /tmp -c fsync=off -c max_connections=300\" start >/dev/null"
fi
"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='weir_test'" | grep -q 1 \
  || "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres weir_test
echo "postgresql+asyncpg://postgres@127.0.0.1:$port/weir_test"
