#!/bin/bash
# The `replica` service: a hot standby of the `db` service, same PostGIS image. On an empty volume
# it copies the primary with pg_basebackup (-R: standby.signal and the connection to the primary),
# then runs PostgreSQL, read-only, streaming the primary's WAL. Promotion (the primary lost):
#   docker compose exec -u postgres replica pg_ctl promote
# See docs/deploiement.md (« La réplique », « Promouvoir la réplique »).
set -Eeuo pipefail
: "${PRIMARY_HOST:=db}" "${PRIMARY_PORT:=5432}"
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD in .env}"
export PGPASSWORD=$REPLICATION_PASSWORD
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U replicator -d postgres; do
        echo "replica: waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT"; sleep 2
    done
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    gosu postgres pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U replicator \
        -D "$PGDATA" -X stream -R --checkpoint=fast
    # The connection to the primary, kept across restarts (pg_basebackup -R wrote one too).
    cat >>"$PGDATA/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=$PRIMARY_HOST port=$PRIMARY_PORT user=replicator password=$REPLICATION_PASSWORD application_name=replica'
CONF
fi
unset PGPASSWORD
# The image's own entrypoint finds a data directory and starts the server as postgres.
exec docker-entrypoint.sh postgres -c hot_standby=on -c hot_standby_feedback=on \
    -c max_standby_streaming_delay=30s
