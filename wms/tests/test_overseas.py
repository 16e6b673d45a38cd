"""A layer holding metropolitan, Corsican and overseas features, published through the real
pipeline (ogr2ogr + finalisation), served right in every advertised CRS and protocol.

The rows are stored in Lambert-93 like every other (docs/architecture.md, "Données hors de
métropole"): these tests check that the coordinates come back exactly, that every advertised
extent is the data's own box in that CRS (not the Lambert-93 box's corners transformed), and
that WMS (1.3.0 and 1.1.1, EPSG:2154/3857/4326, CRS:84), WFS, REST, MVT, WMTS, the thumbnail,
the catalogue page and the web map find and draw the features where they are.
"""
import io
import json
import math

import mapbox_vector_tile
import pytest
from django.db import connection
from lxml import etree
from PIL import Image

from layers.models import AccessRule, Audience, ImportJob, Layer, Permission
from layers.publishing import prepare_import, run_import

from .conftest import RED, fill_style, image_of, make_style, near, sql


NAME = "outremer_test"
HALF = 0.25  # degrees: each place is a square of 2 × HALF around its centre (La Réunion's size)
PLACES = {  # lon, lat of each square's centre
    "Guérande": (-2.43, 47.33),
    "Ajaccio": (8.74, 41.93),
    "Saint-Denis (La Réunion)": (55.45, -20.90),
    "Pointe-à-Pitre (Guadeloupe)": (-61.53, 16.24),
    "Cayenne (Guyane)": (-52.33, 4.93),
    "Mamoudzou (Mayotte)": (45.23, -12.78),
}
OVERSEAS = [name for name in PLACES if "(" in name]
WMS_NS = {"wms": "http://www.opengis.net/wms"}
MERCATOR_HALF = 20037508.342789244


def square(lon, lat):
    return [[[lon - HALF, lat - HALF], [lon + HALF, lat - HALF], [lon + HALF, lat + HALF],
             [lon - HALF, lat + HALF], [lon - HALF, lat - HALF]]]


def data_box():
    """The data's own WGS 84 box (what every advertised geographic box must be)."""
    lons = [lon for lon, _lat in PLACES.values()]
    lats = [lat for _lon, lat in PLACES.values()]
    return (min(lons) - HALF, min(lats) - HALF, max(lons) + HALF, max(lats) + HALF)


def transform_point(lon, lat, srid):
    return sql("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
               "%s) p", [lon, lat, srid])[0]


def mercator(lon, lat):
    return (MERCATOR_HALF * lon / 180,
            MERCATOR_HALF / math.pi * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


@pytest.fixture
def overseas_layer(wms_world, tmp_path, settings):
    from accounts.models import User

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    source = tmp_path / "communes_outremer.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": name},
         "geometry": {"type": "Polygon", "coordinates": square(*centre)}}
        for name, centre in PLACES.items()]}), encoding="utf-8")
    job = prepare_import(path=source, layer_name=NAME, title="Métropole, Corse et outre-mer",
                         user=User.objects.get(username="admin.sig"),
                         source_name="communes_outremer.geojson")
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    layer = Layer.objects.get(name=NAME)
    layer.cacheable = True
    layer.save()
    for permission in (Permission.VIEW, Permission.DOWNLOAD):
        AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=permission)
    make_style(layer, fill_style(RED))
    return Layer.objects.get(name=NAME)


# --- storage ---------------------------------------------------------------------------------

def test_overseas_coordinates_come_back_exactly_from_lambert93(overseas_layer):
    """Lambert-93 is a conformal conic defined on the whole Earth but the south pole: PROJ
    transforms overseas coordinates there and back to within 1e-12 degree (well below a
    micrometre), so storing them in the layer's Lambert-93 table loses nothing."""
    rows = sql(f"SELECT nom, ST_AsGeoJSON(ST_Transform(geom, 4326), 15)::json FROM "
               f"layers_data.{NAME}")
    assert {nom for nom, _g in rows} == set(PLACES)
    for nom, geometry in rows:
        got = geometry["coordinates"][0][0]  # MULTIPOLYGON: the first polygon's outer ring
        expected = square(*PLACES[nom])[0]
        assert len(got) == len(expected)
        for (x, y), (ex, ey) in zip(got, expected):
            assert abs(x - ex) < 1e-12 and abs(y - ey) < 1e-12, (nom, x, y, ex, ey)


