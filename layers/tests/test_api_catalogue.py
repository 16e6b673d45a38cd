"""/api/layers/: the catalogue entries, its filters and paging, and the GIS administrators' writes."""
import json

import pytest
from django.db import connection

from accounts.models import User
from layers.models import Audience, ImportJob, Layer, Permission, Theme
from layers.publishing import run_import
from layers.tables import table_exists
from layers.testing import make_vector_layer

from .test_api_features import make_points_layer

UPLOAD_PREFIX = "api_upload"


def log_in(client, username):
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def points(db):
    layer = make_points_layer()
    layer.abstract = "Relevés de l'étang de la Brière pour les essais de l'interface."
    layer.keywords = ["hydrographie", "essai"]
    layer.attribution = "Cap Atlantique"
    layer.lineage = "Généré par les tests."
    layer.save()
    return layer


@pytest.fixture
def far_layer(db):
    """A layer in Brittany's far west, outside Cap Atlantique, in another theme."""
    theme = Theme.objects.exclude(pk=Theme.objects.order_by("order").first().pk).first()
    return make_vector_layer(
        "api_finistere", "POLYGON", [("nom", "text")],
        [{"nom": "Brest", "geom": "POLYGON((145000 6838000, 146000 6838000, 146000 6839000, "
                                  "145000 6839000, 145000 6838000))"}],
        [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}],
        theme=theme, title="Zones du Finistère", keywords=["ports"],
    )


def names(response):
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


def test_entry_describes_the_layer_and_the_users_rights(client, points):
    response = client.get("/api/layers/api_points/")
    assert response.status_code == 200
    entry = response.json()
    assert entry["title"] == "Points de test de l'API"
    assert entry["keywords"] == ["hydrographie", "essai"]
    assert entry["theme"]["slug"] == points.theme.slug
    assert entry["owner"] == {"name": "Cap Atlantique", "insee": None}
    assert entry["licence"] == {"code": "etalab-2.0", "label": "Licence Ouverte 2.0 (Etalab)"}
    assert entry["update_frequency"]["code"] == "asNeeded"
    assert entry["lineage"] == "Généré par les tests."
    assert entry["kind"] == "vector" and entry["geometry_type"] == "POINT"
    assert entry["feature_count"] == 26
    assert entry["attributes"] == [{"name": "code_insee", "type": "character varying(5)"},
                                   {"name": "nom", "type": "text"},
                                   {"name": "rang", "type": "integer"},
                                   {"name": "releve", "type": "date"}]
    assert entry["extent"]["lambert93"] == [280000.0, 6700000.0, 284000.0, 6704000.0]
    west, south, east, north = entry["extent"]["wgs84"]
    assert -2.8 < west < east < -2.1 and 47.1 < south < north < 47.6
    assert entry["permissions"] == ["view", "download"]  # anonymous, public download rule
    links = entry["links"]
    assert links["self"] == "http://testserver/api/layers/api_points/"
    assert links["features"] == "http://testserver/api/layers/api_points/features"
    assert links["exports"] == {f: f"http://testserver/api/layers/api_points/features?f={f}"
                                for f in ("geojson", "csv", "gpkg", "shp")}
    log_in(client, "admin.sig")
    assert client.get("/api/layers/api_points/").json()["permissions"] == ["view", "download", "edit"]


def test_filters_text_theme_bbox_and_paging(client, points, far_layer):
    assert names(client.get("/api/layers/", {"q": "etang briere"})) == ["api_points"]
    assert names(client.get("/api/layers/", {"q": "Finistère"})) == ["api_finistere"]
    assert names(client.get("/api/layers/", {"q": "hydrographie"})) == ["api_points"]
    assert "api_finistere" in names(client.get("/api/layers/", {"theme": far_layer.theme.slug,
                                                                 "limit": 500}))
    assert "api_points" not in names(client.get("/api/layers/", {"theme": far_layer.theme.slug,
                                                                  "limit": 500}))
    in_cap_atlantique = names(client.get("/api/layers/", {"bbox": "-2.6,47.2,-2.3,47.5", "limit": 500}))
    assert "api_points" in in_cap_atlantique and "api_finistere" not in in_cap_atlantique
    assert names(client.get("/api/layers/", {"bbox": "-4.6,48.3,-4.4,48.5"})) == ["api_finistere"]

    everything = client.get("/api/layers/", {"limit": 500}).json()
    first = client.get("/api/layers/", {"limit": 2}).json()
    assert first["count"] == everything["count"] >= 2
    assert [item["name"] for item in first["results"]] == \
        [item["name"] for item in everything["results"][:2]]
    assert "offset=2" in first["next"]


@pytest.mark.parametrize("params, parameter, words", [
    ({"theme": "inexistant"}, "theme", ["Thème inconnu"]),
    ({"bbox": "1,2"}, "bbox", ["minx,miny,maxx,maxy"]),
    ({"bbox": "0,0,200,10"}, "bbox", ["longitude"]),
    ({"q": "nul\x00"}, "q", ["caractère nul"]),
])
def test_bad_catalogue_filters_are_400(client, points, params, parameter, words):
    response = client.get("/api/layers/", params)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
    for word in words:
        assert word in response.json()["detail"]


