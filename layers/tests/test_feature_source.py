"""The feature source on a real PostGIS table: queries, paging, encoders, extents and writes."""
import csv
import io
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.features import (ALL_ROWS, All, Any, Between, Column, Compare, FeatureSource, Fids,
                             In, InvalidFilterValue, InvalidGeometry, InvalidValue, IsNull, Like,
                             Not, ReadOnlyColumn, Spatial, UnknownColumn, geometry_from_geojson,
                             storage_area, storage_geometry)
from layers.models import Audience, FeatureChange, Permission
from layers.testing import make_vector_layer

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "source_points"


@pytest.fixture
def layer(db):
    rows = [{"numero": i, "nom": f"Point {i}", "code_insee": "44069" if i % 2 else "44055",
             "geom": f"POINT({300000 + i * 100} {6700000 + i * 100})"} for i in range(1, 21)]
    rows.append({"numero": None, "nom": "Sans numéro", "code_insee": "44069",
                 "geom": "POINT(310000 6710000)"})
    return make_vector_layer(
        NAME, "POINT", [("numero", "integer"), ("nom", "text"), ("code_insee", "text")], rows,
        rules=[{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
        insee_field="code_insee")


def public(permission=Permission.VIEW):
    return AccessPolicy.for_user(AnonymousUser()).source(NAME, permission)


def numbers(source, query):
    return [f["properties"]["numero"] for f in source.features(query)]


def test_only_the_policy_makes_a_source(layer):
    with pytest.raises(TypeError):
        FeatureSource(layer, Permission.VIEW, ALL_ROWS, (), None)
    with pytest.raises(AccessDenied):
        public(Permission.EDIT)
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(AnonymousUser()).source("absente")
    source = public()
    assert source.columns == (Column("numero", "integer", True, False),
                              Column("nom", "text", True, False),
                              Column("code_insee", "text", True, False))
    assert not source.restricted and source.published()


def test_conditions_are_parameterised_and_combine(layer):
    source = public()
    assert source.count() == 21
    assert numbers(source, source.query(where=Compare("numero", ">", 18))) == [19, 20]
    assert numbers(source, source.query(where=In("numero", ("3", "5")))) == [3, 5]
    assert numbers(source, source.query(where=Between("numero", 4, 6))) == [4, 5, 6]
    assert source.count(source.query(where=IsNull("numero"))) == 1
    assert source.count(source.query(where=Not(IsNull("numero")))) == 20
    assert source.count(source.query(where=Like("nom", "%NUMÉRO", False))) == 1
    assert source.count(source.query(where=Like("nom", "%numero", False, True))) == 1
    fid_of_1 = source.features(source.query(where=Compare("numero", "=", 1)))[0]["id"]
    assert numbers(source, source.query(where=All(Compare("numero", "<=", 10), Any(
        In("code_insee", ("44055",)), Fids((fid_of_1,)))))) == [1, 2, 4, 6, 8, 10]
    # A value is never SQL: an injection attempt is a value like any other.
    assert source.count(source.query(where=Compare("nom", "=", "x'; DROP TABLE t; --"))) == 0
    with pytest.raises(UnknownColumn):
        source.count(source.query(where=Compare("absent", "=", 1)))
    with pytest.raises(UnknownColumn):
        source.query(properties=("absent",))


def test_spatial_area_sort_properties_and_crs(layer):
    source = public()
    area = storage_area((300050, 6700050, 300350, 6700350), 2154)
    assert numbers(source, source.query(area=area, crs=2154)) == [1, 2, 3]
    near = storage_geometry("POINT(300100 6700100)", 2154)
    assert numbers(source, source.query(where=Spatial("dwithin", near, 150), crs=2154)) == [1, 2]
    polygon = storage_geometry("POLYGON((300050 6700050,300250 6700050,300250 6700250,"
                               "300050 6700250,300050 6700050))", 2154)
    assert numbers(source, source.query(where=Spatial("intersects", polygon))) == [1, 2]
    ordered = source.query(sort=(("numero", False),), limit=3, properties=("numero",))
    features = source.features(ordered)
    assert [f["properties"] for f in features] == [{"numero": None}, {"numero": 20},
                                                   {"numero": 19}]
    x, y = source.features(source.query(where=Compare("numero", "=", 1), crs=4326))[0][
        "geometry"]["coordinates"]
    assert -5 < x < 10 and 41 < y < 52


def test_exists_and_clipped_geometries(layer):
    source = public()
    near = storage_geometry("POINT(300100 6700100)", 2154)
    assert source.exists(source.query(where=Spatial("dwithin", near, 1)))
    assert not source.exists(source.query(where=Spatial("dwithin", near, 1), after=10 ** 6))
    square = storage_area((300050, 6700050, 300150, 6700150), 2154)
    clipped = source.features(source.query(clip=square, crs=2154, properties=()))
    kept = [f for f in clipped if f["geometry"]["coordinates"]]
    assert [f["geometry"]["coordinates"] for f in kept] == [[300100, 6700100]]
    assert all(f["properties"] == {} for f in clipped)


def test_offset_and_keyset_pages_agree(layer):
    source = public()
    by_offset, offset = [], 0
    while True:
        page = source.features(source.query(limit=6, offset=offset))
        if not page:
            break
        by_offset += [f["id"] for f in page]
        offset += 6
    by_keyset, after = [], None
    while True:
        page = source.features(source.query(limit=6, after=after))
        if not page:
            break
        by_keyset += [f["id"] for f in page]
        after = page[-1]["id"]
    assert by_offset == by_keyset and len(by_keyset) == 21 and by_keyset == sorted(by_keyset)
    # Sorted, the keyset resumes after the last row in the sort's order (its values read by
    # PostgreSQL): the same rows, in the same order, as one sorted read.
    for sort in ((("numero", False),), (("numero", True),)):
        whole = [f["id"] for f in source.features(source.query(sort=sort))]
        paged, after = [], None
        while True:
            page = source.features(source.query(limit=4, after=after, sort=sort))
            if not page:
                break
            paged += [f["id"] for f in page]
            after = page[-1]["id"]
        assert paged == whole and len(paged) == 21


def test_encoders_geojson_csv_and_one_feature(layer):
    source = public()
    query = source.query(where=In("numero", ("1", "2")), crs=2154)
    collection = json.loads("".join(source.geojson_collection(query, {"name": NAME})))
    assert collection["name"] == NAME and len(collection["features"]) == 2
    assert collection["features"][0]["geometry"]["coordinates"] == [300100, 6700100]
    rows = list(csv.reader(io.StringIO("".join(source.csv(query)))))
    assert rows[0] == ["fid", "numero", "nom", "code_insee", "x", "y"]
    assert rows[1][1:] == ["1", "Point 1", "44069", "300100.00", "6700100.00"]
    fid = collection["features"][1]["id"]
    assert source.feature(fid, crs=2154)["properties"]["numero"] == 2
    assert source.feature(10 ** 9) is None
    with pytest.raises(InvalidFilterValue):
        source.check_filter_values({"numero": ["douze"]})


def test_restricted_source_rows_extent_and_summary(layer, django_user_model):
    from territory.models import Commune

    from layers.models import AccessRule, RowRestriction

    AccessRule.objects.filter(layer=layer).update(
        audience=Audience.AUTHENTICATED, row_restriction=RowRestriction.COMMUNE_INSEE)
    agent = django_user_model.objects.create_user(
        "agent_source", password="x", commune=Commune.objects.get(insee="44055"))
    source = AccessPolicy.for_user(agent).source(NAME, Permission.VIEW)
    assert source.restricted
    assert numbers(source, source.query()) == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert source.summary().count == 10
    assert source.extent(2154) == (300200.0, 6700200.0, 302000.0, 6702000.0)
    assert source.distinct_values("code_insee", 10) == ["44055"]
    assert source.value_range("numero") == [2.0, 20.0]
    assert source.search(["nom"], ["%point 1%"], 10)[0][0] == "Point 10"


def test_writes_follow_the_write_filter_and_columns(layer, django_user_model):
    admin = django_user_model.objects.create_user("admin_source", password="x",
                                                  is_superuser=True)
    source = AccessPolicy.for_user(admin).source(NAME, Permission.EDIT)
    assert all(c.writable for c in source.columns)
    with transaction.atomic():
        values = source.checked_values({"numero": "", "nom": "Nouveau"})
        assert values == {"numero": None, "nom": "Nouveau"}
        fid = source.insert(values, geometry_from_geojson(
            '{"type":"Point","coordinates":[-2.43,47.33]}', 4326))
        assert source.inside([fid])
        after = source.snapshot([fid])
        changes = source.record(FeatureChange.Action.INSERT, [fid], after=after, source="test")
        assert changes[0].new_values["nom"] == "Nouveau" and changes[0].changed_by == admin
        assert source.lock([fid]) == {fid: True}
        assert source.update([fid], source.checked_values({"numero": "7"})) == 1
        assert source.feature(fid)["properties"]["numero"] == 7
        assert source.extent_of([fid]) is not None
        assert source.delete([fid]) == 1
    with pytest.raises(InvalidValue):
        source.checked_values({"numero": "sept"})
    with pytest.raises(UnknownColumn):
        source.checked_values({"absent": "1"})
    with pytest.raises(InvalidGeometry):
        geometry_from_geojson('{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],'
                              '[0,0]]]}', 4326)
    # A source without EDIT writes nothing.
    with pytest.raises(ReadOnlyColumn):
        public(Permission.DOWNLOAD).checked_values({"nom": "x"})
