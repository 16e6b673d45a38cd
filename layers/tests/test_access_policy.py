"""The access policy decides layers and rows for every kind of rule and every kind of user."""
import pytest
from django.db import connection

from layers.access import AccessDenied, AccessPolicy, Grant, LayerNotFound
from layers.models import AccessRule, Audience, Permission, RowRestriction
from layers.tables import DATA_SCHEMA, qualified
from layers.testing import (
    SCENARIO_EXPECTED_DOWNLOAD,
    SCENARIO_EXPECTED_ROWS,
    SCENARIO_RULES,
)

pytestmark = pytest.mark.django_db
USERS = list(SCENARIO_EXPECTED_ROWS)


def visible_insee(grant):
    where, params = grant.where()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT code_insee FROM {qualified(DATA_SCHEMA, grant.layer.name)} t WHERE {where}",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("username", USERS)
def test_visible_layers_and_rows(access_scenario, scenario_user, username):
    policy = AccessPolicy.for_user(scenario_user(username))
    expected = SCENARIO_EXPECTED_ROWS[username]
    visible = set(policy.layers(Permission.VIEW).filter(name__in=SCENARIO_RULES)
                  .values_list("name", flat=True))
    assert visible == set(expected)
    for name in SCENARIO_RULES:
        if name in expected:
            assert visible_insee(policy.grant(name, Permission.VIEW)) == expected[name], name
        else:
            with pytest.raises(LayerNotFound):
                policy.grant(name, Permission.VIEW)


@pytest.mark.parametrize("username", USERS)
def test_download_permission(access_scenario, scenario_user, username):
    policy = AccessPolicy.for_user(scenario_user(username))
    expected = SCENARIO_EXPECTED_DOWNLOAD[username]
    downloadable = set(policy.layers(Permission.DOWNLOAD).filter(name__in=SCENARIO_RULES)
                       .values_list("name", flat=True))
    assert downloadable == expected
    for name in set(SCENARIO_EXPECTED_ROWS[username]) - expected:
        with pytest.raises(AccessDenied):
            policy.grant(name, Permission.DOWNLOAD)


def test_edit_only_where_a_rule_grants_it(access_scenario, scenario_user):
    inspector = AccessPolicy.for_user(scenario_user("controleur.spanc"))
    assert inspector.grant("acces_spanc", Permission.EDIT).permission == Permission.EDIT
    with pytest.raises(AccessDenied):
        inspector.grant("acces_public", Permission.EDIT)
    agent = AccessPolicy.for_user(scenario_user("agent.guerande"))
    assert agent.permissions(access_scenario["acces_guerande"]) == {Permission.VIEW, Permission.DOWNLOAD}
    assert AccessPolicy.for_user(scenario_user("admin.sig")).permissions(
        access_scenario["acces_admins"]) == set(Permission)


def test_an_unrestricted_rule_lifts_the_restriction(access_scenario, scenario_user):
    layer = access_scenario["acces_territoire"]
    rule = AccessRule.objects.create(layer=layer, audience=Audience.ROLES,
                                     roles=["municipal_agent"], permission=Permission.VIEW)
    agent = AccessPolicy.for_user(scenario_user("agent.labaule"))
    assert visible_insee(agent.grant(layer.name)) == {"44069", "44055"}
    # …but only for the permission that rule grants: downloads stay restricted.
    assert visible_insee(agent.grant(layer.name, Permission.DOWNLOAD)) == {"44055"}
    rule.delete()


def test_anonymous_never_gets_a_commune_restricted_public_rule(access_scenario, scenario_user):
    layer = access_scenario["acces_territoire"]
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW,
                              row_restriction=RowRestriction.COMMUNE_TERRITORY)
    anonymous = AccessPolicy.for_user(scenario_user("anonymous"))
    assert not anonymous.layers().filter(name=layer.name).exists()
    with pytest.raises(LayerNotFound):
        anonymous.grant(layer.name)


def test_inactive_users_are_anonymous(access_scenario, scenario_user):
    user = scenario_user("admin.sig")
    user.is_active = False
    policy = AccessPolicy.for_user(user)
    assert set(policy.layers().filter(name__in=SCENARIO_RULES).values_list("name", flat=True)) \
        == {"acces_public"}


def test_unknown_and_forbidden_layers_look_the_same(access_scenario, scenario_user):
    policy = AccessPolicy.for_user(scenario_user("anonymous"))
    with pytest.raises(LayerNotFound) as unknown:
        policy.grant("n_existe_pas")
    with pytest.raises(LayerNotFound) as hidden:
        policy.grant("acces_admins")
    assert type(unknown.value) is type(hidden.value)


def test_a_grant_cannot_be_forged(access_scenario):
    from layers.access import ALL_ROWS

    with pytest.raises(TypeError):
        Grant(access_scenario["acces_admins"], Permission.VIEW, ALL_ROWS, None)
