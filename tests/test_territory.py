"""The demo territory: Cap Atlantique's 15 communes and their town halls, in Lambert-93."""
import json

import pytest
from django.db import connection

from capgeo.demo import load_demo
from territory.demo import COMMUNES_FILE
from territory.models import Commune, Intercommunality, TownHall

pytestmark = pytest.mark.django_db


def test_fifteen_communes_of_cap_atlantique():
    assert Commune.objects.count() == 15
    departments = sorted(Commune.objects.values_list("department", flat=True))
    assert departments.count("44") == 12 and departments.count("56") == 3
    assert set(Commune.objects.values_list("insee", flat=True)) >= {"44069", "44055", "56155"}
    intercommunality = Intercommunality.objects.get()
    assert intercommunality.siren == "244400610"
    assert "ADMIN EXPRESS" in intercommunality.attribution


def test_geometries_valid_multipolygons_in_lambert93():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE ST_IsValid(geom)), "
            "array_agg(DISTINCT ST_SRID(geom)), array_agg(DISTINCT GeometryType(geom)) "
            "FROM territory_commune"
        )
        total, valid, srids, types = cursor.fetchone()
    assert total == valid == 15
    assert srids == [2154]
    assert types == ["MULTIPOLYGON"]
    # Lambert-93 coordinates of the Guérande peninsula: x ≈ 280–310 km, y ≈ 6 690–6 730 km.
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM territory_commune) s")
        xmin, ymin, xmax, ymax = cursor.fetchone()
    assert 250_000 < xmin < xmax < 320_000
    assert 6_680_000 < ymin < ymax < 6_740_000


@pytest.mark.parametrize(
    "insee, name, expected_km2",
    [("44069", "Guérande", 82), ("44072", "Herbignac", 71)],
)
def test_areas_close_to_the_real_ones(insee, name, expected_km2):
    commune = Commune.objects.get(insee=insee)
    assert commune.name == name
    # Generalised boundaries: within 10 % of the official area.
    assert commune.area_km2 == pytest.approx(expected_km2, rel=0.10)


def test_town_halls_inside_their_commune():
    assert TownHall.objects.count() == 15
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.name FROM territory_townhall t JOIN territory_commune c ON c.id = t.commune_id "
            "WHERE NOT ST_DWithin(c.geom, t.location, 200)"
        )
        outside = [row[0] for row in cursor.fetchall()]
    assert outside == []
    assert TownHall.objects.get(commune__insee="44069").address


def test_fixture_population_and_names_match_the_source_file():
    source = json.loads(COMMUNES_FILE.read_text(encoding="utf-8"))
    for feature in source["features"]:
        props = feature["properties"]
        commune = Commune.objects.get(insee=props["insee"])
        assert (commune.name, commune.population) == (props["nom"], props["population"])


def test_reloading_creates_nothing_and_keeps_local_changes():
    Commune.objects.filter(insee="44069").update(population=99999)
    report = load_demo()
    assert not report.changed
    assert Commune.objects.count() == 15 and TownHall.objects.count() == 15
    assert Commune.objects.get(insee="44069").population == 99999


def test_communes_geojson_for_the_offline_basemap(client):
    response = client.get("/territoire/communes.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(response.content)
    assert len(data["features"]) == 15
    assert data["attribution"] == "IGN – ADMIN EXPRESS, Licence Ouverte 2.0"
    lon, lat = data["features"][0]["geometry"]["coordinates"][0][0][0]
    assert -2.7 < lon < -2.1 and 47.2 < lat < 47.6
