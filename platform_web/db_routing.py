"""Which database a request reads from: the primary, or the streaming replica when one is set.

Without DATABASE_REPLICA_URL there is one database and nothing here does anything: every read
and write goes to ``default``, as on a single machine.

With it (settings: the ``replica`` alias), the rules are:

- **Writes, and the ORM**: always the primary. ``PrimaryRouter`` sends every model read and write
  to ``default``: the catalogue, the rights, the sessions, the counters are small and must be
  current (a rights change applies on the next request, whatever app server serves it).
- **Protocol reads of layer data**: a GET or HEAD on a read-only protocol space (WMS, WFS and OGC
  API reads, tiles, MVT, REST reads and exports, the open-data downloads: ``REPLICA_PATHS``) reads
  the layers' rows from the replica. The feature source, the Mapnik datasource, the MVT query and
  ogr2ogr exports ask ``read_alias()`` for the connection (layers/features/, maps/renderer.py).
- **Read-your-writes**: after an unsafe request (POST, PUT, PATCH, DELETE) of an authenticated
  user, the primary's WAL position (``pg_current_wal_lsn()``) is remembered for that user in the
  table ``platform_web_write_marks`` on the primary — shared by every app server, and keyed by the
  user, so cookie-less clients (QGIS with Basic or a token) are covered as well as browsers. That
  user's next protocol reads go to the replica only once its replayed position
  (``pg_last_wal_replay_lsn()``) has passed the mark; until then, the primary. Anonymous users never
  write layer data through the protocols; their reads may lag by the bound below.
- **Bounded lag, fallback**: each process checks the replica at most every
  ``CAPGEO_REPLICA_CHECK_SECONDS`` (1 s): reachable, in recovery, and lagging by at most
  ``CAPGEO_REPLICA_MAX_LAG_SECONDS`` (5 s). Otherwise reads go to the primary. A GET routed to the
  replica that fails (5xx or an exception: the replica stopped under it) is answered again from the
  primary, once, and the replica is checked again before it is used.

``replica_status()`` is what /healthz reports.
"""
import collections
import contextvars
import logging
import threading
import time

from django.conf import settings
from django.core.signals import request_finished
from django.db import connections
from django.db.utils import Error as DatabaseError

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
SAFE_METHODS = ("GET", "HEAD")
# URL prefixes whose GET/HEAD requests only read layer data (never write it).
REPLICA_PATHS = ("/ows", "/mapproxy/", "/tiles/", "/ogc/", "/api/layers/", "/donnees/")
MARKS_TABLE = "platform_web_write_marks"
SAMPLES_SECONDS = 120  # how far back the primary's positions are kept to measure the lag

_read_alias = contextvars.ContextVar("capgeo_read_alias", default=PRIMARY)


def replica_configured():
    return REPLICA in settings.DATABASES


def read_alias():
    """The database alias the current request reads layer data from."""
    return _read_alias.get()


def read_connection():
    """The connection layer-data reads of the current request use."""
    return connections[read_alias()]


def use_primary():
    _read_alias.set(PRIMARY)


def _reset(**kwargs):
    # A streamed response reads until it is closed: the alias lives until request_finished.
    _read_alias.set(PRIMARY)


request_finished.connect(_reset, dispatch_uid="platform_web_db_routing_reset")


class PrimaryRouter:
    """Every model on the primary; the replica is reached only through read_alias()."""

    def db_for_read(self, model, **hints):
        return PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


# --- The replica's state, per process --------------------------------------------------------------
def _max_lag():
    return float(getattr(settings, "CAPGEO_REPLICA_MAX_LAG_SECONDS", 5))


def _check_interval():
    return float(getattr(settings, "CAPGEO_REPLICA_CHECK_SECONDS", 1))


