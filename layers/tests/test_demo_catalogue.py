"""The demo catalogue: five layers over the real territory, each with its kind of access rules."""
import pytest
from django.core.management import call_command
from django.db import connection

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.demo import DEMO_LAYERS, load_catalogue_demo
from layers.models import Layer, Permission, Publication

pytestmark = pytest.mark.django_db

EXPECTED = {  # name: (geometry type, min count, max count, theme)
    "communes": ("MULTIPOLYGON", 15, 15, "administratif"),
    "mairies": ("POINT", 15, 15, "administratif"),
    "zones_activite": ("POLYGON", 35, 45, "economie"),
    "reseau_fibre": ("LINESTRING", 200, 500, "reseaux"),
    "installations_anc": ("POINT", 3800, 4200, "eau-assainissement"),
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def rows(user, name, sql_columns, permission=Permission.VIEW, group_by=""):
    """Rows of a layer as the user may read them (through the policy's Grant)."""
    grant = AccessPolicy.for_user(user).grant(name, permission)
    where, params = grant.where("t")
    group = f" GROUP BY {group_by}" if group_by else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_columns} FROM {grant.layer.qualified_table} t WHERE {where}{group}",
            params)
        return cursor.fetchall()


def data_fingerprint(admin, name):
    [(digest,)] = rows(admin, name, "md5(string_agg(ST_AsEWKT(t.geom) || row_to_json(t)::text, "
                                    "'|' ORDER BY t.fid))")
    return digest


@pytest.mark.parametrize("name", list(EXPECTED))
def test_layers_types_counts_and_metadata(name, scenario_user):
    geometry_type, low, high, theme = EXPECTED[name]
    layer = Layer.objects.get(name=name)
    assert layer.geometry_type == geometry_type
    assert low <= layer.feature_count <= high
    assert layer.theme.slug == theme
    assert layer.title and layer.abstract and layer.keywords and layer.attribution
    assert layer.extent is not None and layer.attributes
    [(count, srid, types)] = rows(scenario_user("admin.sig"), name,
                                  "count(*), min(ST_SRID(t.geom)), "
                                  "array_agg(DISTINCT GeometryType(t.geom))")
    assert (count, srid, types) == (layer.feature_count, 2154, [geometry_type])
    publication = layer.publications.get()
    assert publication.mode == Publication.Mode.CREATE and publication.source_name == "démo"
    assert len(publication.source_checksum) == 64
    assert publication.feature_count == layer.feature_count


def test_attributes_as_designed():
    attributes = {name: [a["name"] for a in Layer.objects.get(name=name).attributes]
                  for name in EXPECTED}
    assert attributes == {
        "communes": ["insee", "nom", "departement", "population"],
        "mairies": ["insee", "commune", "adresse", "telephone"],
        "zones_activite": ["nom", "code_insee", "surface_ha", "vocation"],
        "reseau_fibre": ["type", "annee", "operateur", "code_insee"],
        "installations_anc": ["code_insee", "filiere", "annee_installation", "conformite"],
    }
    communes = Layer.objects.get(name="communes")
    assert communes.attribution == "IGN – ADMIN EXPRESS, Licence Ouverte 2.0"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_feature_lies_inside_the_territory(name, scenario_user):
    [(outside,)] = rows(
        scenario_user("admin.sig"), name,
        "count(*) FILTER (WHERE NOT ST_Within(t.geom, (SELECT ST_Buffer(ST_Union(c.geom), 1) "
        "FROM territory_commune c)))",
    )
    assert outside == 0


