"""WMS 1.1.1 and 1.3.0 through OWSLib's WebMapService, against the application in a live server."""
import io
import json

import pytest
import requests
from lxml import etree
from owslib.wms import WebMapService
from PIL import Image

from territory.models import TownHall

from .conftest import (LONLAT_BOX, RED, image_of, near, pixel_of, sql, transform_box,
                       transform_point)

WMS_NS = {"wms": "http://www.opengis.net/wms"}
VERSIONS = ("1.1.1", "1.3.0")


def service(live_server, version):
    return WebMapService(live_server.url + "/ows", version=version, timeout=60)


@pytest.mark.parametrize("version", VERSIONS)
def test_capabilities_parse(live_server, communes_layer, corner_square, version):
    wms = service(live_server, version)
    assert {"wms_communes", "wms_carre"} <= set(wms.contents)
    layer = wms["wms_communes"]
    assert layer.title == "Communes (test WMS)"
    assert layer.abstract == "Limites communales"
    assert set(layer.keywords) == {"communes", "limites"}
    assert layer.queryable == 1
    assert {"EPSG:2154", "EPSG:3857", "EPSG:4326"} <= set(layer.crsOptions)
    west, south, east, north = layer.boundingBoxWGS84
    assert -2.7 < west < east < -2.2 and 47.1 < south < north < 47.6
    assert layer.parent is not None and layer.parent.title == communes_layer.theme.name
    assert "default" in layer.styles
    assert "GetLegendGraphic" in layer.styles["default"]["legend"]
    assert layer.attribution["title"] == "IGN – ADMIN EXPRESS"
    metadata = layer.metadataUrls[0]["url"]
    assert metadata.endswith("/catalogue/wms_communes/")
    get_map = wms.getOperationByName("GetMap")
    assert {"image/png", "image/png; mode=8bit", "image/jpeg"} <= set(get_map.formatOptions)
    href = get_map.methods[0]["url"]
    assert href.startswith(live_server.url) and href.endswith("?")
    info = wms.getOperationByName("GetFeatureInfo")
    assert {"text/html", "application/json", "application/vnd.ogc.gml"} <= set(info.formatOptions)
    # The legend URL answers a PNG.
    legend = requests.get(layer.styles["default"]["legend"], timeout=30)
    assert legend.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(legend.content)).format == "PNG"


