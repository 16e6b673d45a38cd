# C@p Géo — the several-server layout on one machine (`./run.sh cluster …`), sourced by run.sh
# (it uses run.sh's variables and helpers: ROOT, VAR, PG_*, as_pg, step, say, die…).
#
#   ./run.sh cluster start     the local primary (var/pg) + a streaming replica (var/pg-replica,
#                              pg_basebackup -R, replication slot), Redis (shared tile cache),
#                              two gunicorn app servers, the import worker and HAProxy in front
#   ./run.sh cluster stop      stops all of them but the primary (./run.sh stop stops it)
#   ./run.sh cluster status    each process, and /healthz through HAProxy
#   ./run.sh cluster failover  stops the primary, promotes the replica (pg_ctl promote) and
#                              restarts the app servers on it
#   ./run.sh cluster failback  rebuilds the original layout after a failover: var/pg copied back
#                              from the promoted server, the replica made again from it
#
# Ports (environment): CAPGEO_LB_PORT (8100, HAProxy), CAPGEO_APP_PORTS ("8101 8102"),
# CAPGEO_REPLICA_PORT (primary's + 1), CAPGEO_REDIS_PORT (56379); CAPGEO_CLUSTER_WORKERS (2)
# gunicorn workers per app server. Every step is idempotent; docs/installation.md explains it.

