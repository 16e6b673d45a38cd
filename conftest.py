"""Test set-up shared by every app: a real PostGIS test database holding the demo territory."""
import os
from pathlib import Path

import pytest
from django.conf import settings

from capgeo.territory.demo import load_demo


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_demo()


# --- Browser tests ------------------------------------------------------------------------------
# Playwright drives Debian's Chromium (installed by `./run.sh test`), never a downloaded browser.
# Pages run against pytest-django's live_server, so the data they see must be committed: use
# `committed_demo` (demo territory, accounts and catalogue, put back for later tests afterwards).

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


@pytest.fixture(scope="session", autouse=True)
def close_mapnik_connections(django_db_setup, django_db_blocker):
    """Mapnik's PostGIS pool (WMS, prints, reports, thumbnails) keeps connections to the test
    database: end them, once, before it is dropped (this session's own: the name is its own)."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                       "AND usename = current_user AND backend_type = 'client backend'")


def _is_transactional(item):
    names = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    return ("transactional_db" in names or "live_server" in names
            or bool(marker and marker.kwargs.get("transaction")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test, once every fixture is torn down (so after its flush — fixture
    order cannot be relied on: live_server's helper is autouse), put back the migrations' data,
    the demo, and no leftover layer table for the tests that follow."""
    yield
    if not _is_transactional(item):
        return
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from pytest_django.plugin import blocking_manager_key

    from layers.models import Theme
    from layers.tables import drop_orphan_layer_tables

    with item.config.stash[blocking_manager_key].unblock():
        serialized = getattr(connection, "_test_serialized_contents", None)
        # The migrations' data (themes…) is gone unless a fixture of the test put it back already.
        if serialized and not Theme.objects.exists():
            # A flush that ran post_migrate re-created content types and permissions under new
            # keys: make room for the serialized ones, with their original keys.
            Permission.objects.all().delete()
            ContentType.objects.all().delete()
            ContentType.objects.clear_cache()
            connection.creation.deserialize_db_from_string(serialized)
        drop_orphan_layer_tables()
        load_demo(thumbnails=False)


@pytest.fixture
def committed_demo(transactional_db, django_db_serialized_rollback):
    """The demo (territory, accounts, catalogue layers) committed, for live_server and browsers;
    put back for later tests by pytest_runtest_teardown above."""
    load_demo(thumbnails=False)


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `./run.sh test` installs Debian's chromium package.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between two browser steps are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    serialized = {alias: getattr(connections[alias], "_test_serialized_contents", None)
                  for alias in connections}
    with sync_playwright() as playwright:
        # Playwright's greenlet gives this thread a new context, where Django's connections
        # (an asgiref Local) are new objects: hand them the migrations' data serialized at set-up,
        # or serialized rollbacks and the teardown hook above silently restore nothing.
        for alias, contents in serialized.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
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
