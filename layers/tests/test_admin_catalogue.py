"""The catalogue's admin: GIS staff edit metadata and access rules; deleting drops the tables."""
import pytest
from django.db import connection

from territory.models import Commune
from layers.models import AccessRule, Audience, Layer, Permission, RowRestriction, Theme
from layers.tables import DATA_SCHEMA, HISTORY_SCHEMA, copy_table, table_exists
from layers.testing import make_vector_layer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def admin_client(client, scenario_user):
    client.force_login(scenario_user("admin.sig"))
    return client


def form_data(response):
    """The POST data a browser would send back for an admin change form, as displayed."""
    data = {}

    def add_form(form):
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None:
                continue
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(v.pk if hasattr(v, "pk") else v) for v in value]
            else:
                data[key] = value.pk if hasattr(value, "pk") else value

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            add_form(form)
    # Widgets render lists as comma-separated text.
    for key, value in list(data.items()):
        if key in ("keywords", "search_fields"):
            data[key] = ",".join(value) if isinstance(value, list) else value
    return data


def add_rule(data, index, **rule):
    # index: the n-th rule added by the test, after the layer's existing ones.
    index = int(data["access_rules-TOTAL_FORMS"])
    prefix = f"access_rules-{index}-"
    data["access_rules-TOTAL_FORMS"] = index + 1
    # What a new rule's form shows before the administrator changes it.
    rule = {"effect": "allow", "priority": "0", "area_mode": "intersect",
            "write_restriction": "none", **rule}
    for key, value in rule.items():
        data[prefix + key] = value
    data[prefix + "layer"] = ""
    data[prefix + "id"] = ""
    return data


def test_layer_list_and_filters(admin_client):
    response = admin_client.get("/admin/layers/layer/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Communes de Cap Atlantique", "installations_anc", "Mairies",
                 "Type de géométrie", "Thème"):
        assert text in html, text
    found = admin_client.get("/admin/layers/layer/", {"q": "reseau"}).context["cl"].result_list
    assert [layer.name for layer in found] == ["reseau_fibre"]
    filtered = admin_client.get("/admin/layers/layer/", {"theme__id__exact": Theme.objects.get(
        slug="economie").pk}).context["cl"].result_list
    assert [layer.name for layer in filtered] == ["zones_activite"]


def test_layer_change_form_shows_fieldsets_rules_and_computed_metadata(admin_client):
    layer = Layer.objects.get(name="installations_anc")
    response = admin_client.get(f"/admin/layers/layer/{layer.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Description", "Usage", "Calculé à partir des données",
                 "Règles d&#x27;accès", "Contrôleur SPANC", 'type="checkbox"', "selectfilter",
                 "code_insee", "character varying(5)", "/static/vendor/ol/ol.",
                 "territoire/communes.geojson", "/catalogue/installations_anc/vignette.png",
                 "publications"):
        assert text in html, text
    assert "cdn" not in html.lower()
    assert "removeInteraction" in html  # the extent map is read-only
    # The technical name cannot be changed once the table exists.
    assert "name" not in response.context["adminform"].form.fields


def test_admin_adds_a_rule_with_roles_and_communes(admin_client):
    layer = Layer.objects.get(name="zones_activite")
    url = f"/admin/layers/layer/{layer.pk}/change/"
    data = form_data(admin_client.get(url))
    guerande = Commune.objects.get(insee="44069")
    add_rule(data, 1, audience=Audience.ROLES, roles=["spanc_manager", "gis_admin"],
             permission=Permission.EDIT, row_restriction=RowRestriction.NONE)
    add_rule(data, 2, audience=Audience.COMMUNES, communes=[str(guerande.pk)],
             permission=Permission.DOWNLOAD, row_restriction=RowRestriction.COMMUNE_INSEE)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    rules = {rule.audience: rule for rule in layer.access_rules.all()}
    assert sorted(rules[Audience.ROLES].roles) == ["gis_admin", "spanc_manager"]
    assert rules[Audience.ROLES].permission == Permission.EDIT
    assert list(rules[Audience.COMMUNES].communes.all()) == [guerande]
    assert rules[Audience.PUBLIC].permission == Permission.DOWNLOAD  # the existing rule is kept


def errors_of(response):
    assert response.status_code == 200
    messages = [str(e) for e in response.context["errors"]]
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            messages += [str(m) for field in form.errors.values() for m in field]
    return " ".join(messages)