def test_admin_updates_metadata_and_agents_may_not(client, points):
    log_in(client, "agent.guerande")
    response = client.patch("/api/layers/api_points/", {"title": "Piraté"},
                            content_type="application/json")
    assert response.status_code == 403
    assert "administrateurs SIG" in response.json()["detail"]

    log_in(client, "admin.sig")
    theme = Theme.objects.exclude(pk=points.theme_id).first()
    response = client.patch("/api/layers/api_points/", {
        "title": "Points mis à jour", "keywords": ["eau"], "theme": theme.slug, "owner": "44069",
        "licence": "odbl-1.0", "update_frequency": "monthly", "lineage": "Revu.",
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    entry = response.json()
    assert entry["title"] == "Points mis à jour" and entry["keywords"] == ["eau"]
    assert entry["theme"]["slug"] == theme.slug
    assert entry["owner"] == {"name": "Guérande", "insee": "44069"}
    assert entry["licence"]["code"] == "odbl-1.0" and entry["update_frequency"]["code"] == "monthly"
    points.refresh_from_db()
    assert points.title == "Points mis à jour" and points.owner_commune.insee == "44069"
    assert points.feature_count == 26  # the data is untouched

    response = client.put("/api/layers/api_points/", {"title": "Remplacé"},
                          content_type="application/json")
    assert response.status_code == 200
    points.refresh_from_db()
    assert points.title == "Remplacé"


@pytest.mark.parametrize("change, field, words", [
    ({"licence": "libre"}, "licence", ["choix"]),
    ({"insee_field": "inconnu"}, "insee_field", ["n'est pas un attribut", "code_insee"]),
    ({"theme": "inexistant"}, "theme", ["inexistant"]),
    ({"owner": "99999"}, "owner", ["99999"]),
    ({"title": ""}, "title", ["vide"]),
])
def test_bad_metadata_is_400_in_french_and_changes_nothing(client, points, change, field, words):
    log_in(client, "admin.sig")
    response = client.patch("/api/layers/api_points/", change, content_type="application/json")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[field])
    for word in words:
        assert word in message, message
    points.refresh_from_db()
    assert points.title == "Points de test de l'API"


def test_admin_deletes_a_layer_and_its_table(client, points):
    assert table_exists("layers_data", "api_points")
    log_in(client, "agent.guerande")
    assert client.delete("/api/layers/api_points/").status_code == 403
    log_in(client, "admin.sig")
    assert client.delete("/api/layers/api_points/").status_code == 204
    assert not Layer.objects.filter(name="api_points").exists()
    assert not table_exists("layers_data", "api_points")
    assert client.get("/api/layers/api_points/").status_code == 404
    assert client.delete("/api/layers/api_points/").status_code == 404


@pytest.fixture(scope="module")
def drop_upload_tables(django_db_setup, django_db_blocker):
    """ogr2ogr commits its staging table outside the test transaction: drop what remains."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for schema in ("layers_staging", "layers_data", "layers_history"):
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
                           [schema, UPLOAD_PREFIX + "%"])
            for (table,) in cursor.fetchall():
                cursor.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')


def town_halls_geojson():
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "Mairie de Guérande", "code_insee": "44069"},
         "geometry": {"type": "Point", "coordinates": [-2.4289, 47.3281]}},
        {"type": "Feature", "properties": {"nom": "Mairie de La Baule", "code_insee": "44055"},
         "geometry": {"type": "Point", "coordinates": [-2.3907, 47.2866]}},
    ]}).encode()


def upload(client, name, content=None, filename="mairies.geojson", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"name": name, **fields}
    if content is not False:
        data["file"] = SimpleUploadedFile(filename, content or town_halls_geojson(),
                                          content_type="application/geo+json")
    return client.post("/api/layers/", data)


@pytest.mark.usefixtures("drop_upload_tables")
def test_admin_creates_a_layer_from_a_file(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    name = f"{UPLOAD_PREFIX}_mairies"
    log_in(client, "agent.guerande")
    assert upload(client, name).status_code == 403
    assert not ImportJob.objects.filter(layer_name=name).exists()

    log_in(client, "admin.sig")
    theme = Theme.objects.order_by("order").first()
    response = upload(client, name, title="Mairies déposées", theme=theme.slug)
    assert response.status_code == 202, response.content
    body = response.json()
    job = ImportJob.objects.get(pk=body["id"])
    assert body["status"] == "queued" and body["layer"] == name
    assert response["Location"] == body["status_url"]
    assert body["layer_url"] == f"http://testserver/api/layers/{name}/"

    # The worker's part, in process: then the layer is in the catalogue with its data.
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    entry = client.get(f"/api/layers/{name}/").json()
    assert entry["title"] == "Mairies déposées" and entry["theme"]["slug"] == theme.slug
    assert entry["feature_count"] == 2 and entry["geometry_type"] == "POINT"
    features = json.loads(b"".join(client.get(f"/api/layers/{name}/features").streaming_content))
    assert {f["properties"]["code_insee"] for f in features["features"]} == {"44069", "44055"}

    # Creating it again is refused: the layer exists.
    again = upload(client, name)
    assert again.status_code == 400 and "existe" in again.json()["detail"]


@pytest.mark.parametrize("name, content, filename, field", [
    ("Mauvais-Nom", None, "mairies.geojson", "name"),
    (f"{UPLOAD_PREFIX}_sans", False, "", "file"),
])
def test_bad_creation_requests_are_400(client, db, settings, tmp_path, name, content, filename, field):
    settings.MEDIA_ROOT = tmp_path / "media"
    log_in(client, "admin.sig")
    response = upload(client, name, content=content, filename=filename)
    assert response.status_code == 400
    assert field in response.json()
    assert not ImportJob.objects.filter(layer_name=name).exists()


@pytest.mark.usefixtures("drop_upload_tables")
def test_unreadable_file_is_refused_with_a_french_message(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    log_in(client, "admin.sig")
    name = f"{UPLOAD_PREFIX}_texte"
    response = upload(client, name, content=b"ceci n'est pas du GeoJSON", filename="notes.txt")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not ImportJob.objects.filter(layer_name=name).exists()