CLUSTER_DIR=$VAR/cluster
REPLICA_DIR=$VAR/pg-replica
REPLICA_DATA=$REPLICA_DIR/data
REPLICA_SOCKET=$REPLICA_DIR/run
REPLICA_LOG=$REPLICA_DIR/postgresql.log
REPLICA_PORT=${CAPGEO_REPLICA_PORT:-$((PG_PORT + 1))}
REPLICATION_ROLE=capgeo_replication
REPLICATION_SLOT=capgeo_replica
REPLICATION_PASSWORD_FILE=$PG_DIR/replication-password
REDIS_DIR=$VAR/redis
REDIS_PORT=${CAPGEO_REDIS_PORT:-56379}
LB_PORT=${CAPGEO_LB_PORT:-8100}
read -r -a APP_PORTS <<<"${CAPGEO_APP_PORTS:-8101 8102}"
CLUSTER_WORKERS=${CAPGEO_CLUSTER_WORKERS:-2}
TOPOLOGY_FILE=$CLUSTER_DIR/topology  # "normal", or "failed-over" (the replica is the primary)

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND…: until COMMAND succeeds
    local seconds=$1 what=$2; shift 2
    local i
    for ((i = 0; i < seconds * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "$what ne répond pas après $seconds s ; voir $LOG_DIR et $CLUSTER_DIR."
}

psql_replica() {
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$REPLICA_SOCKET" -p "$REPLICA_PORT" -U postgres "$@"
}

replica_running() {
    [ -f "$REPLICA_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1
}

topology() { cat "$TOPOLOGY_FILE" 2>/dev/null || echo normal; }

# --- Primary: replication settings, role, slot -------------------------------------------------
cluster_configure_primary() {
    local conf=$PGDATA_DIR/postgresql.conf
    if ! grep -q "^# --- C@p Géo replication ---" "$conf"; then
        cat >>"$conf" <<EOF

# --- C@p Géo replication ---
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# A replica stopped for long must not fill the primary's disk: its slot keeps at most this much.
max_slot_wal_keep_size = 4GB
hot_standby = on
EOF
    fi
    if ! grep -q "^host *replication" "$PGDATA_DIR/pg_hba.conf"; then
        echo "host    replication   $REPLICATION_ROLE   127.0.0.1/32   scram-sha-256" \
            >>"$PGDATA_DIR/pg_hba.conf"
    fi
    if [ "$(psql_local -d postgres -tA -c 'SHOW wal_level')" = minimal ]; then
        say "redémarrage du cluster principal (wal_level = replica)"
        step pg-restart as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -m fast -w -t 60 restart
    else
        step pg-reload as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" reload
    fi
    [ -f "$REPLICATION_PASSWORD_FILE" ] || (umask 077 && python3 -c \
        'import secrets; print(secrets.token_hex(16))' >"$REPLICATION_PASSWORD_FILE")
    local password
    password=$(cat "$REPLICATION_PASSWORD_FILE")
    psql_local -d postgres >"$LOG_DIR/cluster-primary.log" 2>&1 <<EOF || die "la préparation de la \
réplication sur le cluster principal a échoué ; voir $LOG_DIR/cluster-primary.log."
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$REPLICATION_ROLE') THEN
    CREATE ROLE $REPLICATION_ROLE WITH REPLICATION LOGIN PASSWORD '$password';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '$REPLICATION_SLOT') THEN
    PERFORM pg_create_physical_replication_slot('$REPLICATION_SLOT');
  END IF;
END \$\$;
EOF
}

# --- Replica: pg_basebackup -R, its own port and socket ------------------------------------------
cluster_make_replica() {
    local staging=$REPLICA_DIR/data.init
    say "création du réplica en flux (var/pg-replica, port $REPLICA_PORT, pg_basebackup)"
    mkdir -p "$REPLICA_DIR" "$REPLICA_SOCKET"
    rm -rf "$staging"
    if is_root; then chown postgres:postgres "$REPLICA_DIR" "$REPLICA_SOCKET"; fi
    chmod 700 "$REPLICA_SOCKET"
    step pg-basebackup as_pg env PGPASSWORD="$(cat "$REPLICATION_PASSWORD_FILE")" \
        "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U "$REPLICATION_ROLE" -D "$staging" \
        -R -S "$REPLICATION_SLOT" -X stream -c fast
    # The copied configuration is the primary's: its own port and socket.
    sed -i -e "s/^port = .*/port = $REPLICA_PORT/" \
        -e "s|^unix_socket_directories = .*|unix_socket_directories = '$REPLICA_SOCKET'|" \
        "$staging/postgresql.conf"
    rm -f "$staging/postmaster.pid"
    mv "$staging" "$REPLICA_DATA"
}

cluster_start_replica() {
    if [ -f "$REPLICA_DATA/PG_VERSION" ] && [ ! -f "$REPLICA_DATA/standby.signal" ] \
        && [ "$(topology)" = normal ]; then
        # Promoted earlier and never rebuilt: it is no replica of var/pg any more.
        say "var/pg-replica n’est plus un réplica (promu) : reconstruction"
        replica_running && as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null
        rm -rf "$REPLICA_DATA"
    fi
    [ -f "$REPLICA_DATA/PG_VERSION" ] || cluster_make_replica
    if ! replica_running; then
        port_in_use "$REPLICA_PORT" && die "le port $REPLICA_PORT, prévu pour le réplica, est déjà \
utilisé ; choisissez-en un autre : CAPGEO_REPLICA_PORT=$((REPLICA_PORT + 10)) ./run.sh cluster start"
        sed -i "s/^port = .*/port = $REPLICA_PORT/" "$REPLICA_DATA/postgresql.conf"
        if is_root; then chown -R postgres:postgres "$REPLICA_SOCKET"; fi
        step replica-start as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_LOG" -w -t 120 start
    fi
}

# --- Redis: the shared tile cache ------------------------------------------------------------------
cluster_start_redis() {
    mkdir -p "$REDIS_DIR"
    pid_alive "$REDIS_DIR/redis.pid" && return 0
    port_in_use "$REDIS_PORT" && die "le port $REDIS_PORT, prévu pour Redis, est déjà utilisé ; \
choisissez-en un autre : CAPGEO_REDIS_PORT=$((REDIS_PORT + 1)) ./run.sh cluster start"
    # A tile cache: no persistence (tiles are redrawn), bounded memory, least recently used out.
    cat >"$REDIS_DIR/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR
save ""
appendonly no
maxmemory ${CAPGEO_REDIS_MAXMEMORY:-512mb}
maxmemory-policy allkeys-lru
EOF
    step redis-start redis-server "$REDIS_DIR/redis.conf"
    wait_for 10 "Redis" redis-cli -p "$REDIS_PORT" ping
}

# --- App servers and the import worker -----------------------------------------------------------
app_environment() {
    local password primary_port=$PG_PORT
    password=$(cat "$PG_PASSWORD_FILE")
    [ "$(topology)" = failed-over ] && primary_port=$REPLICA_PORT
    echo "DATABASE_URL=postgis://capgeo:$password@127.0.0.1:$primary_port/capgeo"
    if [ "$(topology)" = normal ]; then
        echo "DATABASE_REPLICA_URL=postgis://capgeo:$password@127.0.0.1:$REPLICA_PORT/capgeo"
    fi
    echo "CAPGEO_TILE_CACHE_REDIS=redis://127.0.0.1:$REDIS_PORT/0"
}

cluster_start_apps() {
    mkdir -p "$CLUSTER_DIR" "$LOG_DIR"
    local env_vars=() port
    mapfile -t env_vars < <(app_environment)
    for port in "${APP_PORTS[@]}"; do
        pid_alive "$CLUSTER_DIR/app-$port.pid" && continue
        port_in_use "$port" && die "le port $port, prévu pour un serveur d’application, est déjà \
utilisé ; choisissez-en d’autres : CAPGEO_APP_PORTS=\"9101 9102\" ./run.sh cluster start"
        env "${env_vars[@]}" "$VENV/bin/gunicorn" capgeo.wsgi:application \
            --chdir "$ROOT" --bind "127.0.0.1:$port" --workers "$CLUSTER_WORKERS" \
            --timeout 120 --no-control-socket --daemon --pid "$CLUSTER_DIR/app-$port.pid" \
            --capture-output \
            --access-logfile "$LOG_DIR/app-$port.access.log" \
            --error-logfile "$LOG_DIR/app-$port.log" \
            --logger-class accounts.gunicorn_logger.RedactingLogger
    done
    if ! pid_alive "$CLUSTER_DIR/worker.pid"; then
        env "${env_vars[@]}" setsid "$VENV/bin/python" "$ROOT/manage.py" import_worker --no-reload \
            --no-startup-delay >>"$LOG_DIR/cluster-worker.log" 2>&1 </dev/null &
        echo $! >"$CLUSTER_DIR/worker.pid"
    fi
    for port in "${APP_PORTS[@]}"; do
        wait_for 60 "le serveur d’application du port $port" \
            python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2)"
    done
}

