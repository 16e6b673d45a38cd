"""C@p Géo settings, read from the environment with safe local defaults.

Every value a deployment changes comes from an environment variable (see docs/installation.md).
Without any, the platform runs locally against the project's own PostGIS cluster started by
`./run.sh`, with DEBUG off and a secret key generated once under var/.
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CAPGEO_VAR_DIR", BASE_DIR / "var"))

# The mapnik wheel points PROJ_LIB / GDAL_DATA at its bundled copies when they are unset, and that
# PROJ cannot read Debian's newer proj.db: pin Debian's data before GDAL or Mapnik is loaded.
os.environ.setdefault("PROJ_LIB", "/usr/share/proj")
os.environ.setdefault("GDAL_DATA", "/usr/share/gdal")


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on", "oui"}:
        return True
    if lowered in {"0", "false", "no", "off", "non"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false).")


def env_list(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def local_secret_key():
    """A key generated once per checkout, so a local demo never runs on a published key."""
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browser sessions need the CSRF token on every unsafe request, desktop credentials (Basic,
# personal tokens) never do: see accounts/csrf.py. Refusals answer in the endpoint's format.
CSRF_FAILURE_VIEW = "accounts.csrf.failure"

# Local cluster started by run.sh; DATABASE_URL=postgis://… points elsewhere.
_local_password_file = VAR_DIR / "pg" / "password"
LOCAL_DATABASE_URL = "postgis://capgeo:{password}@127.0.0.1:{port}/capgeo".format(
    password=_local_password_file.read_text().strip() if _local_password_file.exists() else "",
    port=os.environ.get("CAPGEO_PG_PORT", "55432"),
)
DATABASE_URL = os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL
# Persistent connections are checked before each request reuses them: after a restart of
# PostgreSQL, a worker reconnects instead of failing its next request on a dead connection.
_database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60),
                                  conn_health_checks=True)
# postgres:// and postgresql:// name the same server as postgis:// (scripts/dbcheck.py accepts all
# three and checks that PostGIS is there): always use the GeoDjango backend.
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["ENGINE"] = "django.contrib.gis.db.backends.postgis"
if _database["ENGINE"] != "django.contrib.gis.db.backends.postgis":
    raise ImproperlyConfigured(
        "DATABASE_URL must use the postgis:// scheme: C@p Géo runs on PostgreSQL with PostGIS only."
    )
_database.setdefault("OPTIONS", {})
_database["OPTIONS"].setdefault("connect_timeout", 5)
_database["OPTIONS"].setdefault("application_name", "capgeo")
_database["TEST"] = {"NAME": os.environ.get("CAPGEO_TEST_DB_NAME", "test_" + _database["NAME"])}
DATABASES = {"default": _database}
# A streaming replica of the primary (optional): protocol reads of layer data go there, everything
# else stays on the primary (platform_web/db_routing.py, docs/installation.md « Plusieurs
# serveurs »). Without it, one database does everything.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=env_int("CONN_MAX_AGE", 60),
                                     conn_health_checks=True)
    if _replica["ENGINE"] in ("django.db.backends.postgresql",
                              "django.contrib.gis.db.backends.postgis"):
        _replica["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    else:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must use the postgis:// scheme.")
    _replica.setdefault("OPTIONS", {})
    # A stopped replica must not hold requests: reads fall back to the primary.
    _replica["OPTIONS"].setdefault("connect_timeout", 2)
    _replica["OPTIONS"].setdefault("application_name", "capgeo-replica")
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["platform_web.db_routing.PrimaryRouter"]
CAPGEO_REPLICA_MAX_LAG_SECONDS = env_int("CAPGEO_REPLICA_MAX_LAG_SECONDS", 5)
CAPGEO_REPLICA_CHECK_SECONDS = env_int("CAPGEO_REPLICA_CHECK_SECONDS", 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "django.forms",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "territory",
    "accounts",
    "layers",
    "maps",
    "wms",
    "fieldsync",
    "webmap",
    "opendata",
    "signalements",
    "metadata",  # ISO 19139 records and the CSW catalogue (pycsw) of the public layers
    "ogcapi",  # OGC API – Features /ogc/ on the feature source
    "gisserver",  # WFS 2.0 (wms.wfs): templates and template tags
    "platform_web",  # error answers, input guard, database routing (its write marks table)
    "capgeo",  # the project: its commands (load_demo, makemessages); templates/static in DIRS
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "platform_web.input_guard.InputGuardMiddleware",  # NUL, nesting: 400 in the URL space's format
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.authentication.DesktopAuthMiddleware",  # Basic / personal tokens (QGIS)
    "platform_web.db_routing.ReplicaReadMiddleware",  # reads on the replica, if any
    "layers.access_log.PersonalDataReadMiddleware",  # names the protocol in « qui a lu quoi »
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "capgeo.urls"
WSGI_APPLICATION = "capgeo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "capgeo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "capgeo.context_processors.platform",
            ],
        },
    },
]

# Widgets render through TEMPLATES, so templates (territory/offline_map_widget.html) can extend
# Django's GIS widget templates.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# French first; English available.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "capgeo" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# The apps' static/ folders (capgeo/static included: the project is an installed app).
STATICFILES_DIRS = []
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "capgeo.npm_static_files.NpmFileFinder",
]
# Front-end libraries installed from the npm registry (package.json), served by the platform.
NPM_STATIC_FILES = {
    "vendor/ol/ol.js": "ol/dist/ol.js",
    "vendor/ol/ol.js.map": "ol/dist/ol.js.map",
    "vendor/ol/ol.css": "ol/ol.css",
    "vendor/proj4/proj4.js": "proj4/dist/proj4.js",
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# A process that only reads MEDIA_ROOT — the background workers of a deployment on several
# machines or containers (docs/deploiement.md), whose media volume is written by the web servers
# alone: it leaves the received files and the thumbnails to the web servers, and unpacks imports
# in CAPGEO_WORK_DIR, its own scratch directory (by default, beside the received file).
CAPGEO_MEDIA_READ_ONLY = env_bool("CAPGEO_MEDIA_READ_ONLY", False)
CAPGEO_WORK_DIR = os.environ.get("CAPGEO_WORK_DIR", "")

# Background jobs (layer imports): django-tasks with its database backend, run by
# `manage.py import_worker` (see layers/jobs.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Coordinates are stored in Lambert-93.
CAPGEO_STORAGE_SRID = 2154
CAPGEO_INTERCOMMUNALITY_NAME = os.environ.get("CAPGEO_INTERCOMMUNALITY_NAME", "Cap Atlantique")
# Contact of the metadata records (ISO 19139, CSW, DCAT) when a layer names none: set it in
# production, national portals show it to their users.
CAPGEO_METADATA_CONTACT_EMAIL = os.environ.get("CAPGEO_METADATA_CONTACT_EMAIL",
                                               "sig@cap-atlantique.invalid")

# WFS (wms.wfs, django-gisserver): GML/GeoJSON/CSV encoded by PostGIS with 8 decimals (1 mm in
# metres, < 1 mm in degrees); page size cap, also advertised as CountDefault.
GISSERVER_USE_DB_RENDERING = True
GISSERVER_DB_PRECISION = 8
GISSERVER_CAPABILITIES_BOUNDING_BOX = True
CAPGEO_WFS_MAX_COUNT = env_int("CAPGEO_WFS_MAX_COUNT", 100000)

# Remote services (layers.remote, WMS cascade): only public addresses are fetched, except the
# hosts, addresses or networks listed here; each request bounded in time and size.
CAPGEO_REMOTE_ALLOWED_HOSTS = env_list("CAPGEO_REMOTE_ALLOWED_HOSTS", [])
CAPGEO_REMOTE_TIMEOUT = env_int("CAPGEO_REMOTE_TIMEOUT", 10)
CAPGEO_REMOTE_MAX_BYTES = env_int("CAPGEO_REMOTE_MAX_BYTES", 20 * 1024 * 1024)
CAPGEO_REMOTE_CACHE_SECONDS = env_int("CAPGEO_REMOTE_CACHE_SECONDS", 60)
CAPGEO_REMOTE_WFS_MAX_FEATURES = env_int("CAPGEO_REMOTE_WFS_MAX_FEATURES", 5000)
CAPGEO_WFS_MAX_BODY_BYTES = env_int("CAPGEO_WFS_MAX_BODY_BYTES", 50 * 1024 * 1024)

# Limits a deployment may tune (docs/installation.md lists them).
MiB = 1024 * 1024
CAPGEO_UPLOAD_MAX_BYTES = env_int("CAPGEO_UPLOAD_MAX_BYTES", 500 * MiB)  # one received file
CAPGEO_UNZIP_MAX_BYTES = env_int("CAPGEO_UNZIP_MAX_BYTES", 2048 * MiB)  # a zip's unpacked size
CAPGEO_IMPORT_HEARTBEAT_SECONDS = env_int("CAPGEO_IMPORT_HEARTBEAT_SECONDS", 15)
CAPGEO_IMPORT_STALE_SECONDS = env_int("CAPGEO_IMPORT_STALE_SECONDS", 120)  # silent job = failed
# Background workers (layers.workers): heartbeat, and silence after which a worker is taken for
# dead (its running tasks queued again or failed by the others).
CAPGEO_WORKER_HEARTBEAT_SECONDS = env_int("CAPGEO_WORKER_HEARTBEAT_SECONDS", 10)
CAPGEO_WORKER_STALE_SECONDS = env_int("CAPGEO_WORKER_STALE_SECONDS", 60)
CAPGEO_API_FEATURES_DEFAULT_LIMIT = env_int("CAPGEO_API_FEATURES_DEFAULT_LIMIT", 100)
CAPGEO_API_FEATURES_MAX_LIMIT = env_int("CAPGEO_API_FEATURES_MAX_LIMIT", 10000)
CAPGEO_EXPORT_TIMEOUT = env_int("CAPGEO_EXPORT_TIMEOUT", 100)  # below gunicorn's 120 s
# « Qui a lu quoi » (layers.access_log): days the journal of personal-data reads is kept.
CAPGEO_PERSONAL_DATA_READS_RETENTION_DAYS = env_int("CAPGEO_PERSONAL_DATA_READS_RETENTION_DAYS", 365)
# MapProxy's tile caches in Redis (redis://HOST:PORT/DB), shared by every app server; without it,
# files under var/tiles (wms/tiles/redis_store.py).
CAPGEO_TILE_CACHE_REDIS = os.environ.get("CAPGEO_TILE_CACHE_REDIS", "")
CAPGEO_WMS_MAX_SIZE = env_int("CAPGEO_WMS_MAX_SIZE", 4096)  # WIDTH and HEIGHT, pixels
CAPGEO_PRINT_DPI = env_int("CAPGEO_PRINT_DPI", 150)  # map frame of a print (/carte/impression/)
CAPGEO_PRINT_MAX_PIXELS = env_int("CAPGEO_PRINT_MAX_PIXELS", 10_000_000)  # map image of a print
CAPGEO_PRINT_MAX_LAYERS = env_int("CAPGEO_PRINT_MAX_LAYERS", 12)
CAPGEO_PRINT_MAX_GROUND_KM = env_int("CAPGEO_PRINT_MAX_GROUND_KM", 500)  # widest printed box
FIELDSYNC_MAX_BATCH_CHANGES = env_int("FIELDSYNC_MAX_BATCH_CHANGES", 1000)
FIELDSYNC_MAX_BATCH_BYTES = env_int("FIELDSYNC_MAX_BATCH_BYTES", 20 * MiB)
FIELDSYNC_MAX_PHOTO_BYTES = env_int("FIELDSYNC_MAX_PHOTO_BYTES", 20 * MiB)
FIELDSYNC_MAX_CHUNK_BYTES = env_int("FIELDSYNC_MAX_CHUNK_BYTES", 8 * MiB)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Basic and personal tokens (QGIS, scripts), then the browser's session.
        "accounts.authentication.DesktopTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "C@p Géo API",
    "DESCRIPTION": "API REST de la plateforme SIG communautaire C@p Géo.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc served from the platform (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set used by several fields (layers' permissions, access rules).
    "ENUM_NAME_OVERRIDES": {
        "PermissionEnum": "layers.models.Permission",
        "RowRestrictionEnum": "layers.models.RowRestriction",
    },
}

# Production hardening: a deployment behind TLS sets CAPGEO_HTTPS=true (docker-compose.yml does),
# which turns on secure cookies, HTTPS redirects and HSTS; the local demo is served over plain http.
HTTPS = env_bool("CAPGEO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
# Subdomains and the browsers' preload list bind every host of the domain to HTTPS for a year:
# opt-in only, never implied by CAPGEO_HTTPS.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("CAPGEO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Debian 12 ships GDAL 3.6, older than the 3.9 that can forbid file/network access while parsing
# spatial references. C@p Géo never hands a user-supplied SRS string to GDAL: CRSs are checked
# against EPSG codes known to PostGIS first (see layers/), so the warning is silenced knowingly.
# HSTS for subdomains and preload (security.W005, W021) are opt-in above: a commune's domain often
# carries other hosts that C@p Géo does not control.
SILENCED_SYSTEM_CHECKS = ["gis.W001", "security.W005", "security.W021"]

# --- Signalements (signalements/) ----------------------------------------------------------------
# E-mail through Django's SMTP backend (acknowledgements, status changes, new reports to services).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "signalements@capgeo.localhost")
# The public address of the platform, for the tracking links sent by e-mail.
CAPGEO_PUBLIC_URL = os.environ.get("CAPGEO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Rate limits (django-ratelimit) count in PostgreSQL, shared by every gunicorn worker
# (signalements/ratecache.py); the default cache stays in each process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {"BACKEND": "signalements.ratecache.RateCounterCache"},
}
RATELIMIT_USE_CACHE = "ratelimit"
CAPGEO_REPORT_RATE_IP = os.environ.get("CAPGEO_REPORT_RATE_IP", "10/h")
CAPGEO_REPORT_RATE_USER = os.environ.get("CAPGEO_REPORT_RATE_USER", "30/h")

# Every handler masks credentials (tokens, passwords, Authorization, X-Api-Key: see
# accounts/redaction.py); gunicorn's own logs are masked by its logger class (run.sh).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "accounts.redaction.RedactCredentials"}},
    "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter",
                                     "format": "[{server_time}] {message}", "style": "{"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
        # runserver's request lines (Django's default handler, with the filter).
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                          "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default handlers (console when DEBUG, mail to ADMINS) replaced: to the root's.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "pycsw": {"level": "WARNING"},  # the embedded CSW (metadata.csw) logs each step at INFO
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
