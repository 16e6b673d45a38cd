#!/usr/bin/env bash
# C@p Géo — set-up and run, on a fresh Debian 12 machine or an already prepared one.
#
#   ./run.sh demo        install what is missing, start the local PostGIS cluster, migrate, load
#                        the demo territory and serve the platform at http://127.0.0.1:8000
#   ./run.sh test [ARGS] the same set-up (without serving), then the whole test suite (pytest ARGS)
#   ./run.sh setup       the set-up alone
#   ./run.sh db          install what the database needs and start the local cluster
#   ./run.sh stop        stop the local cluster
#   ./run.sh cluster start|stop|status   several servers on this machine: the local cluster as
#                        primary + a streaming replica, Redis, two app servers behind HAProxy
#                        (scripts/cluster.sh; docs/installation.md, « Plusieurs serveurs »)
#
# Every step is idempotent: re-running skips what is done and never drops data.
# DATABASE_URL=postgis://USER:PASSWORD@HOST:PORT/DB uses that server instead of the local cluster.
# CAPGEO_PORT (8000), CAPGEO_HOST (127.0.0.1) and CAPGEO_PG_PORT (55432) change the ports.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VAR=$ROOT/var
LOG_DIR=$VAR/log
VENV=$ROOT/.venv
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=$VAR/pg
PGDATA_DIR=$PG_DIR/data
PG_SOCKET=$PG_DIR/run
PG_LOG=$PG_DIR/postgresql.log
PG_PASSWORD_FILE=$PG_DIR/password
PG_PORT=${CAPGEO_PG_PORT:-55432}
HTTP_HOST=${CAPGEO_HOST:-127.0.0.1}
HTTP_PORT=${CAPGEO_PORT:-8000}
export CAPGEO_PG_PORT=$PG_PORT

say() { printf 'C@p Géo : %s\n' "$*"; }
die() { printf 'C@p Géo : erreur : %s\n' "$*" >&2; exit 1; }

