"""OGC API – Maps (OGC 20-058): one test per abstract test of the conformance classes /ogc/
declares (Annex A: core, scaling, crs, collection-map, dataset-map, collections-selection, png),
over every collection, plus the rights (a map equals WMS GetMap's image for the same user, box,
size and CRS: one engine, one policy) and OWSLib's ogcapi.maps client on a live server."""
import io

import pytest
from django.test import Client
from PIL import Image

from layers.testing import SCENARIO_EXPECTED_ROWS, SCENARIO_RULES

from .support import EPSG, CRS84, collection_ids, document, login, rel

pytestmark = pytest.mark.django_db
MAPS = "http://www.opengis.net/spec/ogcapi-maps-1/1.0/conf/"
MAP_REL = "http://www.opengis.net/def/rel/ogc/1.0/map"
LAMBERT93 = EPSG + "2154"
# Guérande's town centre in Lambert-93 and in CRS84.
GUERANDE_BOX = (282000.0, 6710000.0, 287000.0, 6714000.0)
GUERANDE_LONLAT = (-2.45, 47.31, -2.40, 47.34)


def picture(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def content_bbox(response):
    return [float(v) for v in response["Content-Bbox"].split(",")]


def drawn(image):
    """How many pixels are not fully transparent."""
    alpha = image.convert("RGBA").getchannel("A")
    return sum(alpha.histogram()[1:])


# --- Core ----------------------------------------------------------------------------------------
def test_conf_core_map_op_every_collection_native_crs_and_content_bbox():
    """/conf/core/map-op: 200, the native CRS (the storageCrs, Lambert-93) named by Content-Crs,
    Content-Bbox the drawn box in it, a map of the collection in the negotiated format."""
    client = Client()
    for name in collection_ids(client):
        collection = document(client.get(f"/ogc/collections/{name}"))
        assert collection["storageCrs"] == LAMBERT93
        response = client.get(f"/ogc/collections/{name}/map", {"width": 128},
                              HTTP_ACCEPT="image/png,image/jpeg")
        image = picture(response)
        assert response["Content-Crs"] == f"<{LAMBERT93}>", name
        minx, miny, maxx, maxy = content_bbox(response)
        assert minx < maxx and miny < maxy
        assert 100000 < minx < 1300000 and 6000000 < miny < 7200000  # Lambert-93 metres
        assert image.size[0] == 128
        assert image.size[1] == round(128 * (maxy - miny) / (maxx - minx)) or image.size[1] == 1


def test_conf_core_map_response_draws_the_collection():
    """/conf/core/map-response: the body is the collection drawn (communes cover their box)."""
    response = Client().get("/ogc/collections/communes/map", {"width": 200})
    image = picture(response)
    assert drawn(image) > image.size[0] * image.size[1] / 4


def test_conf_core_conformance_success():
    """/conf/core/conformance-success: /conformance declares the Maps classes implemented."""
    declared = document(Client().get("/ogc/conformance"))["conformsTo"]
    for name in ("core", "background", "crs", "scaling", "spatial-subsetting", "datetime",
                 "collection-map", "styled-map", "dataset-map", "collections-selection", "png"):
        assert MAPS + name in declared


# --- Scaling -------------------------------------------------------------------------------------
def test_conf_scaling_width_definition():
    """/conf/scaling/width-definition: width alone keeps the box's aspect ratio; with height,
    both are honoured over the same bbox."""
    client = Client()
    box = ",".join(str(v) for v in GUERANDE_BOX)
    for width in (50, 250, 500):
        alone = picture(client.get("/ogc/collections/communes/map",
                                   {"bbox": box, "bbox-crs": LAMBERT93, "width": width}))
        assert alone.size == (width, round(width * 4000 / 5000))
    both = picture(client.get("/ogc/collections/communes/map",
                              {"bbox": box, "bbox-crs": LAMBERT93, "width": 300,
                               "height": 100}))
    assert both.size == (300, 100)


def test_conf_scaling_height_definition():
    """/conf/scaling/height-definition: height alone keeps the aspect ratio."""
    box = ",".join(str(v) for v in GUERANDE_BOX)
    for height in (40, 400):
        image = picture(Client().get("/ogc/collections/communes/map",
                                     {"bbox": box, "bbox-crs": LAMBERT93, "height": height}))
        assert image.size == (round(height * 5000 / 4000), height)


def test_conf_scaling_scale_denominator_definition():
    """/conf/scaling/scale-denominator-definition: with bbox the size follows the scale (0.28 mm
    pixels); without bbox, width/height around the collection's centre; all four together
    contradict each other (400)."""
    client = Client()
    box = ",".join(str(v) for v in GUERANDE_BOX)
    scaled = picture(client.get("/ogc/collections/communes/map",
                                {"bbox": box, "bbox-crs": LAMBERT93,
                                 "scale-denominator": 50000}))
    assert scaled.size == (round(5000 / 14), round(4000 / 14))  # 14 m per pixel
    centred = client.get("/ogc/collections/communes/map",
                         {"scale-denominator": 25000, "width": 100, "height": 80})
    assert picture(centred).size == (100, 80)
    minx, miny, maxx, maxy = content_bbox(centred)
    assert maxx - minx == pytest.approx(700) and maxy - miny == pytest.approx(560)
    contradiction = client.get("/ogc/collections/communes/map",
                               {"bbox": box, "bbox-crs": LAMBERT93, "scale-denominator": 50000,
                                "width": 10, "height": 10})
    assert contradiction.status_code == 400 and document(contradiction)["code"]


# --- CRS -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("crs, first_axis_is_latitude", [
    (CRS84, False), (EPSG + "4326", True), (LAMBERT93, False), (EPSG + "3857", False),
    (None, False)])
