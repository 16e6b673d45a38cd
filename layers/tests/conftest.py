import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from layers.testing import build_access_scenario


@pytest.fixture
def access_scenario(db):
    return build_access_scenario()


@pytest.fixture
def scenario_user():
    """scenario_user("agent.guerande") -> the demo user; "anonymous" -> AnonymousUser."""
    def get(username):
        if username == "anonymous":
            return AnonymousUser()
        return User.objects.get(username=username)
    return get