def test_extents_are_measured_on_the_data_in_each_crs(overseas_layer):
    west, south, east, north = data_box()
    assert overseas_layer.extent_wgs84.extent == pytest.approx((west, south, east, north),
                                                                abs=1e-9)
    mx0, my0 = mercator(west, south)
    mx1, my1 = mercator(east, north)
    assert overseas_layer.extent_webmercator.extent == pytest.approx((mx0, my0, mx1, my1),
                                                                      abs=0.01)
    (box,) = sql(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                 f"ST_Extent(geom) e FROM layers_data.{NAME}) s")
    assert overseas_layer.extent.extent == pytest.approx(box, abs=1e-6)
    # What the corners of the Lambert-93 box used to give: far from the data.
    (corners,) = sql("SELECT ST_YMax(ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 2154), 4326))",
                     list(box))
    assert abs(corners[0] - north) > 1


# --- WMS -------------------------------------------------------------------------------------

def capabilities_layer(client, version):
    body = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                               "VERSION": version}).content
    root = etree.fromstring(body, etree.XMLParser(load_dtd=False, no_network=True))
    if version == "1.3.0":
        return root.xpath(f"//wms:Layer[wms:Name='{NAME}']", namespaces=WMS_NS)[0]
    return root.xpath(f"//Layer[Name='{NAME}']")[0]


def test_wms_capabilities_advertise_the_data_box_in_every_crs(client, overseas_layer):
    west, south, east, north = data_box()
    mx0, my0 = mercator(west, south)
    mx1, my1 = mercator(east, north)
    lx0, ly0, lx1, ly1 = overseas_layer.extent.extent

    layer = capabilities_layer(client, "1.3.0")
    geographic = layer.xpath("wms:EX_GeographicBoundingBox", namespaces=WMS_NS)[0]
    values = {child.tag.split("}")[1]: float(child.text) for child in geographic}
    assert values == pytest.approx({"westBoundLongitude": west, "eastBoundLongitude": east,
                                    "southBoundLatitude": south, "northBoundLatitude": north},
                                   abs=1e-6)
    boxes = {box.get("CRS"): tuple(float(box.get(k)) for k in ("minx", "miny", "maxx", "maxy"))
             for box in layer.xpath("wms:BoundingBox", namespaces=WMS_NS)}
    assert boxes["EPSG:4326"] == pytest.approx((south, west, north, east), abs=1e-6)  # lat/lon
    assert boxes["EPSG:3857"] == pytest.approx((mx0, my0, mx1, my1), abs=0.01)
    assert boxes["EPSG:2154"] == pytest.approx((lx0, ly0, lx1, ly1), abs=0.01)

    layer = capabilities_layer(client, "1.1.1")
    latlon = layer.xpath("LatLonBoundingBox")[0]
    assert tuple(float(latlon.get(k)) for k in ("minx", "miny", "maxx", "maxy")) == \
        pytest.approx((west, south, east, north), abs=1e-6)
    boxes = {box.get("SRS"): tuple(float(box.get(k)) for k in ("minx", "miny", "maxx", "maxy"))
             for box in layer.xpath("BoundingBox")}
    assert boxes["EPSG:4326"] == pytest.approx((west, south, east, north), abs=1e-6)  # lon/lat
    assert boxes["EPSG:3857"] == pytest.approx((mx0, my0, mx1, my1), abs=0.01)


CRS_CASES = [("1.3.0", "EPSG:3857"), ("1.3.0", "EPSG:4326"), ("1.3.0", "CRS:84"),
             ("1.3.0", "EPSG:2154"), ("1.1.1", "EPSG:4326"), ("1.1.1", "EPSG:3857"),
             ("1.1.1", "EPSG:2154")]


def box_around(lon, lat, code, version, half=0.005):
    """A WMS BBOX value around a place, in the CRS's axis order for that version."""
    if code in ("EPSG:4326", "CRS:84"):
        box = (lon - half, lat - half, lon + half, lat + half)
        if code == "EPSG:4326" and version == "1.3.0":
            box = (box[1], box[0], box[3], box[2])
    else:
        srid = int(code.split(":")[1])
        x, y = transform_point(lon, lat, srid)
        # Half a kilometre (Lambert-93 stretches overseas distances by up to ~2: still inside).
        box = (x - 500, y - 500, x + 500, y + 500)
    return ",".join(repr(v) for v in box)