# Runs a step quietly, its output kept in var/log/NAME.log; on failure, one sentence and the tail.
step() {
    local name=$1; shift
    mkdir -p "$LOG_DIR"
    if ! "$@" >"$LOG_DIR/$name.log" 2>&1; then
        printf 'C@p Géo : erreur : l’étape « %s » a échoué ; le détail est dans %s :\n' \
            "$name" "$LOG_DIR/$name.log" >&2
        tail -n 15 "$LOG_DIR/$name.log" >&2
        exit 1
    fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

port_in_use() {  # true when something accepts connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fingerprint() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# --- Debian packages -------------------------------------------------------------------------
missing_packages() {
    local wanted=(gdal-bin libgdal32 libgeos-c1v5 libproj-dev binutils gettext)
    # The tests' fault trials (tests/faults/) initdb their own throwaway cluster, even when
    # DATABASE_URL names another server.
    if [ -z "${DATABASE_URL:-}" ] || [ "${CAPGEO_WITH_TEST_CLUSTER:-}" = 1 ]; then
        wanted+=(postgresql-15 postgresql-15-postgis-3)
    fi
    # Browser tests drive Debian's Chromium with Playwright (never a downloaded browser).
    [ "${CAPGEO_WITH_BROWSER:-}" = 1 ] && wanted+=(chromium chromium-driver)
    # ./run.sh cluster: the load balancer and the shared tile cache.
    [ "${CAPGEO_WITH_CLUSTER:-}" = 1 ] && wanted+=(haproxy redis-server)
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || echo "$package"
    done
    python3 -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv
    command -v npm >/dev/null 2>&1 || echo npm
}

ensure_packages() {
    command -v dpkg-query >/dev/null 2>&1 || die "ce script s’installe sur Debian 12 (ou Ubuntu) ; \
sur un autre système, installez PostgreSQL 15 + PostGIS 3, GDAL, PROJ, GEOS, Python 3.11 et npm \
puis définissez DATABASE_URL."
    command -v python3 >/dev/null 2>&1 || die "python3 est introuvable ; installez-le : apt-get install python3 python3-venv."
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "C@p Géo demande Python 3.11 ou plus récent ; $(python3 --version) est installé."
    local missing
    missing=$(missing_packages | tr '\n' ' ' | sed 's/ *$//')
    [ -z "$missing" ] && return 0
    local sudo=()
    if ! is_root; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "il manque les paquets Debian « $missing » et ce compte n’a ni les droits root ni sudo ; \
demandez à un administrateur de lancer « apt-get install $missing » puis relancez."
        fi
    fi
    say "installation des paquets Debian : $missing"
    export DEBIAN_FRONTEND=noninteractive
    step apt-update "${sudo[@]}" apt-get update
    # shellcheck disable=SC2086
    step apt-install "${sudo[@]}" apt-get install -y --no-install-recommends $missing
}

# --- Python virtualenv and front-end assets --------------------------------------------------
ensure_venv() {
    local wanted
    wanted=$(fingerprint "$ROOT/pyproject.toml" "$ROOT/constraints.txt"; python3 --version)
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.capgeo-stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    say "préparation de l’environnement Python (.venv)"
    [ -x "$VENV/bin/python" ] || step venv python3 -m venv "$VENV"
    step pip-install "$VENV/bin/pip" install --disable-pip-version-check -q \
        -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    # pycsw declares OWSLib<0.29, which the platform's OWSLib contradicts: installed on its own,
    # its other dependencies are in pyproject.toml (see metadata/records.py, load_pycsw).
    step pip-install-pycsw "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps \
        -c "$ROOT/constraints.txt" pycsw
    echo "$wanted" >"$VENV/.capgeo-stamp"
}

ensure_assets() {
    local wanted
    wanted=$(fingerprint "$ROOT/package.json" "$ROOT/package-lock.json")
    if [ -d "$ROOT/node_modules/ol" ] && [ "$(cat "$ROOT/node_modules/.capgeo-stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    say "installation des bibliothèques JavaScript (npm)"
    (cd "$ROOT" && step npm-ci npm ci --no-audit --no-fund --ignore-scripts)
    echo "$wanted" >"$ROOT/node_modules/.capgeo-stamp"
}

# --- Local PostgreSQL + PostGIS cluster --------------------------------------------------------
# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' system user.
as_pg() {
    if is_root; then "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }

psql_local() {  # psql as the cluster's superuser, through the private socket
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET" -p "$PG_PORT" -U postgres "$@"
}

pg_configure() {  # $1: data directory
    cat >>"$1/postgresql.conf" <<EOF

# --- C@p Géo local cluster ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET'
unix_socket_permissions = 0700
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_wal_size = 2GB
EOF
    cat >"$1/pg_hba.conf" <<EOF
# C@p Géo local cluster: the superuser through the private socket, the application by password.
local   all   all                  trust
host    all   all   127.0.0.1/32   scram-sha-256
EOF
}

pg_init() {
    local staging=$PG_DIR/data.init
    say "création du cluster PostgreSQL + PostGIS local (var/pg, port $PG_PORT)"
    mkdir -p "$PG_DIR"
    rm -rf "$staging"
    mkdir -p "$staging" "$PG_SOCKET"
    chmod 700 "$staging" "$PG_SOCKET"
    [ -f "$PG_PASSWORD_FILE" ] || (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PG_PASSWORD_FILE")
    if is_root; then
        chown postgres:postgres "$PG_DIR"
        chown -R postgres:postgres "$staging" "$PG_SOCKET"
        as_pg test -w "$staging" || die "l’utilisateur système postgres ne peut pas \
écrire dans $PG_DIR (un dossier parent lui est fermé) ; placez le dépôt dans un dossier accessible \
(par exemple /srv/capgeo) ou utilisez un serveur existant avec DATABASE_URL."
    fi
    step initdb as_pg "$PG_BIN/initdb" -D "$staging" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust
    pg_configure "$staging"
    # Build everything in the staging directory, then move it into place: an interrupted first
    # run leaves no half-initialised cluster behind.
    step pg-start-init as_pg "$PG_BIN/pg_ctl" -D "$staging" -l "$PG_LOG" -w -t 60 start
    local password
    password=$(cat "$PG_PASSWORD_FILE")
    # PostGIS in template1 too, so test databases get it without a superuser.
    if ! psql_local -d postgres \
        -c "CREATE ROLE capgeo LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE capgeo OWNER capgeo" \
        -c "\\connect template1" -c "CREATE EXTENSION IF NOT EXISTS postgis" \
        -c "\\connect capgeo" -c "CREATE EXTENSION IF NOT EXISTS postgis" \
        >"$LOG_DIR/pg-bootstrap.log" 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$staging" -m fast stop >/dev/null 2>&1 || true
        die "la création de la base capgeo et de l’extension PostGIS a échoué ; voir $LOG_DIR/pg-bootstrap.log."
    fi
    step pg-stop-init as_pg "$PG_BIN/pg_ctl" -D "$staging" -m fast -w stop
    mv "$staging" "$PGDATA_DIR"
}

ensure_cluster() {
    if [ -n "${DATABASE_URL:-}" ]; then
        # dbcheck prints the one sentence that says what is wrong with the URL or the server.
        "$VENV/bin/python" "$ROOT/scripts/dbcheck.py" "$DATABASE_URL" || exit 1
        return 0
    fi
    if pg_running; then
        local running_port
        running_port=$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null)
        [ "$running_port" = "$PG_PORT" ] || die "le cluster local tourne déjà sur le port \
$running_port, pas sur $PG_PORT ; arrêtez-le (./run.sh stop) ou relancez avec CAPGEO_PG_PORT=$running_port."
        return 0
    fi
    if port_in_use "$PG_PORT"; then
        die "le port $PG_PORT, prévu pour le cluster PostgreSQL local, est déjà utilisé par un autre \
programme ; libérez-le ou choisissez un autre port, par exemple CAPGEO_PG_PORT=$((PG_PORT + 1)) ./run.sh …"
    fi
    [ -f "$PGDATA_DIR/PG_VERSION" ] || pg_init
    # The port may have been chosen differently at creation: the current choice wins.
    sed -i "s/^port = .*/port = $PG_PORT/" "$PGDATA_DIR/postgresql.conf"
    if is_root; then chown -R postgres:postgres "$PG_SOCKET"; fi
    step pg-start as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start
}

# --- Django ------------------------------------------------------------------------------------
manage() { "$VENV/bin/python" "$ROOT/manage.py" "$@"; }

setup() {
    ensure_packages
    ensure_venv
    ensure_assets
    ensure_cluster
    if find "$ROOT/capgeo" -name '*.po' -path '*/LC_MESSAGES/*' | grep -q .; then
        step compilemessages manage compilemessages --ignore=.venv --ignore=node_modules --ignore=var
    fi
    step migrate manage migrate --noinput
    ensure_static
}

# collectstatic re-hashes and re-compresses every file each time (~10 s): only when its inputs
# changed (the project's static files, npm's and the virtualenv's packages, the settings).
static_fingerprint() {
    {
        cat "$VENV/.capgeo-stamp" "$ROOT/node_modules/.capgeo-stamp" "$ROOT/capgeo/settings.py"
        echo "${STATIC_ROOT:-}|${CAPGEO_VAR_DIR:-}"
        # Every app's static/ folder (var, the virtualenv and node_modules are fingerprinted above).
        (cd "$ROOT" && find . \( -name var -o -name .venv -o -name node_modules -o -name .git \) -prune \
            -o -path '*/static/*' -type f -printf '%p %s %T@\n' | sort)
    } 2>/dev/null | sha256sum | cut -d' ' -f1
}

ensure_static() {
    local stamp=$VAR/static.stamp static_root=${STATIC_ROOT:-${CAPGEO_VAR_DIR:-$VAR}/static}
    local wanted
    wanted=$(static_fingerprint)
    if [ -f "$static_root/staticfiles.json" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    step collectstatic manage collectstatic --noinput
    echo "$wanted" >"$stamp"
}

load_demo() {
    step load-demo manage load_demo
    say "$(tail -n 1 "$LOG_DIR/load-demo.log")"
}

check_http_port() {
    if port_in_use "$HTTP_PORT"; then
        die "le port $HTTP_PORT est déjà utilisé par un autre programme ; arrêtez-le ou choisissez un \
autre port, par exemple CAPGEO_PORT=8001 ./run.sh demo"
    fi
}

serve() {
    check_http_port  # again: something may have taken the port during the set-up
    say "plateforme disponible sur http://$HTTP_HOST:$HTTP_PORT/ (comptes de démonstration : voir README.md) ; Ctrl+C pour arrêter"
    # The background worker running layer imports (layers/jobs.py) lives and stops with gunicorn;
    # on start it marks failed the imports a previous run left unfinished.
    mkdir -p "$LOG_DIR"
    "$VENV/bin/python" "$ROOT/manage.py" import_worker --no-reload --no-startup-delay \
        >>"$LOG_DIR/import-worker.log" 2>&1 &
    local worker_pid=$!
    "$VENV/bin/gunicorn" capgeo.wsgi:application \
        --chdir "$ROOT" --bind "$HTTP_HOST:$HTTP_PORT" --workers "${CAPGEO_WORKERS:-3}" \
        --timeout 120 --access-logfile - --error-logfile - --no-control-socket \
        --logger-class accounts.gunicorn_logger.RedactingLogger &
    local gunicorn_pid=$!
    # shellcheck disable=SC2064  # the ids are known now
    trap "kill -TERM $gunicorn_pid $worker_pid 2>/dev/null; wait $gunicorn_pid $worker_pid 2>/dev/null; exit 0" INT TERM
    local status=0
    wait "$gunicorn_pid" || status=$?
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
    return "$status"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
    demo) check_http_port; setup; load_demo; serve ;;
    setup) setup; load_demo ;;
    test)
        CAPGEO_WITH_BROWSER=1 CAPGEO_WITH_TEST_CLUSTER=1 setup
        load_demo
        cd "$ROOT"
        exec "$VENV/bin/pytest" "$@"
        ;;
    db) ensure_packages; ensure_venv; ensure_cluster ;;
    cluster)
        # shellcheck source=scripts/cluster.sh
        . "$ROOT/scripts/cluster.sh"
        if [ "${1:-status}" = start ] && [ "$(topology)" = normal ]; then
            CAPGEO_WITH_CLUSTER=1 setup
            load_demo
        fi
        cluster_main "$@"
        ;;
    stop)
        if pg_running; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null; say "cluster local arrêté"; fi
        ;;
    *)
        sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
        [ -z "$command" ] && exit 2
        die "commande inconnue « $command »"
        ;;
esac
