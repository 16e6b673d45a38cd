"""The rule's own admin page: conditions chosen among the layer's columns (never SQL), refused in
French when wrong; group membership changes bump the catalogue version (rights follow)."""
import pytest
from django.contrib.auth.models import Group
from django.db import connection

from accounts.models import User
from layers.models import AccessRule, Layer

pytestmark = pytest.mark.django_db


def version():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM wms_catalogue_version WHERE id = 1")
        return cursor.fetchone()[0]


def form_of(rule, **changes):
    data = {"description": rule.description, "effect": rule.effect, "priority": rule.priority,
            "audience": rule.audience, "permission": rule.permission,
            "operations": list(rule.operations), "row_restriction": rule.row_restriction,
            "area_mode": rule.area_mode, "write_restriction": rule.write_restriction,
            "read_condition_column": "", "read_condition_op": "", "read_condition_value": "",
            "write_condition_column": "", "write_condition_op": "", "write_condition_value": ""}
    data.update(changes)
    return data


def test_a_condition_is_chosen_among_the_columns_and_a_wrong_one_refused_in_french(
        admin_client):
    rule = AccessRule.objects.get(layer__name="mairies")
    url = f"/admin/layers/accessrule/{rule.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Filtre de lecture" in page.content.decode() and "telephone" in page.content.decode()
    wrong = admin_client.post(url, form_of(rule, read_condition_column="insee",
                                           read_condition_op="in", read_condition_value=""))
    assert wrong.status_code == 200
    assert "liste de valeurs" in wrong.content.decode()
    assert AccessRule.objects.get(pk=rule.pk).read_condition is None
    done = admin_client.post(url, form_of(rule, read_condition_column="insee",
                                          read_condition_op="in",
                                          read_condition_value="44069; 44055"))
    assert done.status_code == 302, done.content[:2000]
    rule.refresh_from_db()
    assert rule.read_condition == {"column": "insee", "op": "in", "value": ["44069", "44055"]}
    assert set(rule.columns) == set(Layer.objects.get(name="mairies").attribute_names())


def test_joining_a_group_named_by_a_rule_bumps_the_catalogue_version():
    group = Group.objects.create(name="Équipe test")
    before = version()
    User.objects.get(username="lecteur").groups.add(group)
    assert version() > before


def test_what_a_user_sees_is_computed_by_the_policy(admin_client, client):
    page = admin_client.get("/admin/layers/accessrule/ce-que-voit/", {"user": "agent.guerande"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "zones_activite" in html and "modifier les attributs" in html
    assert "installations_anc" in html and "restreints" in html
    missing = admin_client.get("/admin/layers/accessrule/ce-que-voit/", {"user": "personne"})
    assert "introuvable" in missing.content.decode()
    client.force_login(User.objects.get(username="agent.guerande"))
    assert client.get("/admin/layers/accessrule/ce-que-voit/").status_code in (302, 403)
