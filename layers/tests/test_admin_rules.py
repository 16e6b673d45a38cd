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


def test_the_rights_screen_agrees_with_the_sources_for_every_demo_user():
    """AccessPolicy.overview (the rights screens) decides as AccessPolicy.source does (the
    protocols), layer by layer, for every demo account."""
    from layers.access import AccessDenied, AccessPolicy, LayerNotFound
    from layers.models import Permission

    for user in User.objects.all():
        policy = AccessPolicy.for_user(user)
        overview = {rights.layer.name: rights for rights in policy.overview()}
        assert set(overview) == set(policy.layers().values_list("name", flat=True)), user
        for name, rights in overview.items():
            source = policy.source(name, Permission.VIEW)
            assert rights.operations == source.operations, (user, name)
            assert list(rights.readable) == source.readable_names(), (user, name)
            assert rights.restricted == source.restricted, (user, name)
            assert rights.clipped == (source.clip is not None), (user, name)
            try:
                writable = [c.name for c in policy.source(name, Permission.EDIT).writable]
            except AccessDenied:
                writable = []
            assert list(rights.writable) == writable, (user, name)
        for layer in Layer.objects.exclude(name__in=overview):
            with pytest.raises(LayerNotFound):
                policy.source(layer, Permission.VIEW)


def test_the_rights_screen_reads_the_rules_of_all_layers_at_once(admin_client):
    """Set-based: as many queries with five more layers (each with its rules) as without."""
    from django.db import connection as default
    from django.test.utils import CaptureQueriesContext

    from layers.testing import make_vector_layer

    def queries():
        with CaptureQueriesContext(default) as captured:
            page = admin_client.get("/admin/layers/accessrule/ce-que-voit/",
                                    {"user": "agent.guerande"})
        assert page.status_code == 200
        return len(captured), page.content.decode()

    before, _html = queries()
    for index in range(5):
        make_vector_layer(f"ecran_droits_{index}", "POINT", [("nom", "text")], [], rules=[
            {"audience": "authenticated", "permission": "view"},
            {"audience": "roles", "roles": ["municipal_agent"], "permission": "download",
             "row_restriction": "commune_territory"}])
    after, html = queries()
    assert "ecran_droits_4" in html
    assert after == before


def test_a_role_and_a_commune_and_one_layer_with_its_rows_and_their_map(admin_client):
    """Without an account: a role and a commune; then one layer: his rows counted through his
    read filter, and drawn (a PNG of the map engine)."""
    page = admin_client.get("/admin/layers/accessrule/ce-que-voit/",
                            {"role": "municipal_agent", "commune": "44069"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "installations_anc" in html and "restreints" in html
    detail = admin_client.get("/admin/layers/accessrule/ce-que-voit/installations_anc/",
                              {"role": "municipal_agent", "commune": "44069"})
    assert detail.status_code == 200
    from layers.access import AccessPolicy
    from accounts.models import User as Account
    from territory.models import Commune

    stand_in = Account(role="municipal_agent", commune=Commune.objects.get(insee="44069"))
    stand_in.capgeo_group_ids = ()
    source = AccessPolicy.for_user(stand_in).source("installations_anc")
    count = source.summary().count
    assert 0 < count < Layer.objects.get(name="installations_anc").feature_count
    assert f"<td>{count} (restreints)</td>" in detail.content.decode()
    assert "carte.png?role=municipal_agent" in detail.content.decode()
    picture = admin_client.get("/admin/layers/accessrule/ce-que-voit/installations_anc/carte.png",
                               {"role": "municipal_agent", "commune": "44069"})
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    hidden = admin_client.get("/admin/layers/accessrule/ce-que-voit/installations_anc/carte.png",
                              {"user": "personne"})
    assert hidden.status_code == 404
    wrong = admin_client.get("/admin/layers/accessrule/ce-que-voit/", {"role": "pirate"})
    assert "Rôle inconnu" in wrong.content.decode()
