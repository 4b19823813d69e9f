# Start and stop a throwaway PostgreSQL 15 server on 127.0.0.1:54329 for the tests.
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user
# (created if missing); the data directory lives in a temporary folder.

PG_PORT="${PG_PORT:-54329}"

_pg_bin() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

start_postgres() {
  local bin
  if ! bin=$(_pg_bin); then
    echo "installing PostgreSQL server packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(_pg_bin)
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  PG_DIR=$(mktemp -d /tmp/redress-pg.XXXXXX)
  chown postgres "$PG_DIR"
  runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  export REDRESS_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
  export REDRESS_REQUIRE_PG=1
  PG_BIN="$bin"
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