def test_conf_crs_crs_definition(crs, first_axis_is_latitude):
    """/conf/crs/crs-definition: each offered CRS (and none: the native one) gives a map whose
    Content-Crs names it, Content-Bbox in its axis order."""
    params = {"bbox": ",".join(map(str, GUERANDE_LONLAT)), "width": 100}
    if crs:
        params["crs"] = crs
    response = Client().get("/ogc/collections/communes/map", params)
    picture(response)
    assert response["Content-Crs"] == f"<{crs or LAMBERT93}>"
    first, second, third, fourth = content_bbox(response)
    if crs in (CRS84, EPSG + "4326"):
        lon_lat = (second, first, fourth, third) if first_axis_is_latitude else \
            (first, second, third, fourth)
        assert lon_lat == pytest.approx(GUERANDE_LONLAT)


def test_conf_crs_map_success_same_map_in_crs84_and_epsg4326():
    """/conf/crs/map-success: CRS84 and EPSG:4326 are the same map (axis order only differs);
    a CRS not offered is an OGC API exception, never an image or an HTML page."""
    client = Client()
    lonlat = ",".join(map(str, GUERANDE_LONLAT))
    latlon = ",".join(map(str, (GUERANDE_LONLAT[1], GUERANDE_LONLAT[0], GUERANDE_LONLAT[3],
                                GUERANDE_LONLAT[2])))
    crs84 = client.get("/ogc/collections/communes/map",
                       {"bbox": lonlat, "crs": CRS84, "width": 120, "height": 90})
    epsg = client.get("/ogc/collections/communes/map",
                      {"bbox": latlon, "bbox-crs": EPSG + "4326", "crs": EPSG + "4326",
                       "width": 120, "height": 90})
    assert picture(crs84).tobytes() == picture(epsg).tobytes()
    refused = client.get("/ogc/collections/communes/map", {"crs": EPSG + "32631"})
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/json")
    assert "32631" in document(refused)["description"]


# --- Collection map, dataset map, collections selection ------------------------------------------
def test_conf_collection_map_desc_links():
    """/conf/collection-map/desc-links: every collection links to its map (rel map, PNG)."""
    client = Client()
    for collection in document(client.get("/ogc/collections"))["collections"]:
        links = rel(collection["links"], MAP_REL, "image/png")
        assert links and links[0]["href"].endswith(f"/collections/{collection['id']}/map")


