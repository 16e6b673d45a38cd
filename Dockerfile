# syntax=docker/dockerfile:1
# C@p Géo — production image: gunicorn serving capgeo.wsgi:application on port 8000, behind a
# reverse proxy that terminates TLS, and the layer-import worker beside it.
# Used by docker-compose.yml; see docs/installation.md (« Production avec docker-compose »).

# --- Runtime base: Python 3.11 and the libraries GeoDjango, ogr2ogr and Mapnik load (Debian 12) ---
FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/srv/capgeo/media \
    CAPGEO_VAR_DIR=/srv/capgeo/var
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gdal-bin libgdal32 libgeos-c1v5 libproj25 binutils \
    && rm -rf /var/lib/apt/lists/*

# --- Build: Python packages, JavaScript libraries, compiled catalogues, collected static files ---
FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Front-end libraries from the npm registry (package-lock.json), no install scripts run.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN pip install -c constraints.txt . \
    && pip install --no-deps -c constraints.txt pycsw
# The throw-away SECRET_KEY only lets the settings load: no key is generated into the image.
RUN SECRET_KEY=image-build-only python manage.py compilemessages --ignore=node_modules \
    && SECRET_KEY=image-build-only python manage.py collectstatic --noinput \
    && rm -rf build capgeo.egg-info

# --- Runtime image ----------------------------------------------------------------------------
FROM base
RUN groupadd --system --gid 10001 capgeo \
    && useradd --system --uid 10001 --gid capgeo --home-dir /srv/capgeo --no-create-home \
        --shell /usr/sbin/nologin capgeo \
    && install -d -o capgeo -g capgeo -m 0750 /srv/capgeo /srv/capgeo/media /srv/capgeo/var
COPY --from=build /opt/venv /opt/venv
# Sources (read-only for the capgeo user), compiled .mo, node_modules (checked by the static files
# finder) and the collected static files served by WhiteNoise.
COPY --from=build /app /app

# One role per container in docker-compose.yml: `migrate` (once), `web` (gunicorn) or `worker` (the
# background worker: imports, sync batches, tile seeds). Without arguments, the three in one
# container as ./run.sh demo does (migrate, then gunicorn and the worker side by side; the
# container stops when either stops). Other arguments are run instead: `docker compose run --rm
# web python manage.py createsuperuser`.
COPY --chmod=0755 <<'EOF' /usr/local/bin/capgeo-entrypoint
#!/bin/bash
set -Eeuo pipefail
cd /app
# Word-split on purpose (no argument has a space).
serve="gunicorn capgeo.wsgi:application --bind 0.0.0.0:8000 --workers ${CAPGEO_WORKERS:-3} --timeout 120 --access-logfile - --error-logfile - --no-control-socket --logger-class accounts.gunicorn_logger.RedactingLogger"
case "${1:-}" in
    migrate) exec python manage.py migrate --noinput ;;
    web) shift; exec $serve "$@" ;;
    worker) shift; exec python manage.py import_worker --no-reload "$@" ;;
    "") ;;
    *) exec "$@" ;;
esac
python manage.py migrate --noinput
# Background tasks (layers/workers.py); on start it takes up what a dead worker left.
python manage.py import_worker --no-reload --no-startup-delay &
worker=$!
$serve &
web=$!
trap 'kill -TERM "$web" "$worker" 2>/dev/null || true' TERM INT
status=0
wait -n "$web" "$worker" || status=$?
kill -TERM "$web" "$worker" 2>/dev/null || true
wait "$web" "$worker" 2>/dev/null || true
exit "$status"
EOF

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=capgeo.settings
WORKDIR /app
USER capgeo:capgeo
EXPOSE 8000
ENTRYPOINT ["capgeo-entrypoint"]