stop_pidfile() {  # stop_pidfile FILE: TERM, then KILL after 15 s
    local file=$1 pid i
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 75; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

cluster_stop_apps() {
    local port
    for port in "${APP_PORTS[@]}"; do stop_pidfile "$CLUSTER_DIR/app-$port.pid"; done
    stop_pidfile "$CLUSTER_DIR/worker.pid"
}

# --- HAProxy -------------------------------------------------------------------------------------
cluster_start_haproxy() {
    local servers="" i=1 port
    for port in "${APP_PORTS[@]}"; do
        servers+="    server app$i 127.0.0.1:$port check"$'\n'
        i=$((i + 1))
    done
    cat >"$CLUSTER_DIR/haproxy.cfg" <<EOF
# Written by ./run.sh cluster start (scripts/cluster.sh); rewritten at each start.
global
    daemon
    pidfile $CLUSTER_DIR/haproxy.pid
    maxconn 4096
    # Servers' states and counters: echo "show stat" | socat - $CLUSTER_DIR/haproxy.sock
    stats socket $CLUSTER_DIR/haproxy.sock mode 600 level admin

defaults
    mode http
    option httplog
    timeout connect 2s
    timeout client 130s
    timeout server 130s
    timeout queue 30s
    # A request whose server died before answering goes to another one: connection refused or
    # reset (always safe, nothing was processed) and, for GET and HEAD only, a connection closed
    # without an answer. Never on a 503 or a timeout: a long export that timed out would run again.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response

frontend capgeo
    bind 127.0.0.1:$LB_PORT
    option forwardfor
    default_backend app_servers

backend app_servers
    balance leastconn
    http-request disable-l7-retry unless METH_GET || METH_HEAD
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    # As many requests per server as it has gunicorn workers (sync: one request each): the others
    # wait in HAProxy's queue, not in the server's backlog, so a health check is answered soon
    # even under load, and a queued request goes to whichever server frees a worker first.
    # A server that refuses or cuts a connection is taken out at once (observe layer4), not after
    # three failed checks: meanwhile the least busy server would be the dead one.
    default-server inter 1s fall 3 rise 2 maxconn $CLUSTER_WORKERS observe layer4 error-limit 1 on-error mark-down
    timeout check 5s
$servers
EOF
    step haproxy-check haproxy -c -f "$CLUSTER_DIR/haproxy.cfg"
    if pid_alive "$CLUSTER_DIR/haproxy.pid"; then
        # Graceful reload: the new process takes the port, the old one finishes its requests.
        step haproxy-reload haproxy -f "$CLUSTER_DIR/haproxy.cfg" -sf "$(cat "$CLUSTER_DIR/haproxy.pid")"
    else
        port_in_use "$LB_PORT" && die "le port $LB_PORT, prévu pour HAProxy, est déjà utilisé ; \
choisissez-en un autre : CAPGEO_LB_PORT=$((LB_PORT + 10)) ./run.sh cluster start"
        step haproxy-start haproxy -f "$CLUSTER_DIR/haproxy.cfg"
    fi
    wait_for 30 "HAProxy" python3 -c \
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$LB_PORT/healthz', timeout=2)"
}

# --- Commands --------------------------------------------------------------------------------------
cluster_start() {
    [ -z "${DATABASE_URL:-}" ] || die "./run.sh cluster monte la démonstration à plusieurs serveurs \
sur le cluster local (var/pg) ; retirez DATABASE_URL (docs/installation.md, « Plusieurs serveurs »)."
    mkdir -p "$CLUSTER_DIR"
    [ -f "$TOPOLOGY_FILE" ] || echo normal >"$TOPOLOGY_FILE"
    if [ "$(topology)" = normal ]; then
        cluster_configure_primary
        cluster_start_replica
    elif ! replica_running; then  # failed over: the promoted server is the primary
        step replica-start as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_LOG" -w -t 120 start
    fi
    cluster_start_redis
    cluster_start_apps
    cluster_start_haproxy
    say "plateforme à plusieurs serveurs sur http://127.0.0.1:$LB_PORT/ (HAProxy ; serveurs ${APP_PORTS[*]}, \
réplica $REPLICA_PORT, Redis $REDIS_PORT) ; ./run.sh cluster stop pour l’arrêter"
}

cluster_stop() {
    stop_pidfile "$CLUSTER_DIR/haproxy.pid"
    cluster_stop_apps
    if [ -f "$REDIS_DIR/redis.pid" ]; then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || stop_pidfile "$REDIS_DIR/redis.pid"
        rm -f "$REDIS_DIR/redis.pid"
    fi
    if replica_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null
    fi
    say "serveurs d’application, HAProxy, Redis et réplica arrêtés (le cluster principal tourne encore : ./run.sh stop)"
}

cluster_status() {
    local port
    running() { if "$@" >/dev/null 2>&1; then echo "en marche"; else echo "arrêté"; fi; }
    printf '%-22s %s\n' "topologie" "$(topology)" \
        "primaire (var/pg)" "$(running pg_running), port $PG_PORT" \
        "réplica (var/pg-replica)" "$(running replica_running), port $REPLICA_PORT" \
        "Redis" "$(running pid_alive "$REDIS_DIR/redis.pid"), port $REDIS_PORT"
    for port in "${APP_PORTS[@]}"; do
        printf '%-22s %s\n' "serveur d’application" "$(running pid_alive "$CLUSTER_DIR/app-$port.pid"), port $port"
    done
    printf '%-22s %s\n' "travailleur" "$(running pid_alive "$CLUSTER_DIR/worker.pid")" \
        "HAProxy" "$(running pid_alive "$CLUSTER_DIR/haproxy.pid"), http://127.0.0.1:$LB_PORT/"
    python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$LB_PORT/healthz', timeout=5).read().decode())" 2>/dev/null \
        || echo "/healthz : pas de réponse"
}

# The primary is stopped cleanly (its last WAL reaches the replica before it stops), the replica
# promoted, the app servers restarted on it (new DATABASE_URL, no replica).
cluster_failover() {
    [ "$(topology)" = normal ] || die "déjà basculé sur le réplica ; ./run.sh cluster failback pour revenir."
    replica_running || die "le réplica ne tourne pas : rien à promouvoir."
    say "arrêt du primaire, promotion du réplica (pg_ctl promote)"
    step pg-stop-failover as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop
    step replica-promote as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -w -t 60 promote
    echo failed-over >"$TOPOLOGY_FILE"
    cluster_stop_apps
    cluster_start_apps
    say "plateforme servie par l’ancien réplica (port $REPLICA_PORT)"
}

# var/pg becomes the primary again with the promoted server's data (a fresh base backup: nothing
# written after the failover is lost), then the replica is made again from it.
cluster_failback() {
    [ "$(topology)" = failed-over ] || die "aucune bascule à annuler."
    replica_running || die "le serveur promu (var/pg-replica) ne tourne pas."
    say "recopie du serveur promu vers var/pg, puis nouveau réplica"
    cluster_stop_apps
    local staging=$PG_DIR/data.failback
    rm -rf "$staging"
    step pg-basebackup-failback as_pg env PGPASSWORD="$(cat "$REPLICATION_PASSWORD_FILE")" \
        "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$REPLICA_PORT" -U "$REPLICATION_ROLE" \
        -D "$staging" -X stream -c fast
    step replica-stop-failback as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w -t 60 stop
    sed -i -e "s/^port = .*/port = $PG_PORT/" \
        -e "s|^unix_socket_directories = .*|unix_socket_directories = '$PG_SOCKET'|" \
        "$staging/postgresql.conf"
    rm -f "$staging/standby.signal" "$staging/postmaster.pid"
    # The old primary's files are kept aside (var/pg/data.before-failback) until the next failback.
    rm -rf "$PG_DIR/data.before-failback" "$REPLICA_DATA"
    mv "$PGDATA_DIR" "$PG_DIR/data.before-failback"
    mv "$staging" "$PGDATA_DIR"
    echo normal >"$TOPOLOGY_FILE"
    step pg-start-failback as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start
    cluster_configure_primary
    cluster_start_replica
    cluster_start_apps
    say "topologie d’origine rétablie (primaire $PG_PORT, réplica $REPLICA_PORT)"
}

cluster_main() {
    local action=${1:-status}
    case "$action" in
        start) cluster_start ;;
        stop) cluster_stop ;;
        status) cluster_status ;;
        failover) cluster_failover ;;
        failback) cluster_failback ;;
        *) die "commande inconnue « cluster $action » (start, stop, status, failover, failback)" ;;
    esac
}