def test_conf_collection_map_map_operation():
    """/conf/collection-map/map-operation: following the link gives the collection's map."""
    client = Client()
    collection = document(client.get("/ogc/collections/communes"))
    href = rel(collection["links"], MAP_REL)[0]["href"]
    image = picture(client.get(href.split("://", 1)[1].split("/", 1)[1].join(["/", ""]),
                               {"width": 64}))
    assert image.size[0] == 64


def test_conf_collection_map_desc_crs():
    """/conf/collection-map/desc-crs: the CRSs the collection lists are those its map draws in."""
    client = Client()
    collection = document(client.get("/ogc/collections/communes"))
    for crs in collection["crs"]:
        response = client.get("/ogc/collections/communes/map", {"crs": crs, "width": 32})
        assert response.status_code == 200, crs
        assert response["Content-Crs"] == f"<{crs}>"


def test_conf_dataset_map_landingpage_and_operation():
    """/conf/dataset-map/landingpage and /operation: the landing page links to /map, which draws
    every collection the reader may view."""
    client = Client()
    landing = document(client.get("/ogc/"))
    href = rel(landing["links"], MAP_REL, "image/png")[0]["href"]
    assert href.endswith("/ogc/map")
    image = picture(client.get("/ogc/map", {"width": 200}))
    assert drawn(image) > 0


def test_conf_collections_selection_query_collections_and_response():
    """/conf/collections-selection: collections= with one id is that collection's map; with
    two, both drawn (the first below); an unknown id is a 404 exception."""
    client = Client()
    box = {"bbox": ",".join(map(str, GUERANDE_BOX)), "bbox-crs": LAMBERT93, "width": 150}
    one = client.get("/ogc/map", {"collections": "communes", **box})
    alone = client.get("/ogc/collections/communes/map", box)
    assert picture(one).tobytes() == picture(alone).tobytes()
    names = [name for name in collection_ids(client) if name != "communes"][:1]
    two = client.get("/ogc/map", {"collections": ",".join(["communes", *names]), **box})
    picture(two)
    unknown = client.get("/ogc/map", {"collections": "communes,nexiste_pas"})
    assert unknown.status_code == 404 and document(unknown)["code"] == "NotFound"


def test_conf_png():
    """/conf/png: image/png, read by Pillow; f=jpeg is not offered (400), an Accept without PNG
    is not acceptable (406)."""
    client = Client()
    image = picture(client.get("/ogc/collections/communes/map", {"f": "png", "width": 20}))
    assert image.format == "PNG"
    assert client.get("/ogc/collections/communes/map", {"f": "jpeg"}).status_code == 400
    refused = client.get("/ogc/collections/communes/map", HTTP_ACCEPT="image/jpeg")
    assert refused.status_code == 406 and document(refused)["code"] == "NotAcceptable"


def test_background_transparent_and_bgcolor():
    """transparent (default true) and bgcolor (hexadecimal or a W3C name), as WMS reads them."""
    client = Client()
    far = {"bbox": "0,6000000,10,6000010", "bbox-crs": LAMBERT93, "width": 4, "height": 4}
    assert drawn(picture(client.get("/ogc/collections/communes/map", far))) == 0
    for colour in ("0x4682B4", "#4682b4", "steelblue"):
        image = picture(client.get("/ogc/collections/communes/map",
                                   {**far, "transparent": "false", "bgcolor": colour}))
        assert image.convert("RGB").getpixel((0, 0)) == (70, 130, 180)
    assert client.get("/ogc/collections/communes/map",
                      {**far, "bgcolor": "pas-une-couleur"}).status_code == 400


@pytest.mark.parametrize("query", [
    {"bbox": "NaN,0,1,1"}, {"bbox": "0,0,1,1e400"}, {"bbox": "1,1,0,0"}, {"bbox": "0,0,1"},
    {"bbox": "-200,0,0,1"}, {"width": "0"}, {"width": "99999"}, {"height": "9" * 30},
    {"width": "1.5"}, {"scale-denominator": "-1"}, {"scale-denominator": "inf"},
    {"bbox": "-2.5,47,-2.4,47.1", "scale-denominator": "0.001"}, {"crs": "EPSG:9999"},
    {"bbox-crs": "EPSG:9999", "bbox": "0,0,1,1"}, {"transparent": "peut-être"},
    {"datetime": "pas-une-date"}, {"datetime": "2020-01-01/2020-02-01/2020-03-01"},
    {"collections": "communes"},
])
def test_bad_map_requests_are_ogc_api_exceptions(query):
    response = Client().get("/ogc/collections/communes/map", query)
    assert response.status_code == 400, (query, response.status_code)
    assert response["Content-Type"].startswith("application/json")
    assert document(response)["description"]