def _lsn(text):
    """A pg_lsn's text (X/Y) as an integer; None stays None."""
    if text is None:
        return None
    high, low = str(text).split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaState:
    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = None
        self.status = {"configured": False}
        self.usable = False
        self.replay_lsn = None
        self.samples = collections.deque()  # (monotonic time, primary's WAL position)

    def refresh(self, force=False):
        if not replica_configured():
            self.usable, self.status = False, {"configured": False}
            return self
        now = time.monotonic()
        if not force and self.checked_at is not None and now - self.checked_at < _check_interval():
            return self
        with self.lock:
            if not force and self.checked_at is not None and \
                    time.monotonic() - self.checked_at < _check_interval():
                return self
            self._check()
            self.checked_at = time.monotonic()
        return self

    def _check(self):
        started = time.monotonic()
        try:
            with connections[PRIMARY].cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery(), "
                               "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END")
                primary_in_recovery, primary_lsn = cursor.fetchone()
        except DatabaseError:
            primary_in_recovery, primary_lsn = None, None
        try:
            replica = connections[REPLICA]
            with replica.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), "
                    "EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())")
                in_recovery, replay_lsn, since_replay = cursor.fetchone()
        except DatabaseError as error:
            connections[REPLICA].close()
            reason = str(error).strip().splitlines()[0] if str(error).strip() else \
                error.__class__.__name__
            if self.usable:
                logger.warning("replica unreachable, reads go to the primary: %s", reason)
            self.usable, self.replay_lsn = False, None
            self.status = {"configured": True, "state": "down", "reason": reason}
            return
        replay = _lsn(replay_lsn)
        current = _lsn(primary_lsn)
        lag_bytes = max(0, current - replay) if current is not None and replay is not None else None
        lag_seconds = self._lag_seconds(current, replay, since_replay)
        state = "ok"
        if not in_recovery:
            state = "not-a-replica"  # promoted: it takes writes now, it is no replica any more
        elif lag_seconds is None or lag_seconds > _max_lag():
            state = "lagging"
        was_usable = self.usable
        self.usable = state == "ok"
        if was_usable != self.usable:
            logger.warning("replica %s (lag %s s, %s bytes)", state, lag_seconds, lag_bytes)
        self.replay_lsn = replay
        self.status = {"configured": True, "state": state, "lag_seconds": lag_seconds,
                       "lag_bytes": lag_bytes, "replay_lsn": replay_lsn,
                       "max_lag_seconds": _max_lag(),
                       "check_ms": round((time.monotonic() - started) * 1000, 1)}

    def _lag_seconds(self, current, replay, since_replay):
        """How long ago the primary was where the replica is now: the oldest of this process's
        samples of the primary's position that the replica has not replayed yet (0 when it has
        replayed them all). Without samples yet, the age of the last replayed transaction — too
        high when the primary was idle before its last write, never too low."""
        now = time.monotonic()
        if current is None or replay is None:
            return None
        had_samples = bool(self.samples)
        self.samples.append((now, current))
        while self.samples and now - self.samples[0][0] > SAMPLES_SECONDS:
            self.samples.popleft()
        if replay >= current:
            return 0.0
        if not had_samples:
            return round(float(since_replay), 3) if since_replay is not None else None
        behind = [at for at, position in self.samples if position > replay]
        return round(now - min(behind), 3) if behind else 0.0

    def replayed(self, lsn):
        """True when the replica has replayed the WAL up to lsn (an integer)."""
        if self.replay_lsn is not None and self.replay_lsn >= lsn:
            return True
        try:  # the cached position may be old: ask once more
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn()")
                self.replay_lsn = _lsn(cursor.fetchone()[0])
        except DatabaseError:
            connections[REPLICA].close()
            return False
        return self.replay_lsn is not None and self.replay_lsn >= lsn


_state = ReplicaState()


def replica_status(force=True):
    """The replica's state for /healthz: configured, state (ok, lagging, down, not-a-replica),
    lag in seconds and bytes."""
    return dict(_state.refresh(force=force).status)


# --- Read-your-writes marks ----------------------------------------------------------------------
def remember_write(user_id):
    """Note the primary's WAL position as the user's last write (after their unsafe request)."""
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {MARKS_TABLE} (user_id, lsn, written_at) "
                "VALUES (%s, pg_current_wal_lsn()::text, now()) ON CONFLICT (user_id) DO UPDATE "
                "SET lsn = EXCLUDED.lsn, written_at = EXCLUDED.written_at", [user_id])
    except DatabaseError:
        logger.exception("the write mark of user %s could not be saved", user_id)


def last_write(user_id):
    """The user's last write position (an integer), or None."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(f"SELECT lsn FROM {MARKS_TABLE} WHERE user_id = %s", [user_id])
        row = cursor.fetchone()
    return _lsn(row[0]) if row else None


def choose_read_alias(request):
    """The alias a request's layer-data reads go to (the primary unless everything allows the
    replica)."""
    if not replica_configured() or request.method not in SAFE_METHODS \
            or not request.path.startswith(REPLICA_PATHS):
        return PRIMARY
    state = _state.refresh()
    if not state.usable:
        return PRIMARY
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        mark = last_write(user.pk)
        if mark is not None and not state.replayed(mark):
            return PRIMARY
    return REPLICA


def _authenticated_id(request):
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


class ReplicaReadMiddleware:
    """Chooses each request's read alias, remembers each user's writes (after the desktop
    authentication: Basic and token users have their marks too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        alias = choose_read_alias(request)
        _read_alias.set(alias)
        try:
            response = self.get_response(request)
        except Exception:
            if alias != REPLICA:
                raise
            response = None
        if alias == REPLICA and (response is None or response.status_code >= 500):
            # The replica may have stopped under the request: answer it again from the primary.
            logger.warning("%s %s failed on the replica; answered from the primary",
                           request.method, request.path)
            _state.refresh(force=True)
            _read_alias.set(PRIMARY)
            response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            user_id = _authenticated_id(request)
            if user_id is not None:
                remember_write(user_id)
        return response