def test_generated_values_are_plausible(scenario_user):
    admin = scenario_user("admin.sig")
    vocations = {v for (v,) in rows(admin, "zones_activite", "DISTINCT t.vocation")}
    assert vocations == {"artisanale", "commerciale", "industrielle", "tertiaire"}
    [(min_ha, max_ha)] = rows(admin, "zones_activite", "min(t.surface_ha), max(t.surface_ha)")
    assert 0.5 < min_ha < max_ha < 50
    assert {t for (t,) in rows(admin, "reseau_fibre", "DISTINCT t.type")} == \
        {"transport", "distribution"}
    conformities = dict(rows(admin, "installations_anc", "t.conformite, count(*)",
                             group_by="t.conformite"))
    assert set(conformities) == {"conforme", "non conforme", "non conforme – risque sanitaire",
                                 "absence d'installation"}
    assert conformities["conforme"] > conformities["absence d'installation"]
    # Every installation lies in the commune its INSEE code names.
    [(misplaced,)] = rows(admin, "installations_anc",
                          "count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM territory_commune c "
                          "WHERE c.insee = t.code_insee AND ST_Intersects(c.geom, t.geom)))")
    assert misplaced == 0


def test_public_layers_are_downloadable_by_anyone(scenario_user):
    anonymous = AccessPolicy.for_user(scenario_user("anonymous"))
    for name in ("communes", "mairies", "zones_activite"):
        assert not anonymous.grant(name, Permission.DOWNLOAD).restricted
        with pytest.raises(AccessDenied):
            anonymous.grant(name, Permission.EDIT)
    for name in ("reseau_fibre", "installations_anc"):
        with pytest.raises(LayerNotFound):
            anonymous.grant(name)


def test_fibre_network_rows_follow_the_commune_territory(scenario_user):
    total = Layer.objects.get(name="reseau_fibre").feature_count
    # A reader of La Turballe views only the network on La Turballe's territory, no download.
    reader = scenario_user("lecteur")
    seen = rows(reader, "reseau_fibre", "t.code_insee")
    assert 0 < len(seen) < total
    [(outside,)] = rows(reader, "reseau_fibre",
                        "count(*) FILTER (WHERE NOT ST_Intersects(t.geom, "
                        "(SELECT geom FROM territory_commune WHERE insee = '44211')))")
    assert outside == 0
    with pytest.raises(AccessDenied):
        AccessPolicy.for_user(reader).grant("reseau_fibre", Permission.DOWNLOAD)
    # Municipal agents may also download their part; intercommunality staff see it all.
    assert AccessPolicy.for_user(scenario_user("agent.guerande")).grant(
        "reseau_fibre", Permission.DOWNLOAD).restricted
    assert len(rows(scenario_user("responsable.spanc"), "reseau_fibre", "t.fid")) == total


def test_sanitation_installations_are_restricted(scenario_user):
    total = Layer.objects.get(name="installations_anc").feature_count
    for username in ("responsable.spanc", "controleur.spanc"):
        grant = AccessPolicy.for_user(scenario_user(username)).grant("installations_anc",
                                                                     Permission.EDIT)
        assert not grant.restricted
    agent = scenario_user("agent.labaule")
    codes = {code for (code,) in rows(agent, "installations_anc", "t.code_insee")}
    assert codes == {"44055"}
    with pytest.raises(AccessDenied):
        AccessPolicy.for_user(agent).grant("installations_anc", Permission.DOWNLOAD)
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(scenario_user("lecteur")).grant("installations_anc")
    assert len(rows(scenario_user("controleur.spanc"), "installations_anc", "t.fid")) == total


def test_reloading_changes_nothing():
    before = {layer.name: (layer.pk, layer.feature_count, layer.updated_at)
              for layer in Layer.objects.filter(name__in=EXPECTED)}
    assert load_catalogue_demo() == []
    after = {layer.name: (layer.pk, layer.feature_count, layer.updated_at)
             for layer in Layer.objects.filter(name__in=EXPECTED)}
    assert before == after
    assert Publication.objects.filter(layer__name__in=EXPECTED).count() == len(EXPECTED)


