"""Test set-up shared by every app: a real PostGIS test database holding the demo territory."""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from capgeo.demo import load_demo


# --- The test database ---------------------------------------------------------------------------
# Migrated, loaded with the demo, then photographed (tests/dbsnapshot.py). Tests in a rolled-back
# transaction leave it as it was; after a test that commits (transactional_db, live_server, other
# connections), pytest_runtest_teardown below puts back exactly what the snapshot holds, table by
# table, only what changed. That replaces Django's flush and serialized rollback: every test starts
# from the demo (territory, accounts, catalogue, layer tables and their rows).

SNAPSHOT = pytest.StashKey()
RESTORES = pytest.StashKey()  # [(seconds, what)] of the session's restores, for its summary


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Django's advice for test suites: a fast password hasher. The production one (PBKDF2, a
    million rounds) costs ~0.4 s a hash here, paid by every demo account at set-up and every
    password login of a test; no test is about the hashing itself."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def on_test_database():
    """True once pytest-django has switched the connection to the test database (it makes one
    only when a collected test uses the database)."""
    from django.db import connection

    return connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"]


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker, fast_password_hashing):
    from django.db import connections
    from django.test import TransactionTestCase

    from tests.dbsnapshot import Snapshot

    if not on_test_database():
        # No collected test uses the database, so pytest-django made none: the connection still
        # names the real one, where nothing is loaded (nor, below, any connection ended).
        yield
        return
    with django_db_blocker.unblock():
        load_demo()
        snapshot = Snapshot.take(connections["default"])
    request.config.stash[SNAPSHOT] = snapshot
    request.config.stash[RESTORES] = snapshot.restores
    # The snapshot restore does the flush's and the serialized rollback's work, exactly and
    # faster: no flush (TRUNCATE of every table) after a transactional test, no re-loading of
    # the migrations' data before one.
    for alias in connections:
        if hasattr(connections[alias], "_test_serialized_contents"):
            del connections[alias]._test_serialized_contents
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", lambda self: None)
        yield
    # The test database is about to go (this runs within the last test's teardown, before the
    # hook below): nothing to restore any more, and the connection settings will point to the
    # real database again.
    request.config.stash[SNAPSHOT] = None


# --- Browser tests ------------------------------------------------------------------------------
# Playwright drives Debian's Chromium (installed by `./run.sh test`), never a downloaded browser.
# Pages run against pytest-django's live_server, so the data they see must be committed: use
# `committed_demo` (a transactional test over the demo, put back for later tests afterwards).

CHROMIUM = os.environ.get("CAPGEO_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS_DIR = Path(__file__).resolve().parent / "var" / "test-artefacts"
DEMO_PASSWORD = "demo-capgeo"


@pytest.fixture(scope="session", autouse=True)
def plain_static_urls():
    """live_server serves /static/ through the finders, which know no hashed manifest names:
    tests link the source names (production keeps WhiteNoise's hashed, compressed files)."""
    from django.test import override_settings

    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True)
def platform_language_after_each_test():
    """A request in English leaves English active in the test's thread (LocaleMiddleware never
    deactivates it), so a later test writing texts without a request (commands, journals) wrote
    them in English depending on the order: every test ends back on LANGUAGE_CODE."""
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def close_mapnik_connections(django_db_setup, django_db_blocker):
    """Mapnik's PostGIS pool (WMS, prints, reports, thumbnails) keeps connections to the test
    database: end them, once, before it is dropped (this session's own: the name is its own)."""
    yield
    from django.db import connection

    if not on_test_database():
        return  # the real database: other programs' connections are not this session's
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                       "AND usename = current_user AND backend_type = 'client backend'")


def pytest_terminal_summary(terminalreporter, config):
    restores = config.stash.get(RESTORES, None)
    if restores:
        total = sum(seconds for seconds, _what in restores)
        terminalreporter.write_line(
            f"test database restored from its snapshot {len(restores)} times: {total:.1f} s in "
            f"all, {total / len(restores):.2f} s on average, {max(restores)[0]:.2f} s at most")


def _is_transactional(item):
    names = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    return ("transactional_db" in names or "live_server" in names
            or bool(marker and marker.kwargs.get("transaction")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Once every fixture of the test is torn down: the database back to the snapshot.

    After a transactional test, always (only what it wrote is put back). After any other test,
    the rolled-back transaction left nothing, but data committed by a class- or module-scoped
    fixture (the export tests commit layers for ogr2ogr) must outlive it: the database is only
    checked, and put back if anything was left, when the test's class or module ends.
    """
    yield
    snapshot = item.config.stash.get(SNAPSHOT, None)
    if snapshot is None:
        return
    transactional = _is_transactional(item)
    group_goes_on = nextitem is not None and item.parent in nextitem.listchain()
    if not transactional and group_goes_on:
        return
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    connection = connections["default"]
    with item.config.stash[blocking_manager_key].unblock():
        if not transactional:
            with connection.cursor() as cursor:
                if not snapshot.is_dirty(cursor):
                    return
        snapshot.restore(connection)


@pytest.fixture
def committed_demo(transactional_db):
    """The demo (territory, accounts, catalogue layers), committed since the session's set-up,
    for live_server and browsers; what the test commits is undone by pytest_runtest_teardown."""


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `./run.sh test` installs Debian's chromium package.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between two browser steps are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"] if os.geteuid() == 0 else [])
        yield browser
        browser.close()


@pytest.fixture
def artefacts(request):
    """var/test-artefacts/<test>/: screenshots and downloads kept after the run."""
    name = request.node.nodeid.replace("/", "_").replace("::", "__").replace(".py", "")
    directory = ARTEFACTS_DIR / "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser_page(chromium, artefacts):
    """A fresh French tablet-sized browser page; a last screenshot is kept as an artefact."""
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800},
                                   accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    console_errors = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.console_errors = console_errors
    yield page
    try:
        page.screenshot(path=str(artefacts / "last.png"), full_page=True)
    finally:
        context.close()


def log_in(page, base_url, username, password=DEMO_PASSWORD):
    """Sign in through the login page, as a person would."""
    page.goto(f"{base_url}/connexion/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
