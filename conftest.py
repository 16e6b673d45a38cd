"""Test set-up shared by every app: a real PostGIS test database holding the demo territory."""
import pytest

from capgeo.territory.demo import load_demo


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_demo()