@pytest.mark.parametrize("version", VERSIONS)
def test_getstyles_answers_the_sld_of_the_layer_styles(live_server, communes_layer, version):
    """GetStyles is advertised, and its SLD imports back (as QGIS would load it) to the rules the
    WMS draws, default style first."""
    from layers.sld import import_sld
    from layers.styles import resolve_style

    from .conftest import fill_style, make_style

    make_style(communes_layer, fill_style(RED), name="rouge", title="Rouge", default=True)
    make_style(communes_layer, {"kind": "categorized", "attribute": "insee", "categories": [
        {"value": "44069", "title": "Guérande", "symbol": [{"type": "polygon", "fill": "#00ff00"}]}],
        "label": {"attribute": "nom"}}, name="guerande", title="Guérande", default=False)
    wms = service(live_server, version)
    operation = wms.getOperationByName("GetStyles")
    assert "application/vnd.ogc.sld+xml" in operation.formatOptions
    response = requests.get(operation.methods[0]["url"], timeout=30, params={
        "SERVICE": "WMS", "VERSION": version, "REQUEST": "GetStyles", "LAYERS": "wms_communes"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.ogc.sld+xml")
    root = etree.fromstring(response.content)
    styles = root.findall(".//{http://www.opengis.net/sld}UserStyle")
    assert [s.findtext("{http://www.opengis.net/se}Name") for s in styles] == ["rouge", "guerande"]
    assert styles[0].findtext("{http://www.opengis.net/sld}IsDefault") == "1"
    one_style = etree.tostring(styles[1])  # the importer reads the first UserStyle it meets
    imported = import_sld(b'<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" '
                          b'version="1.1.0"><NamedLayer>' + one_style + b"</NamedLayer>"
                          b"</StyledLayerDescriptor>")
    assert imported.warnings == [] and imported.style_name == "guerande"
    drawn = resolve_style(communes_layer, communes_layer.styles.get(name="guerande")).rules
    assert [r["filter"] for r in imported.definition["rules"]] == [r["filter"] for r in drawn]
    assert imported.definition["rules"][-1]["symbolizers"][0]["attribute"] == "nom"


def test_getstyles_of_a_layer_the_visitor_may_not_view_is_unknown(live_server, communes_layer):
    from layers.models import AccessRule

    AccessRule.objects.filter(layer=communes_layer).delete()
    response = requests.get(live_server.url + "/ows", timeout=30, params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetStyles", "LAYERS": "wms_communes"})
    assert response.status_code == 400 and b'code="LayerNotDefined"' in response.content
    missing = requests.get(live_server.url + "/ows", timeout=30, params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetStyles"})
    assert b'code="MissingParameterValue"' in missing.content


def test_capabilities_bounding_boxes_follow_axis_order(live_server, communes_layer):
    # The box of the rows themselves in WGS 84 (not the Lambert-93 box's corners transformed).
    extent_lonlat = sql("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                        "ST_Extent(ST_Transform(geom, 4326)) e FROM layers_data.wms_communes) s")[0]
    body = requests.get(live_server.url + "/ows", params={
        "SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"}, timeout=30).content
    root = etree.fromstring(body)
    layer = root.xpath("//wms:Layer[wms:Name='wms_communes']", namespaces=WMS_NS)[0]
    box = layer.xpath("wms:BoundingBox[@CRS='EPSG:4326']", namespaces=WMS_NS)[0]
    # EPSG:4326 in 1.3.0: minx is the minimum latitude.
    assert float(box.get("minx")) == pytest.approx(extent_lonlat[1], abs=1e-4)
    assert float(box.get("miny")) == pytest.approx(extent_lonlat[0], abs=1e-4)
    body = requests.get(live_server.url + "/ows", params={
        "SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.1.1"}, timeout=30).content
    root = etree.fromstring(body, etree.XMLParser(load_dtd=False, no_network=True))
    layer = root.xpath("//Layer[Name='wms_communes']")[0]
    box = layer.xpath("BoundingBox[@SRS='EPSG:4326']")[0]
    assert float(box.get("minx")) == pytest.approx(extent_lonlat[0], abs=1e-4)
    lamb = layer.xpath("BoundingBox[@SRS='EPSG:2154']")[0]
    assert float(lamb.get("minx")) == pytest.approx(communes_layer.extent.extent[0], abs=0.01)


CRS_CASES = [("1.1.1", "EPSG:2154"), ("1.1.1", "EPSG:3857"), ("1.1.1", "EPSG:4326"),
             ("1.3.0", "EPSG:2154"), ("1.3.0", "EPSG:3857"), ("1.3.0", "EPSG:4326"),
             ("1.3.0", "CRS:84")]
FORMATS = {"image/png": "PNG", "image/png; mode=8bit": "PNG", "image/jpeg": "JPEG",
           "image/webp": "WEBP"}


@pytest.mark.parametrize("version,crs", CRS_CASES)
def test_getmap_size_and_format_in_each_crs(live_server, communes_layer, version, crs):
    wms = service(live_server, version)
    srid = 4326 if crs == "CRS:84" else int(crs.split(":")[1])
    box = transform_box(LONLAT_BOX, 4326, srid)  # OWSLib takes east/north order
    for mime, pil_format in FORMATS.items():
        answer = wms.getmap(layers=["wms_communes"], styles=[""], srs=crs, bbox=box,
                            size=(300, 200), format=mime, transparent=False)
        content = answer.read()
        image = Image.open(io.BytesIO(content))
        assert image.format == pil_format, content[:300]
        assert image.size == (300, 200)
        rgba = image.convert("RGBA")
        assert len(rgba.getcolors(maxcolors=1 << 20)) > 2  # communes drawn over the white background
        if mime == "image/png; mode=8bit":
            assert image.mode == "P"


def lower_left_red(content, size=(300, 200)):
    image = image_of(content)
    assert image.size == size
    width, height = size
    inside = image.getpixel((int(width * 0.15), int(height * 0.85)))
    outside = image.getpixel((int(width * 0.85), int(height * 0.15)))
    return near(inside, RED) and not near(outside, RED)


def test_axis_order_pixels(live_server, corner_square):
    west, south, east, north = LONLAT_BOX
    # OWSLib: east/north box in, each version's axis order on the wire.
    for version, crs in (("1.3.0", "EPSG:4326"), ("1.1.1", "EPSG:4326"), ("1.3.0", "CRS:84")):
        answer = service(live_server, version).getmap(
            layers=["wms_carre"], styles=[""], srs=crs, bbox=LONLAT_BOX, size=(300, 200),
            format="image/png", transparent=False)
        assert lower_left_red(answer.read()), (version, crs)
    # The same requests written by hand: lat/lon for EPSG:4326 in 1.3.0, lon/lat otherwise.
    cases = [("1.3.0", "CRS", "EPSG:4326", (south, west, north, east), True),
             ("1.3.0", "CRS", "CRS:84", (west, south, east, north), True),
             ("1.1.1", "SRS", "EPSG:4326", (west, south, east, north), True),
             # The lon/lat box read as lat/lon (1.3.0): the square is not in the corner.
             ("1.3.0", "CRS", "EPSG:4326", (west, south, east, north), False)]
    for version, name, crs, box, expected in cases:
        response = requests.get(live_server.url + "/ows", params={
            "SERVICE": "WMS", "REQUEST": "GetMap", "VERSION": version, name: crs,
            "BBOX": ",".join(map(str, box)), "WIDTH": 300, "HEIGHT": 200, "LAYERS": "wms_carre",
            "STYLES": "", "FORMAT": "image/png"}, timeout=30)
        assert response.headers["Content-Type"] == "image/png", response.content[:300]
        assert lower_left_red(response.content) is expected, (version, crs, box)


def town_hall(insee):
    hall = TownHall.objects.get(commune__insee=insee)
    return hall.location.x, hall.location.y


@pytest.mark.parametrize("version", VERSIONS)
def test_getfeatureinfo_at_a_known_commune(live_server, communes_layer, version):
    wms = service(live_server, version)
    x, y = town_hall("44069")  # Guérande
    box = (x - 4000, y - 3000, x + 4000, y + 3000)
    i, j = pixel_of(x, y, box, 400, 300)
    common = dict(layers=["wms_communes"], styles=[""], srs="EPSG:2154", bbox=box,
                  size=(400, 300), format="image/png", query_layers=["wms_communes"], xy=(i, j))
    answer = wms.getfeatureinfo(info_format="application/json", **common)
    collection = json.loads(answer.read())
    assert [f["properties"]["nom"] for f in collection["features"]] == ["Guérande"]
    assert collection["features"][0]["properties"]["insee"] == "44069"
    html = wms.getfeatureinfo(info_format="text/html", **common).read().decode()
    assert "Guérande" in html and "<table" in html and 'lang="fr"' in html
    gml = etree.fromstring(wms.getfeatureinfo(info_format="application/vnd.ogc.gml",
                                              **common).read())
    names = gml.xpath("//*[local-name()='nom']/text()")
    assert names == ["Guérande"]
    assert gml.xpath("//*[local-name()='MultiSurface' or local-name()='MultiPolygon']")
    # The same place in lon/lat (OWSLib swaps the box for 1.3.0).
    lon, lat = transform_point(x, y, 2154, 4326)
    box = (lon - 0.05, lat - 0.03, lon + 0.05, lat + 0.03)
    i, j = pixel_of(lon, lat, box, 400, 300)
    common.update(srs="EPSG:4326", bbox=box, xy=(i, j))
    collection = json.loads(wms.getfeatureinfo(info_format="application/json", **common).read())
    assert [f["properties"]["nom"] for f in collection["features"]] == ["Guérande"]
