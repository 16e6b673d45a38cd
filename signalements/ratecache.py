"""A cache backend holding django-ratelimit's counters in PostgreSQL, shared by every process.

django-ratelimit needs a cache shared by all gunicorn workers with an atomic increment; the
platform runs no memcached or Redis, and Django's DatabaseCache increments by read-then-write.
This backend keeps integers only, in ``signalements_ratecounter``, and increments them with one
UPDATE … RETURNING (atomic under concurrency). It implements what django-ratelimit calls
(add, incr, get) plus set/delete/clear for completeness; nothing else should use it.
"""
from datetime import timedelta

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connection
from django.utils import timezone

TABLE = "signalements_ratecounter"


class RateCounterCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)

    def _expiry(self, timeout):
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        return timezone.now() + timedelta(seconds=timeout if timeout is not None else 10**8)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (key, value, expires) VALUES (%s, %s, %s) "
                f"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires "
                f"WHERE {TABLE}.expires <= now() RETURNING 1",
                [key, int(value), self._expiry(timeout)])
            added = cursor.fetchone() is not None
            if added:  # a new window: counters of ended windows are of no use any more
                cursor.execute(f"DELETE FROM {TABLE} WHERE expires <= now()")
            return added

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (key, value, expires) VALUES (%s, %s, %s) "
                f"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires",
                [key, int(value), self._expiry(timeout)])

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {TABLE} WHERE key = %s AND expires > now()", [key])
            row = cursor.fetchone()
        return row[0] if row else default

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET value = value + %s "
                           f"WHERE key = %s AND expires > now() RETURNING value", [delta, key])
            row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key '{key}' not found")
        return row[0]

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE key = %s", [key])
            return cursor.rowcount > 0

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET expires = %s WHERE key = %s",
                           [self._expiry(timeout), key])
            return cursor.rowcount > 0

    def clear(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")
