"""OGC API – Features Part 2, CRS by reference (OGC 18-058, Annex A), over every collection:
the CRS lists, storageCrs, crs and bbox-crs parameters (valid, invalid, default), Content-Crs,
and coordinates equal to pyproj's transformation of the CRS84 ones."""
import pytest
from django.test import Client
from pyproj import Transformer

from .support import CRS84, EPSG, collection_ids, document, login

pytestmark = pytest.mark.django_db
OFFERED = [CRS84, EPSG + "4326", EPSG + "2154", EPSG + "3857"]


@pytest.fixture
def admin():
    return login(Client(), "admin.sig")


def first_coordinate(geometry):
    coordinates = geometry["coordinates"]
    while isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    return coordinates


def test_conf_crs_fc_md_crs_list_and_storage_crs(admin):
    collections = document(admin.get("/ogc/collections"))
    assert collections["crs"] == OFFERED
    for collection in collections["collections"]:
        assert collection["crs"] == OFFERED
        assert collection["storageCrs"] == EPSG + "2154"
        assert collection["storageCrs"] in collection["crs"]


def test_conf_crs_ogc_crs_parameters_in_the_api_definition(admin):
    parameters = document(admin.get("/ogc/api"))["components"]["parameters"]
    assert parameters["crs"]["schema"]["enum"] == OFFERED
    assert set(OFFERED) <= set(parameters["bbox-crs"]["schema"]["enum"])


@pytest.mark.parametrize("crs", OFFERED)
def test_conf_crs_fc_and_f_crs_valid_value_content_crs_and_coordinates(admin, crs):
    # pyproj in the CRS's own axis order: EPSG:4326 latitude first, the others x, y.
    to_target = Transformer.from_crs("OGC:CRS84", "EPSG:" + crs.rsplit("/", 1)[1]
                                     if "EPSG" in crs else "OGC:CRS84",
                                     always_xy=crs != EPSG + "4326")
    for name in collection_ids(admin):
        default = document(admin.get(f"/ogc/collections/{name}/items?limit=3"))
        response = admin.get(f"/ogc/collections/{name}/items?limit=3&crs={crs}")
        assert response.status_code == 200
        assert response["Content-Crs"] == f"<{crs}>"
        page = document(response)
        assert [f["id"] for f in page["features"]] == [f["id"] for f in default["features"]]
        for lonlat, projected in zip(default["features"], page["features"]):
            if lonlat["geometry"] is None:
                continue
            x, y = to_target.transform(*first_coordinate(lonlat["geometry"])[:2])
            px, py = first_coordinate(projected["geometry"])[:2]
            tolerance = 1e-5 if crs in (CRS84, EPSG + "4326") else 0.05
            assert abs(px - x) < tolerance and abs(py - y) < tolerance, (name, crs)
            one = admin.get(f"/ogc/collections/{name}/items/{projected['id']}?crs={crs}")
            assert one["Content-Crs"] == f"<{crs}>"
            assert document(one)["geometry"] == projected["geometry"]


def test_conf_crs_default_is_crs84(admin):
    response = admin.get("/ogc/collections/communes/items?limit=1")
    assert response["Content-Crs"] == f"<{CRS84}>"
    x, y = first_coordinate(document(response)["features"][0]["geometry"])[:2]
    assert -3 < x < -2 and 47 < y < 48  # longitude first


@pytest.mark.parametrize("value", ["EPSG:9999", "http://www.opengis.net/def/crs/EPSG/0/32631",
                                   "n'importe quoi"])
def test_conf_crs_fc_crs_invalid_value(admin, value):
    for name in collection_ids(admin):
        response = admin.get(f"/ogc/collections/{name}/items", {"crs": value})
        assert response.status_code == 400 and document(response)["code"]
    response = admin.get("/ogc/collections/communes/items/1", {"crs": value})
    assert response.status_code == 400


def test_conf_crs_fc_bbox_crs_valid_default_and_invalid(admin):
    expected = {f["id"] for f in document(admin.get(
        "/ogc/collections/communes/items?bbox=-2.44,47.31,-2.41,47.34"))["features"]}
    lambert = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True)
    x1, y1 = lambert.transform(-2.44, 47.31)
    x2, y2 = lambert.transform(-2.41, 47.34)
    for crs, bbox in ((CRS84, "-2.44,47.31,-2.41,47.34"),
                      (EPSG + "4326", "47.31,-2.44,47.34,-2.41"),  # latitude first
                      (EPSG + "2154", f"{x1},{y1},{x2},{y2}")):
        page = document(admin.get("/ogc/collections/communes/items",
                                  {"bbox": bbox, "bbox-crs": crs}))
        assert {f["id"] for f in page["features"]} == expected, crs
    response = admin.get("/ogc/collections/communes/items",
                         {"bbox": "1,2,3,4", "bbox-crs": "EPSG:1234"})
    assert response.status_code == 400


def test_epsg_4326_is_written_latitude_first(admin):
    """Part 2, axis order per the CRS: crs=EPSG:4326 gives latitude, longitude (the same point
    as CRS84's longitude, latitude, swapped), for pages and single features; bbox-crs=EPSG:4326
    reads latitude first too, so a box copied from the output finds the same features."""
    lonlat = document(admin.get("/ogc/collections/communes/items?limit=2"))["features"]
    response = admin.get("/ogc/collections/communes/items",
                         {"limit": 2, "crs": EPSG + "4326"})
    assert response["Content-Crs"] == f"<{EPSG}4326>"
    latlon = document(response)["features"]
    for a, b in zip(lonlat, latlon):
        lon, lat = first_coordinate(a["geometry"])[:2]
        assert first_coordinate(b["geometry"])[:2] == pytest.approx([lat, lon], abs=1e-7)
        assert 47 < first_coordinate(b["geometry"])[0] < 48
        one = document(admin.get(f"/ogc/collections/communes/items/{b['id']}",
                                 {"crs": EPSG + "4326"}))
        assert one["geometry"] == b["geometry"]
    lat, lon = first_coordinate(latlon[0]["geometry"])[:2]
    around = document(admin.get("/ogc/collections/communes/items", {
        "crs": EPSG + "4326", "bbox-crs": EPSG + "4326",
        "bbox": f"{lat - 0.001},{lon - 0.001},{lat + 0.001},{lon + 0.001}"}))
    assert latlon[0]["id"] in {f["id"] for f in around["features"]}