@pytest.mark.parametrize("version,code", CRS_CASES)
def test_wms_getmap_draws_every_place_in_every_crs(client, overseas_layer, version, code):
    crs_key = "CRS" if version == "1.3.0" else "SRS"
    blank = []
    for name, (lon, lat) in PLACES.items():
        response = client.get("/ows", {
            "SERVICE": "WMS", "VERSION": version, "REQUEST": "GetMap", "LAYERS": NAME,
            "STYLES": "", crs_key: code, "BBOX": box_around(lon, lat, code, version),
            "WIDTH": "32", "HEIGHT": "32", "FORMAT": "image/png", "TRANSPARENT": "TRUE"})
        assert response.status_code == 200 and response["Content-Type"] == "image/png", \
            response.content[:300]
        if not near(image_of(response.content).getpixel((16, 16)), RED):
            blank.append(name)
    assert blank == []


@pytest.mark.parametrize("version,code", [("1.3.0", "EPSG:3857"), ("1.3.0", "EPSG:4326"),
                                          ("1.1.1", "EPSG:4326"), ("1.3.0", "EPSG:2154")])
def test_wms_getmap_over_the_advertised_box_is_not_blank(client, overseas_layer, version, code):
    """What QGIS asks first ("zoom to layer"): the advertised box, whole. The squares are a few
    pixels wide at that scale; some must be drawn."""
    layer = capabilities_layer(client, version)
    if version == "1.3.0":
        box = layer.xpath(f"wms:BoundingBox[@CRS='{code}']", namespaces=WMS_NS)[0]
    else:
        box = layer.xpath(f"BoundingBox[@SRS='{code}']")[0]
    bbox = ",".join(box.get(k) for k in ("minx", "miny", "maxx", "maxy"))
    response = client.get("/ows", {
        "SERVICE": "WMS", "VERSION": version, "REQUEST": "GetMap", "LAYERS": NAME, "STYLES": "",
        "CRS" if version == "1.3.0" else "SRS": code, "BBOX": bbox, "WIDTH": "2048",
        "HEIGHT": "1024", "FORMAT": "image/png", "TRANSPARENT": "TRUE"})
    assert response.status_code == 200, response.content[:300]
    image = image_of(response.content)
    reds = sum(1 for pixel in image.getdata() if near(pixel, RED, tolerance=80))
    assert reds >= len(PLACES)


# --- WFS, REST -------------------------------------------------------------------------------

def test_wfs_capabilities_and_bbox_find_the_overseas_feature(client, overseas_layer):
    caps = etree.fromstring(client.get("/ows", {"SERVICE": "WFS", "REQUEST": "GetCapabilities",
                                                "VERSION": "2.0.0"}).content)
    ows = "http://www.opengis.net/ows/1.1"
    feature_type = [ft for ft in caps.iter("{http://www.opengis.net/wfs/2.0}FeatureType")
                    if ft.findtext("{http://www.opengis.net/wfs/2.0}Name").endswith(NAME)][0]
    box = feature_type.find(f"{{{ows}}}WGS84BoundingBox")
    lower = [float(v) for v in box.findtext(f"{{{ows}}}LowerCorner").split()]
    upper = [float(v) for v in box.findtext(f"{{{ows}}}UpperCorner").split()]
    assert lower + upper == pytest.approx(list(data_box()), abs=1e-6)

    for name in OVERSEAS:
        lon, lat = PLACES[name]
        response = client.get("/ows", {
            "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": NAME,
            "OUTPUTFORMAT": "geojson", "SRSNAME": "urn:ogc:def:crs:EPSG::4326",
            "BBOX": f"{lat - 0.01},{lon - 0.01},{lat + 0.01},{lon + 0.01},"
                    "urn:ogc:def:crs:EPSG::4326"})  # latitude first
        assert response.status_code == 200, response.content[:500]
        features = json.loads(b"".join(response.streaming_content)
                              if response.streaming else response.content)["features"]
        assert [f["properties"]["nom"] for f in features] == [name]
        ring = features[0]["geometry"]["coordinates"][0][0]
        assert [v for point in ring for v in point] == pytest.approx(
            [v for point in square(lon, lat)[0] for v in point], abs=1e-6)