def test_rule_validations_are_french_form_errors(admin_client):
    layer = Layer.objects.get(name="communes")
    url = f"/admin/layers/layer/{layer.pk}/change/"
    data = form_data(admin_client.get(url))
    data["insee_field"] = ""  # the INSEE restriction below then has no field to use
    add_rule(data, 1, audience=Audience.AUTHENTICATED, permission=Permission.VIEW,
             row_restriction=RowRestriction.COMMUNE_INSEE)
    add_rule(data, 2, audience=Audience.ROLES, permission=Permission.VIEW, row_restriction="none")
    add_rule(data, 3, audience=Audience.COMMUNES, permission=Permission.VIEW,
             row_restriction="none")
    errors = errors_of(admin_client.post(url, data))
    assert "La restriction par code INSEE demande de renseigner le champ" in errors
    assert "Choisissez au moins un rôle." in errors
    assert "Choisissez au moins une commune." in errors
    assert layer.access_rules.count() == 1  # nothing saved
    layer.refresh_from_db()
    assert layer.insee_field == "insee"


def test_insee_field_must_be_an_attribute(admin_client):
    layer = Layer.objects.get(name="mairies")
    url = f"/admin/layers/layer/{layer.pk}/change/"
    data = form_data(admin_client.get(url))
    data["insee_field"] = "code_commune"
    errors = admin_client.post(url, data).context["adminform"].form.errors
    assert "« code_commune » n'est pas un attribut de la couche." in errors["insee_field"]


def test_metadata_edit_updates_the_search(admin_client, client):
    layer = Layer.objects.get(name="mairies")
    url = f"/admin/layers/layer/{layer.pk}/change/"
    data = form_data(admin_client.get(url))
    data["keywords"] = "mairie,état civil,élections"
    assert admin_client.post(url, data).status_code == 302
    response = client.get("/catalogue/", {"q": "etat civil"})
    assert [l.name for l in response.context["page"].paginator.object_list] == ["mairies"]


def test_no_layer_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/layers/layer/add/").status_code == 403


def test_deleting_a_layer_drops_its_tables(admin_client):
    layer = make_vector_layer("a_supprimer", "POINT", [("nom", "text")],
                              [{"nom": "x", "geom": "POINT(290000 6710000)"}],
                              [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    copy_table(DATA_SCHEMA, "a_supprimer", HISTORY_SCHEMA, "a_supprimer__v1")
    response = admin_client.post(f"/admin/layers/layer/{layer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Layer.objects.filter(name="a_supprimer").exists()
    assert not AccessRule.objects.filter(layer_id=layer.pk).exists()
    assert not table_exists(DATA_SCHEMA, "a_supprimer")
    assert not table_exists(HISTORY_SCHEMA, "a_supprimer__v1")


def test_deleting_through_the_orm_drops_the_table_too():
    layer = make_vector_layer("a_supprimer_orm", "POINT", [("nom", "text")], [])
    layer.delete()
    assert not table_exists(DATA_SCHEMA, "a_supprimer_orm")
    with connection.cursor() as cursor:  # the other layers' tables are untouched
        cursor.execute("SELECT count(*) FROM layers_data.communes")
        assert cursor.fetchone()[0] == 15


def test_theme_list_is_editable(admin_client):
    response = admin_client.get("/admin/layers/theme/")
    assert response.status_code == 200
    assert "form-0-order" in response.content.decode()
    assert admin_client.get("/admin/layers/theme/add/").status_code == 200


def test_renaming_a_theme_reindexes_its_layers(client):
    Theme.objects.filter(slug="economie").update(name="Développement économique")
    theme = Theme.objects.get(slug="economie")
    theme.name = "Développement territorial"
    theme.save()
    response = client.get("/catalogue/", {"q": "developpement territorial"})
    assert [l.name for l in response.context["page"].paginator.object_list] == ["zones_activite"]


@pytest.mark.parametrize("url", [
    "/admin/layers/publication/", "/admin/layers/importjob/", "/admin/layers/remoteservice/",
    "/admin/layers/remotelayer/", "/admin/layers/remoteservice/add/",
])
def test_other_catalogue_admin_pages_load(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_publications_are_read_only(admin_client):
    publication = Layer.objects.get(name="communes").publications.get()
    assert admin_client.get("/admin/layers/publication/add/").status_code == 403
    response = admin_client.get(f"/admin/layers/publication/{publication.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_agents_have_no_admin_access(client, scenario_user):
    client.force_login(scenario_user("agent.guerande"))
    response = client.get("/admin/layers/layer/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