# --- rights --------------------------------------------------------------------------------------
RED = (255, 0, 0)


@pytest.fixture
def committed_scenario(transactional_db):
    """The shared access scenario committed (Mapnik reads through its own connections), each
    layer with a style of big red discs."""
    from layers.testing import build_access_scenario, red_disc_style
    from maps import renderer

    renderer.clear_cache()
    layers = build_access_scenario()
    for layer in layers.values():
        red_disc_style(layer)
    return layers


def halls():
    from territory.models import TownHall
    from layers.testing import GUERANDE, LA_BAULE

    return {h.commune.insee: (h.location.x, h.location.y) for h in TownHall.objects
            .select_related("commune").filter(commune__insee__in=[GUERANDE, LA_BAULE])}


@pytest.mark.parametrize("username", sorted(SCENARIO_EXPECTED_ROWS))
def test_maps_show_exactly_the_rows_getmap_shows(committed_scenario, username):
    """Each user's map of each scenario layer shows a red disc exactly at the town halls he may
    see, and is byte for byte WMS GetMap's image (same engine, same decisions); a layer he may
    not view is unknown (404)."""
    client = login(Client(), username)
    visible = SCENARIO_EXPECTED_ROWS[username]
    places = halls()
    xs, ys = [p[0] for p in places.values()], [p[1] for p in places.values()]
    box = (min(xs) - 2000, min(ys) - 2000, max(xs) + 2000, max(ys) + 2000)
    size = 300
    for name in SCENARIO_RULES:
        response = client.get(f"/ogc/collections/{name}/map", {
            "bbox": ",".join(map(str, box)), "bbox-crs": LAMBERT93, "width": size,
            "height": size})
        if name not in visible:
            assert response.status_code == 404 and document(response)["code"] == "NotFound"
            continue
        image = picture(response).convert("RGBA")
        for insee, (x, y) in places.items():
            pixel = image.getpixel((int((x - box[0]) / (box[2] - box[0]) * size),
                                    int((box[3] - y) / (box[3] - box[1]) * size)))
            red = pixel[3] > 200 and all(abs(a - b) <= 40 for a, b in zip(pixel[:3], RED))
            assert red is (insee in visible[name]), (username, name, insee)
        getmap = client.get("/ows", {
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": name,
            "STYLES": "", "CRS": "EPSG:2154", "BBOX": ",".join(map(str, box)), "WIDTH": size,
            "HEIGHT": size, "FORMAT": "image/png", "TRANSPARENT": "TRUE"})
        assert response.content == getmap.content, (username, name)


# --- a real client -------------------------------------------------------------------------------
def test_owslib_ogcapi_maps_reads_the_maps(live_server, committed_demo):
    from owslib.ogcapi.maps import Maps

    service = Maps(live_server.url + "/ogc/")
    assert "communes" in service.maps()
    image = Image.open(service.map("communes", bbox=list(GUERANDE_LONLAT), width=160,
                                   height=120))
    assert image.format == "PNG" and image.size == (160, 120)
    styled = Image.open(service.map("communes", bbox=list(GUERANDE_LONLAT), width=40,
                                    height=30, style="default"))
    assert styled.size == (40, 30)