def test_rest_geojson_bbox_and_layer_extent(client, overseas_layer):
    for name in OVERSEAS:
        lon, lat = PLACES[name]
        response = client.get(f"/api/layers/{NAME}/features",
                              {"bbox": f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"})
        assert response.status_code == 200, response.content[:500]
        body = json.loads(b"".join(response.streaming_content)
                          if response.streaming else response.content)
        assert [f["properties"]["nom"] for f in body["features"]] == [name]
        ring = body["features"][0]["geometry"]["coordinates"][0][0]
        assert [v for point in ring for v in point] == pytest.approx(
            [v for point in square(lon, lat)[0] for v in point], abs=1e-7)
    detail = client.get(f"/api/layers/{NAME}/").json()
    assert detail["feature_count"] == len(PLACES)
    assert detail["extent"]["wgs84"] == pytest.approx(list(data_box()), abs=1e-9)
    assert detail["extent"]["webmercator"] == pytest.approx(
        [*mercator(*data_box()[:2]), *mercator(*data_box()[2:])], abs=0.01)


# --- tiles -----------------------------------------------------------------------------------

def tile_of(lon, lat, z):
    """(col, row, pixel i, pixel j) of a lon/lat point in the XYZ Web Mercator grid."""
    x, y = mercator(lon, lat)
    size = 2 * MERCATOR_HALF / (1 << z)
    fx, fy = (x + MERCATOR_HALF) / size, (MERCATOR_HALF - y) / size
    return int(fx), int(fy), int((fx % 1) * 256), int((fy % 1) * 256)


@pytest.mark.parametrize("z", [3, 10])
def test_mvt_tiles_hold_the_overseas_features(client, overseas_layer, z):
    for name in OVERSEAS:
        col, row, _i, _j = tile_of(*PLACES[name], z)
        response = client.get(f"/tiles/{NAME}/{z}/{col}/{row}.mvt")
        assert response.status_code == 200
        tile = mapbox_vector_tile.decode(response.content)
        assert name in [f["properties"]["nom"] for f in tile[NAME]["features"]], (name, z)


def test_mvt_world_tile_holds_every_feature(client, overseas_layer):
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/{NAME}/0/0/0.mvt").content)
    assert sorted(f["properties"]["nom"] for f in tile[NAME]["features"]) == sorted(PLACES)


@pytest.mark.parametrize("z", [2, 10])
def test_wmts_webmercator_tiles_draw_the_overseas_features(client, overseas_layer, z):
    for name in OVERSEAS + ["Ajaccio"]:
        col, row, i, j = tile_of(*PLACES[name], z)
        response = client.get(f"/mapproxy/wmts/{NAME}/GoogleMapsCompatible/{z}/{col}/{row}.png")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(response.content)).convert("RGBA")
        # At z2 a square is a fraction of a pixel: look around the place.
        around = [image.getpixel((min(255, max(0, i + di)), min(255, max(0, j + dj))))
                  for di in (-1, 0, 1) for dj in (-1, 0, 1)]
        assert any(pixel[3] > 0 for pixel in around), (name, z)
        if z >= 10:
            assert near(image.getpixel((i, j)), RED), (name, z)


def test_wmts_capabilities_advertise_the_data_box(client, overseas_layer):
    ows = "{http://www.opengis.net/ows/1.1}"
    caps = etree.fromstring(client.get("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml").content)
    layer = [element for element in caps.iter("{http://www.opengis.net/wmts/1.0}Layer")
             if element.findtext(f"{ows}Identifier") == NAME][0]
    box = layer.find(f"{ows}WGS84BoundingBox")
    lower = [float(v) for v in box.findtext(f"{ows}LowerCorner").split()]
    upper = [float(v) for v in box.findtext(f"{ows}UpperCorner").split()]
    # The data's box and the symbols' margin (1 km of Web Mercator: 0.009° of longitude).
    assert lower + upper == pytest.approx(list(data_box()), abs=0.02)


# --- pages -----------------------------------------------------------------------------------

def test_thumbnail_frames_every_feature(overseas_layer):
    from maps.thumbnails import BACKGROUND, _frame, render_thumbnail_png

    frame = _frame(overseas_layer)
    x0, y0, x1, y1 = overseas_layer.extent.extent
    assert frame[0] <= x0 and frame[1] <= y0 and frame[2] >= x1 and frame[3] >= y1
    image = Image.open(io.BytesIO(render_thumbnail_png(overseas_layer))).convert("RGB")
    background = tuple(int(BACKGROUND[k:k + 2], 16) for k in (1, 3, 5))
    size = image.size[0]
    for name, (lon, lat) in PLACES.items():
        x, y = transform_point(lon, lat, 2154)
        i = int((x - frame[0]) / (frame[2] - frame[0]) * size)
        j = int((frame[3] - y) / (frame[3] - frame[1]) * size)
        around = [image.getpixel((min(size - 1, max(0, i + di)), min(size - 1, max(0, j + dj))))
                  for di in range(-2, 3) for dj in range(-2, 3)]
        # A metropolitan square is below a pixel at this scale (Lambert-93 stretches the
        # overseas ones): drawn as a tinted dot, not red.
        assert any(max(abs(a - b) for a, b in zip(pixel, background)) > 12 for pixel in around), name


def test_catalogue_page_and_web_map_zoom_to_the_data(client, overseas_layer):
    page = client.get(f"/catalogue/{NAME}/").content.decode()
    tree = etree.HTML(page)
    extent = [float(v) for v in tree.xpath("//*[@id='catalogue-map']/@data-extent")[0].split(",")]
    assert extent == pytest.approx(list(data_box()), abs=1e-9)
    config = client.get("/carte/config.json").json()
    entries = [entry for theme in config["themes"] for entry in theme["layers"]
               if entry["name"] == NAME]
    west, south, east, north = data_box()
    assert entries[0]["extent"] == pytest.approx([*mercator(west, south), *mercator(east, north)],
                                                 abs=0.01)


def test_catalogue_bbox_filter_finds_the_layer_overseas(client, overseas_layer):
    lon, lat = PLACES["Saint-Denis (La Réunion)"]
    page = client.get("/catalogue/", {"bbox": f"{lon - 1},{lat - 1},{lon + 1},{lat + 1}"})
    assert f"/catalogue/{NAME}/" in page.content.decode()
    response = client.get("/api/layers/", {"bbox": f"{lon - 1},{lat - 1},{lon + 1},{lat + 1}"})
    names = [layer["name"] for layer in response.json()["results"]]
    assert NAME in names


def test_wfs_t_edits_keep_the_extents_up_to_date(client, overseas_layer):
    """A WFS-T transaction (as QGIS sends it) adding a square in Tahiti and deleting the
    metropolitan one: every extent follows the data (refresh_layer_metadata)."""
    from .wfs_support import basic

    tahiti = (-149.57, -17.53)
    ring = " ".join(f"{x} {y}" for lon, lat in square(*tahiti)[0]
                    for x, y in [transform_point(lon, lat, 2154)])
    (guerande,) = sql(f"SELECT fid FROM layers_data.{NAME} WHERE nom = 'Guérande'")[0]
    ns = ('xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
          'xmlns:gml="http://www.opengis.net/gml" '
          'xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" version="1.1.0" '
        f'{ns}><wfs:Insert><capgeo:{NAME}><capgeo:nom>Papeete</capgeo:nom><capgeo:geom>'
        f'<gml:Polygon srsName="urn:ogc:def:crs:EPSG::2154"><gml:exterior><gml:LinearRing>'
        f'<gml:posList srsDimension="2">{ring}</gml:posList></gml:LinearRing></gml:exterior>'
        f'</gml:Polygon></capgeo:geom></capgeo:{NAME}></wfs:Insert>'
        f'<wfs:Delete typeName="capgeo:{NAME}"><ogc:Filter><ogc:FeatureId '
        f'fid="{NAME}.{guerande}"/></ogc:Filter></wfs:Delete></wfs:Transaction>')
    response = client.post("/ows", data=document, content_type="text/xml",
                           headers={"Authorization": basic("admin.sig", "demo-capgeo")})
    assert response.status_code == 200 and b"totalInserted>1<" in response.content, \
        response.content[:800]
    layer = Layer.objects.get(name=NAME)
    places = {**PLACES, "Papeete": tahiti}
    del places["Guérande"]
    lons = [lon for lon, _lat in places.values()]
    lats = [lat for _lon, lat in places.values()]
    expected = (min(lons) - HALF, min(lats) - HALF, max(lons) + HALF, max(lats) + HALF)
    assert layer.feature_count == len(places)
    assert layer.extent_wgs84.extent == pytest.approx(expected, abs=1e-9)
    assert layer.extent_webmercator.extent == pytest.approx(
        (*mercator(*expected[:2]), *mercator(*expected[2:])), abs=0.01)
    layer_entry = capabilities_layer(client, "1.3.0")
    west = float(layer_entry.xpath("wms:EX_GeographicBoundingBox/wms:westBoundLongitude",
                                   namespaces=WMS_NS)[0].text)
    assert west == pytest.approx(tahiti[0] - HALF, abs=1e-6)
