"""WFS 1.1.0 with real clients against a live server: OWSLib's WebFeatureService(version="1.1.0")
and GDAL's WFS driver asked for VERSION=1.1.0.

Every feature read (count equal to the table's), BBOX and PropertyIsEqualTo filters returning
what PostGIS computes, coordinates reprojected within 1 cm of pyproj's in both 1.1.0 axis
orders (EPSG:4326 longitude/latitude, urn:…:4326 latitude/longitude).
"""
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from owslib.fes import PropertyIsEqualTo
from owslib.etree import etree
from owslib.wfs import WebFeatureService
from pyproj import Transformer

from .wfs_support import (  # noqa: F401  (fixtures)
    PARCEL_COUNT, PARCELS, make_parcels, query, server, table_fids,
)

pytestmark = pytest.mark.django_db(transaction=True)

TYPE = f"capgeo:{PARCELS}"
GML = "{http://www.opengis.net/gml}"
WFS = "{http://www.opengis.net/wfs}"
APP = "{https://capgeo.cap-atlantique.fr/wfs}"


def fids_of(content):
    root = ET.fromstring(content)
    assert root.tag == f"{WFS}FeatureCollection", content[:500]
    ids = [int(element.get(f"{GML}id").split(".")[1]) for element in root.iter(APP + PARCELS)]
    assert int(root.get("numberOfFeatures")) == len(ids)
    return ids, root


def test_owslib_110_capabilities_and_every_feature(server):
    wfs = WebFeatureService(server, version="1.1.0")
    assert wfs.version == "1.1.0" and wfs.identification.version == "1.1.0"
    assert TYPE in wfs.contents
    layer = wfs.contents[TYPE]
    assert layer.title == "Parcelles de test WFS"
    assert [crs.getcodeurn() for crs in layer.crsOptions] == [
        "urn:ogc:def:crs:EPSG::2154", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG::3857"]
    minx, miny, maxx, maxy = layer.boundingBoxWGS84
    assert -2.6 < minx < maxx < -2.2 and 47.1 < miny < maxy < 47.4
    assert {op.name for op in wfs.operations} == {"GetCapabilities", "DescribeFeatureType",
                                                  "GetFeature"}
    ids, root = fids_of(wfs.getfeature(typename=[TYPE]).read())
    assert len(ids) == len(set(ids)) == PARCEL_COUNT
    assert set(ids) == table_fids()
    schema = wfs.get_schema(TYPE)
    assert schema["geometry"].endswith("Polygon") and schema["properties"]["numero"] == "integer"


def test_owslib_110_pages_with_maxfeatures_and_startindex(server):
    wfs = WebFeatureService(server, version="1.1.0")
    seen, start, page = [], 0, 400
    while True:
        ids, _root = fids_of(wfs.getfeature(typename=[TYPE], maxfeatures=page,
                                            startindex=start).read())
        seen += ids
        if len(ids) < page:
            break
        start += page
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == PARCEL_COUNT


def test_owslib_110_bbox_and_equal_filters_match_postgis(server):
    wfs = WebFeatureService(server, version="1.1.0")
    box = (288400, 6700300, 289100, 6700900)
    # OWSLib adds the layer's DefaultSRS (urn:…:2154, east/north) to the BBOX.
    ids, _root = fids_of(wfs.getfeature(typename=[TYPE], bbox=box).read())
    expected = table_fids("ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 2154))", box)
    assert set(ids) == expected and 0 < len(expected) < PARCEL_COUNT
    equal = etree.tostring(PropertyIsEqualTo("numero", "77").toXML()).decode()
    fes = f'<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">{equal}</ogc:Filter>'
    # OWSLib's POST looks for the ogc:Filter inside the element it is given.
    for method, text in (("Get", fes), ("Post", f"<filtre>{fes}</filtre>")):
        ids, _root = fids_of(wfs.getfeature(typename=[TYPE], filter=text, method=method).read())
        assert set(ids) == table_fids("numero = 77") and len(ids) == 1


def test_owslib_110_feature_ids(server):
    wfs = WebFeatureService(server, version="1.1.0")
    wanted = sorted(table_fids())[10:13]
    ids, _root = fids_of(wfs.getfeature(typename=[TYPE],
                                        featureid=[f"{PARCELS}.{fid}" for fid in wanted]).read())
    assert ids == wanted


@pytest.mark.parametrize("srs_name, lat_first", [
    ("urn:ogc:def:crs:EPSG::4326", True),
    ("urn:x-ogc:def:crs:EPSG:4326", True),
    ("EPSG:4326", False),  # 1.1.0: the EPSG:xxxx form is longitude/latitude (GeoServer too)
])
def test_110_reprojected_coordinates_within_a_centimetre_of_pyproj(server, srs_name, lat_first):
    wfs = WebFeatureService(server, version="1.1.0")
    root = ET.fromstring(wfs.getfeature(typename=[TYPE], maxfeatures=5, srsname=srs_name).read())
    transformer = Transformer.from_crs(2154, 4326, always_xy=True)
    rows = dict(query(f'SELECT fid, ST_AsText(ST_ExteriorRing(geom)) FROM layers_data."{PARCELS}" '
                      "ORDER BY fid LIMIT 5"))
    checked = 0
    for feature in root.iter(APP + PARCELS):
        fid = int(feature.get(f"{GML}id").split(".")[1])
        polygon = next(feature.iter(f"{GML}Polygon"))
        assert polygon.get("srsName") == srs_name.replace("urn:x-ogc:def:crs:EPSG:",
                                                          "urn:ogc:def:crs:EPSG::")
        pos_list = next(polygon.iter(f"{GML}posList")).text.split()
        pairs = list(zip(pos_list[0::2], pos_list[1::2]))
        source = [tuple(map(float, p.split())) for p in
                  rows[fid].removeprefix("LINESTRING(").removesuffix(")").split(",")]
        for (a, b), (x, y) in zip(pairs, source):
            lon, lat = transformer.transform(x, y)
            got_lon, got_lat = (float(b), float(a)) if lat_first else (float(a), float(b))
            assert abs(got_lat - lat) < 9e-8 and abs(got_lon - lon) < 1.3e-7
            checked += 1
    assert checked == 25


def gdal_env():
    env = dict(os.environ)
    env.update({"OGR_WFS_PAGE_SIZE": "250", "OGR_WFS_PAGING_ALLOWED": "ON",
                "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"})
    return env


def test_gdal_ogrinfo_reads_the_110_service(server):
    url = f"WFS:{server}?VERSION=1.1.0"
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-so", url, TYPE], capture_output=True,
                          text=True, timeout=120, env=gdal_env())
    assert info.returncode == 0, info.stderr
    assert f"Feature Count: {PARCEL_COUNT}" in info.stdout
    assert "numero: Integer" in info.stdout and "date_maj: Date" in info.stdout
    assert "Geometry: Polygon" in info.stdout
    every = subprocess.run(["ogrinfo", "-ro", "-al", "-q", url, TYPE], capture_output=True,
                           text=True, timeout=180, env=gdal_env())
    assert every.returncode == 0, every.stderr
    assert every.stdout.count("OGRFeature(") == PARCEL_COUNT
    where = subprocess.run(["ogrinfo", "-ro", "-al", "-so", "-where", "numero <= 40", url, TYPE],
                           capture_output=True, text=True, timeout=120, env=gdal_env())
    assert where.returncode == 0 and "Feature Count: 40" in where.stdout, where.stderr