# --- Spatial subsetting: subset and center -------------------------------------------------------
def test_conf_spatial_subsetting_subset_is_the_same_map_as_bbox():
    """/conf/spatial-subsetting: subset ranges on the CRS's named axes draw the map bbox draws
    (in any order, one parameter or several); a bound * or an absent axis takes the extent."""
    client = Client()
    lon_lat = ",".join(str(v) for v in GUERANDE_LONLAT)
    by_bbox = client.get("/ogc/collections/communes/map", {"bbox": lon_lat, "width": 200})
    west, south, east, north = GUERANDE_LONLAT
    for query in ({"subset": f"Lat({south}:{north}),Lon({west}:{east})"},
                  {"subset": [f"Lon({west}:{east})", f"Lat({south}:{north})"]},
                  {"subset": f"lat({south}:{north}),lon({west}:{east})",
                   "subset-crs": EPSG + "4326"}):
        by_subset = client.get("/ogc/collections/communes/map", {**query, "width": 200})
        assert picture(by_subset).tobytes() == picture(by_bbox).tobytes(), query
        assert content_bbox(by_subset) == pytest.approx(content_bbox(by_bbox))
    box = ",".join(str(v) for v in GUERANDE_BOX)
    lambert = client.get("/ogc/collections/communes/map",
                         {"bbox": box, "bbox-crs": LAMBERT93, "crs": LAMBERT93, "width": 100})
    minx, miny, maxx, maxy = GUERANDE_BOX
    same = client.get("/ogc/collections/communes/map",
                      {"subset": f"E({minx}:{maxx}),N({miny}:{maxy})", "subset-crs": LAMBERT93,
                       "crs": LAMBERT93, "width": 100})
    assert picture(same).tobytes() == picture(lambert).tobytes()
    whole = content_bbox(client.get("/ogc/collections/communes/map", {"crs": LAMBERT93}))
    band = content_bbox(client.get("/ogc/collections/communes/map", {
        "subset": f"N({miny}:*)", "subset-crs": LAMBERT93, "crs": LAMBERT93}))
    assert band == pytest.approx([whole[0], miny, whole[2], whole[3]])


def test_conf_spatial_subsetting_center():
    """center (axis order of center-crs) with width, height and scale-denominator: the map
    centred there; without scale-denominator, at the resolution of the whole extent."""
    client = Client()
    x, y = (284500.0, 6712000.0)
    centred = client.get("/ogc/collections/communes/map", {
        "center": f"{x},{y}", "center-crs": LAMBERT93, "crs": LAMBERT93,
        "scale-denominator": 25000, "width": 100, "height": 80})
    assert picture(centred).size == (100, 80)
    assert content_bbox(centred) == pytest.approx([x - 350, y - 280, x + 350, y + 280])
    lat_first = client.get("/ogc/collections/communes/map", {
        "center": "47.325,-2.425", "center-crs": EPSG + "4326", "scale-denominator": 25000,
        "width": 64, "height": 64, "crs": EPSG + "3857"})
    lon_first = client.get("/ogc/collections/communes/map", {
        "center": "-2.425,47.325", "scale-denominator": 25000, "width": 64, "height": 64,
        "crs": EPSG + "3857"})
    assert content_bbox(lat_first) == pytest.approx(content_bbox(lon_first))
    whole = client.get("/ogc/collections/communes/map", {"crs": LAMBERT93})
    moved = client.get("/ogc/collections/communes/map", {
        "center": f"{x},{y}", "center-crs": LAMBERT93, "crs": LAMBERT93,
        "width": picture(whole).width, "height": picture(whole).height})
    box, full = content_bbox(moved), content_bbox(whole)
    # The whole extent's resolution (its pixel sizes are rounded: within a pixel).
    assert (box[2] - box[0]) == pytest.approx(full[2] - full[0], rel=2 / picture(whole).width)
    assert ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) == pytest.approx((x, y))


@pytest.mark.parametrize("query", [
    {"subset": "Lat(47.3:47.34)", "bbox": "-2.5,47,-2.4,47.1"},
    {"center": "-2.4,47.3", "subset": "Lat(47.3:47.34)"},
    {"subset": "Lat(47.34:47.3)"}, {"subset": "Lat(NaN:1)"}, {"subset": "Lat(0:1e400)"},
    {"subset": "Alt(0:10)"}, {"subset": "Lat(47:48),Lat(47:48)"}, {"subset": "Lat[47:48]"},
    {"subset": "Lat(47:48)", "subset-crs": "EPSG:9999"}, {"subset": "Lat(-100:48)"},
    {"subset": "E(0:10)"}, {"center": "1"}, {"center": "1,2,3"}, {"center": "inf,1"},
    {"center": "-200,0"}, {"center": "0,0", "center-crs": "EPSG:9999"},
])
def test_bad_subset_and_center_are_ogc_api_exceptions(query):
    response = Client().get("/ogc/collections/communes/map", query)
    assert response.status_code == 400, (query, response.status_code)
    assert response["Content-Type"].startswith("application/json")
    assert document(response)["description"]


