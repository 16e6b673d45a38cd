#!/bin/bash
# Run once by the PostGIS image when it creates the primary's data directory
# (/docker-entrypoint-initdb.d): the role the streaming replica connects with, and the pg_hba.conf
# line that lets it in. See docs/deploiement.md (« La réplique »).
set -Eeuo pipefail
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
