#!/bin/sh
# First start: create the cluster with POSTGRES_USER/POSTGRES_PASSWORD and POSTGRES_DB, as the
# official image does; then run the server in the foreground on all interfaces.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-host=scram-sha-256 \
    --auth-local=trust >/dev/null
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses='' & pid=$!
  until pg_isready -q -h /var/run/postgresql; do sleep 0.2; done
  psql -q -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres \
    -c "CREATE DATABASE \"${POSTGRES_DB:-$POSTGRES_USER}\" OWNER \"$POSTGRES_USER\""
  kill "$pid"; wait "$pid" || true
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
