"""Real WFS clients against a live server: OWSLib (WFS 2.0.0) and GDAL's WFS driver.

Every feature read, counts equal to the table's, pages without gaps or duplicates, filters
returning what PostGIS computes, coordinates reprojected within 1 cm of pyproj's.
"""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from owslib.etree import etree
from owslib.fes2 import And, BBox, Filter, PropertyIsGreaterThan, PropertyIsLike
from owslib.wfs import WebFeatureService
from pyproj import Transformer

from .wfs_support import (  # noqa: F401  (fixtures)
    PARCEL_COUNT, PARCELS, make_parcels, query, server, table_fids,
)

pytestmark = pytest.mark.django_db(transaction=True)

TYPE = f"capgeo:{PARCELS}"
GML = "{http://www.opengis.net/gml/3.2}"
WFS = "{http://www.opengis.net/wfs/2.0}"


def gml_ids(content):
    root = ET.fromstring(content)
    return [int(element.get(f"{GML}id").split(".")[1])
            for element in root.iter("{https://capgeo.cap-atlantique.fr/wfs}" + PARCELS)], root


def test_owslib_capabilities_and_every_feature_in_geojson(server):
    wfs = WebFeatureService(server, version="2.0.0")
    assert TYPE in wfs.contents
    layer = wfs.contents[TYPE]
    assert layer.title == "Parcelles de test WFS"
    assert str(layer.crsOptions[0]).endswith("2154")
    minx, miny, maxx, maxy = layer.boundingBoxWGS84
    assert -2.6 < minx < maxx < -2.2 and 47.1 < miny < maxy < 47.4
    response = wfs.getfeature(typename=[TYPE], outputFormat="application/json")
    collection = json.loads(response.read())
    ids = [int(feature["id"].split(".")[1]) for feature in collection["features"]]
    assert len(ids) == PARCEL_COUNT == len(set(ids))
    assert set(ids) == table_fids()
    first = collection["features"][0]["properties"]
    assert set(first) == {"numero", "nom", "surface", "actif", "date_maj"}


def test_owslib_pages_in_gml_without_gaps_or_duplicates(server):
    wfs = WebFeatureService(server, version="2.0.0")
    seen, start, page = [], 0, 100
    while True:
        response = wfs.getfeature(typename=[TYPE], maxfeatures=page, startindex=start)
        ids, root = gml_ids(response.read())
        assert root.get("numberMatched") == str(PARCEL_COUNT)
        assert int(root.get("numberReturned")) == len(ids)
        seen += ids
        if len(ids) < page:
            assert root.get("next") is None
            break
        assert len(ids) == page  # never a short page before the last one
        start += len(ids)
    assert len(seen) == len(set(seen)) == PARCEL_COUNT
    assert seen == sorted(seen)  # ordered by fid
    assert set(seen) == table_fids()


def fes_xml(operator):
    # OWSLib's BBox names its property "ows:BoundingBox" without declaring the prefix: name the
    # geometry property instead.
    text = etree.tostring(Filter(operator).toXML()).decode()
    return text.replace(">ows:BoundingBox<", ">geom<")


def test_owslib_fes_filters_match_postgis(server):
    wfs = WebFeatureService(server, version="2.0.0")
    box = [288400, 6700300, 289100, 6700900]
    fes = And([PropertyIsGreaterThan("numero", "300"),
               BBox(box, crs="urn:ogc:def:crs:EPSG::2154")])
    # POST: OWSLib sends a GET filter as QUERY=; its POST leaves outputFormat out (GML).
    response = wfs.getfeature(typename=[TYPE], filter=fes_xml(fes), method="POST")
    got = set(gml_ids(response.read())[0])
    expected = table_fids("numero > 300 AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, "
                          "2154))", box)
    assert got == expected and 0 < len(got) < PARCEL_COUNT
    like = PropertyIsLike("nom", "*îlot*", wildCard="*", singleChar=".", escapeChar="!")
    response = wfs.getfeature(typename=[TYPE], filter=fes_xml(like), method="POST")
    got = set(gml_ids(response.read())[0])
    assert got == table_fids("nom LIKE %s", ["%îlot%"]) and len(got) == PARCEL_COUNT // 7


@pytest.mark.parametrize("srs_name, lat_first", [
    ("urn:ogc:def:crs:EPSG::4326", True),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", True),
    ("EPSG:4326", False),
])
def test_reprojected_coordinates_within_a_centimetre_of_pyproj(server, srs_name, lat_first):
    wfs = WebFeatureService(server, version="2.0.0")
    response = wfs.getfeature(typename=[TYPE], maxfeatures=5, srsname=srs_name)
    root = ET.fromstring(response.read())
    transformer = Transformer.from_crs(2154, 4326, always_xy=True)
    rows = dict(query(f'SELECT fid, ST_AsText(ST_ExteriorRing(geom)) FROM layers_data."{PARCELS}" '
                      "ORDER BY fid LIMIT 5"))
    checked = 0
    for feature in root.iter("{https://capgeo.cap-atlantique.fr/wfs}" + PARCELS):
        fid = int(feature.get(f"{GML}id").split(".")[1])
        pos_list = next(feature.iter(f"{GML}posList")).text.split()
        pairs = list(zip(pos_list[0::2], pos_list[1::2]))
        source = [tuple(map(float, p.split())) for p in
                  rows[fid].removeprefix("LINESTRING(").removesuffix(")").split(",")]
        for (a, b), (x, y) in zip(pairs, source):
            lon, lat = transformer.transform(x, y)
            got_lon, got_lat = (float(b), float(a)) if lat_first else (float(a), float(b))
            # 1 cm is 9e-8 degree of latitude, 1.3e-7 degree of longitude here.
            assert abs(got_lat - lat) < 9e-8 and abs(got_lon - lon) < 1.3e-7
            checked += 1
    assert checked == 25


def gdal_env():
    env = dict(os.environ)
    env.update({"OGR_WFS_PAGE_SIZE": "250", "OGR_WFS_PAGING_ALLOWED": "ON",
                "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"})
    return env


def test_gdal_ogrinfo_and_ogr2ogr_read_every_feature(server, tmp_path):
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"WFS:{server}", TYPE],
                          capture_output=True, text=True, timeout=120, env=gdal_env())
    assert info.returncode == 0, info.stderr
    assert f"Feature Count: {PARCEL_COUNT}" in info.stdout
    assert "numero: Integer" in info.stdout and "date_maj: Date" in info.stdout
    target = tmp_path / "parcelles.geojson"
    copy = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(target), f"WFS:{server}", TYPE],
                          capture_output=True, text=True, timeout=120, env=gdal_env())
    assert copy.returncode == 0, copy.stderr
    features = json.loads(target.read_text())["features"]
    numbers = [f["properties"]["numero"] for f in features]
    assert len(numbers) == len(set(numbers)) == PARCEL_COUNT
    assert set(numbers) == {row[0] for row in query(f'SELECT numero FROM layers_data."{PARCELS}"')}