def test_regenerated_data_is_identical(scenario_user):
    admin = scenario_user("admin.sig")
    fingerprints = {name: data_fingerprint(admin, name) for name in EXPECTED}
    checksums = dict(Publication.objects.filter(layer__name__in=EXPECTED)
                     .values_list("layer__name", "source_checksum"))
    Layer.objects.filter(name__in=["zones_activite", "installations_anc"]).delete()
    assert sorted(load_catalogue_demo()) == ["installations_anc", "zones_activite"]
    assert {name: data_fingerprint(admin, name) for name in EXPECTED} == fingerprints
    assert dict(Publication.objects.filter(layer__name__in=EXPECTED)
                .values_list("layer__name", "source_checksum")) == checksums


def test_a_locally_changed_layer_is_kept():
    Layer.objects.filter(name="mairies").update(title="Hôtels de ville")
    load_catalogue_demo()
    assert Layer.objects.get(name="mairies").title == "Hôtels de ville"


def test_thumbnails_for_the_demo_layers(media_root):
    assert not Layer.objects.filter(name__in=EXPECTED).exclude(thumbnail="").exists()
    load_catalogue_demo(thumbnails=True)
    for layer in Layer.objects.filter(name__in=EXPECTED):
        # Rules restricting rows to the viewer's commune: the territory only, no outline.
        variant = "territory" if layer.name in ("reseau_fibre", "installations_anc") else "public"
        assert layer.thumbnail.name == f"thumbnails/{layer.name}-{variant}.png"
        assert (media_root / layer.thumbnail.name).read_bytes().startswith(b"\x89PNG")


def test_refresh_thumbnails_command(media_root, capsys):
    call_command("refresh_thumbnails", "communes", "mairies")
    assert "communes : vignette regénérée." in capsys.readouterr().out
    assert (media_root / "thumbnails" / "communes-public.png").exists()
    call_command("refresh_thumbnails", "--missing")
    assert not Layer.objects.filter(kind="vector", thumbnail="").exists()


def test_refresh_thumbnails_rejects_unknown_layers():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="inconnue"):
        call_command("refresh_thumbnails", "n_existe_pas")


def test_generator_checksums_identify_each_layer():
    checksums = [spec.checksum() for spec in DEMO_LAYERS]
    assert len(set(checksums)) == len(DEMO_LAYERS)
    assert checksums == [spec.checksum() for spec in DEMO_LAYERS]  # stable
    assert all(len(c) == 64 and int(c, 16) >= 0 for c in checksums)


def test_generated_layers_come_with_their_named_styles(client):
    """Categories, classes, dashes and marks for the demo: one default style per styled layer,
    every category value present in the data, drawn by the WMS with the style's colours."""
    import io

    from PIL import Image

    from layers.models import Style
    from layers.styles import clean_definition

    for spec in DEMO_LAYERS:
        stored = list(Style.objects.filter(layer__name=spec.name).order_by("name"))
        assert sorted(s.name for s in stored) == sorted(name for name, *_rest in spec.styles)
        if stored:
            assert sum(s.is_default for s in stored) == 1
        for style in stored:
            definition = clean_definition(style.definition, style.layer)
            if definition["kind"] != "categorized":
                continue
            values = {c["value"] for c in definition["categories"]}
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT DISTINCT "{definition["attribute"]}" '
                               f"FROM layers_data.{spec.name}")
                assert {row[0] for row in cursor.fetchall()} <= values, spec.name
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic",
                                   "LAYER": "zones_activite", "FORMAT": "image/png"})
    assert response.status_code == 200
    legend = Image.open(io.BytesIO(response.content)).convert("RGB")
    found = {colour for _count, colour in legend.getcolors(1 << 16)}
    for wanted in ((0xd7, 0x19, 0x1c), (0x2c, 0x7b, 0xb6)):  # commerciale, tertiaire
        assert any(all(abs(a - b) <= 3 for a, b in zip(colour, wanted)) for colour in found)
    styles = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetStyles",
                                 "LAYERS": "zones_activite"}).content.decode()
    assert "<se:Name>vocation</se:Name>" in styles and "<se:Name>surface</se:Name>" in styles