def test_conf_styled_map_draws_the_named_style():
    """/conf/styled-map: /collections/{id}/styles/{style}/map draws that style (the default
    one under its own name too); an unknown style is a 404 exception."""
    from layers.models import Layer, Style
    from maps import renderer

    renderer.clear_cache()
    communes = Layer.objects.get(name="communes")
    Style.objects.create(layer=communes, name="rouge", title="Rouge", is_default=False,
                         kind="single", definition={"kind": "single", "symbol": [
                             {"type": "polygon", "fill": "#ff0000", "fill_opacity": 1.0}]})
    client = Client()
    box = {"bbox": ",".join(str(v) for v in GUERANDE_BOX), "bbox-crs": LAMBERT93,
           "crs": LAMBERT93, "width": 50, "height": 40}
    red = picture(client.get("/ogc/collections/communes/styles/rouge/map", box))
    assert red.convert("RGBA").getpixel((25, 20)) == (255, 0, 0, 255)
    default = picture(client.get("/ogc/collections/communes/map", box))
    assert default.convert("RGBA").getpixel((25, 20)) != (255, 0, 0, 255)
    missing = client.get("/ogc/collections/communes/styles/inconnu/map", box)
    assert missing.status_code == 404 and document(missing)["description"]


# --- Date and time -------------------------------------------------------------------------------
@pytest.fixture
def dated_points(transactional_db):
    """A public point layer whose features carry a date (committed: Mapnik reads through its own
    connections): one big red disc in Guérande in 2023, one in La Baule in 2025."""
    from layers.models import Audience, Permission
    from layers.testing import make_vector_layer, red_disc_style
    from maps import renderer

    renderer.clear_cache()
    spots = halls()
    layer = make_vector_layer(
        "visites_datees", "POINT", [("libelle", "text"), ("visite", "date")],
        [{"libelle": "Guérande", "visite": "2023-05-10",
          "geom": "POINT(%r %r)" % spots["44069"]},
         {"libelle": "La Baule", "visite": "2025-06-20",
          "geom": "POINT(%r %r)" % spots["44055"]}],
        rules=[{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    red_disc_style(layer)
    return spots


def test_conf_datetime_draws_the_features_of_the_instant_or_interval(dated_points):
    """/conf/datetime: an instant or an interval (open ends with ..) draws only the features
    whose temporal property matches; the same filter as /items."""
    client = Client()

    def red_at(insee, **query):
        x, y = dated_points[insee]
        image = picture(client.get("/ogc/collections/visites_datees/map", {
            "bbox": f"{x - 50.5},{y - 50.5},{x + 50.5},{y + 50.5}", "bbox-crs": LAMBERT93,
            "crs": LAMBERT93, "width": 101, "height": 101, **query}))
        return image.convert("RGBA").getpixel((50, 50))[:3] == RED

    guerande, la_baule = "44069", "44055"
    assert red_at(guerande) and red_at(la_baule)
    assert red_at(guerande, datetime="2023-05-10") and not red_at(la_baule, datetime="2023-05-10")
    assert not red_at(guerande, datetime="2024-01-01/..") and red_at(la_baule,
                                                                    datetime="2024-01-01/..")
    assert red_at(guerande, datetime="../2024-01-01") and not red_at(
        la_baule, datetime="../2024-01-01")
    assert not red_at(guerande, datetime="2019-01-01/2020-01-01")
    items = document(client.get("/ogc/collections/visites_datees/items",
                                {"datetime": "2024-01-01/.."}))
    assert [f["properties"]["libelle"] for f in items["features"]] == ["La Baule"]
    # A collection without a temporal property is drawn whole.
    whole = client.get("/ogc/collections/communes/map", {"width": 64})
    dated = client.get("/ogc/collections/communes/map", {"width": 64, "datetime": "2020-01-01"})
    assert picture(dated).tobytes() == picture(whole).tobytes()
