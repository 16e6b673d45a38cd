"""Remote catalogue layers through the platform's WMS: the platform itself (live_server) is the
remote WMS and WMTS; a remote layer drawn, queried and legended by cascading must match the
direct answer for the layer it cascades."""
import io

import pytest
from PIL import Image, ImageChops

from accounts.models import User
from territory.models import Commune
from layers.models import AccessRule, Audience, Layer, Permission, RemoteLayer
from layers.remote.publish import publish, register_service
from layers.tests.remote_support import allow_local, closed_port, live_demo, remote  # noqa: F401
from maps import legend, renderer
from maps.compose import FAILED_HEADER
from maps.sources import cache

from .conftest import transform_box, transform_point

LAMBERT_BOX = (276000.0, 6700000.0, 300000.0, 6716000.0)  # Guérande, La Baule, Le Croisic


@pytest.fixture
def caches():
    renderer.clear_cache()
    legend.clear_cache()
    cache.clear_cache()
    yield
    cache.clear_cache()


@pytest.fixture
def distant(remote, caches):
    """The platform's own WMS registered as a remote service; its communes and town halls
    published (public) as distant_communes and distant_mairies."""
    service, _created = register_service(remote + "/ows", "wms")
    communes = publish(service.layers.get(identifier="communes"), name="distant_communes",
                       audience="public")
    mairies = publish(service.layers.get(identifier="mairies"), name="distant_mairies",
                      audience="public", usage=Layer.Usage.OVERLAY)
    return communes, mairies


def getmap(client, layers, crs="EPSG:2154", box=LAMBERT_BOX, version="1.3.0", size=(320, 214),
           headers=None, **extra):
    params = {"SERVICE": "WMS", "REQUEST": "GetMap", "VERSION": version,
              "CRS" if version == "1.3.0" else "SRS": crs, "BBOX": ",".join(map(repr, box)),
              "WIDTH": size[0], "HEIGHT": size[1], "LAYERS": layers, "STYLES": "",
              "FORMAT": "image/png", **extra}
    return client.get("/ows", params, headers=headers)


def picture(response):
    assert response["Content-Type"] == "image/png", response.content[:400]
    return Image.open(io.BytesIO(response.content)).convert("RGBA")


def premultiplied(image):
    """The colour of a fully transparent pixel does not matter: compare premultiplied."""
    black = Image.new("RGBA", image.size, (0, 0, 0, 0))
    return Image.alpha_composite(black, image)


def assert_same_pixels(a, b, tolerance=3):
    assert a.size == b.size
    difference = ImageChops.difference(premultiplied(a), premultiplied(b))
    worst = max(high for _low, high in difference.getextrema())
    assert worst <= tolerance, f"pixels differ by up to {worst}"
    assert len(a.getcolors(1 << 20)) > 2  # something is drawn


@pytest.mark.parametrize("crs,version", [("EPSG:2154", "1.3.0"), ("EPSG:3857", "1.3.0"),
                                         ("EPSG:4326", "1.3.0"), ("EPSG:4326", "1.1.1"),
                                         ("CRS:84", "1.3.0")])
def test_cascaded_getmap_equals_the_direct_rendering(client, distant, crs, version):
    srid = 4326 if crs == "CRS:84" else int(crs.split(":")[1])
    box = transform_box(LAMBERT_BOX, 2154, srid)
    if crs == "EPSG:4326" and version == "1.3.0":
        box = (box[1], box[0], box[3], box[2])
    for transparent in ("TRUE", "FALSE"):
        direct = picture(getmap(client, "communes,mairies", crs, box, version,
                                TRANSPARENT=transparent))
        cascaded = getmap(client, "distant_communes,distant_mairies", crs, box, version,
                          TRANSPARENT=transparent)
        assert FAILED_HEADER not in cascaded
        assert_same_pixels(picture(cascaded), direct)


def test_remote_and_local_layers_are_composited_in_the_requested_order(client, distant):
    for order in ("distant_communes,mairies", "communes,distant_mairies"):
        mixed = picture(getmap(client, order, BGCOLOR="0x336699"))
        direct = picture(getmap(client, "communes,mairies", BGCOLOR="0x336699"))
        assert_same_pixels(mixed, direct)
    # The other way round, the communes are drawn over the town halls.
    above = picture(getmap(client, "distant_mairies,communes"))
    assert_same_pixels(above, picture(getmap(client, "mairies,communes")))


def test_jpeg_and_background(client, distant):
    response = getmap(client, "distant_communes", FORMAT="image/jpeg", BGCOLOR="0x00FF00")
    assert response["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.getpixel((2, 2))[1] > 200  # the green background where no commune is drawn


@pytest.mark.parametrize("crs,version", [("EPSG:3857", "1.3.0"), ("EPSG:4326", "1.1.1"),
                                         ("CRS:84", "1.3.0")])
def test_a_crs_the_remote_layer_lacks_is_warped_from_one_it_offers(client, distant, crs, version):
    communes, _mairies = distant
    RemoteLayer.objects.filter(pk=communes.remote_layer_id).update(crs=["EPSG:2154"])
    srid = 4326 if crs == "CRS:84" else int(crs.split(":")[1])
    box = transform_box(LAMBERT_BOX, 2154, srid)
    direct = picture(getmap(client, "communes", crs, box, version, TRANSPARENT="TRUE"))
    response = getmap(client, "distant_communes", crs, box, version, TRANSPARENT="TRUE")
    assert FAILED_HEADER not in response
    warped = picture(response)
    assert warped.size == direct.size
    # Asked in Lambert-93 and warped: the same coverage, give or take anti-aliased edges.
    assert coverage_difference(warped, direct) < 0.02
    assert len(warped.getcolors(1 << 20)) > 2


def test_feature_info_of_a_warped_remote_layer_is_asked_at_the_same_place(client, distant):
    communes, _mairies = distant
    RemoteLayer.objects.filter(pk=communes.remote_layer_id).update(crs=["EPSG:2154"])
    guerande = Commune.objects.get(insee="44069").geom.point_on_surface
    box = transform_box(LAMBERT_BOX, 2154, 3857)
    x, y = transform_point(guerande.x, guerande.y, 2154, 3857)
    i = int((x - box[0]) / (box[2] - box[0]) * 320)
    j = int((box[3] - y) / (box[3] - box[1]) * 214)
    answer = client.get("/ows", {
        "SERVICE": "WMS", "REQUEST": "GetFeatureInfo", "VERSION": "1.3.0", "CRS": "EPSG:3857",
        "BBOX": ",".join(map(repr, box)), "WIDTH": 320, "HEIGHT": 214,
        "LAYERS": "distant_communes", "QUERY_LAYERS": "distant_communes", "STYLES": "",
        "INFO_FORMAT": "application/json", "I": i, "J": j, "FEATURE_COUNT": 5}).json()
    assert [f["properties"]["insee"] for f in answer["features"]] == ["44069"]


def test_crs_none_of_which_the_remote_layer_offers_is_refused(client, distant):
    communes, _mairies = distant
    RemoteLayer.objects.filter(pk=communes.remote_layer_id).update(crs=["EPSG:27572"])
    response = getmap(client, "distant_communes", "EPSG:3857",
                      transform_box(LAMBERT_BOX, 2154, 3857))
    assert b'code="InvalidCRS"' in response.content
    assert "n'est pas proposée dans le système EPSG:3857" in response.content.decode()
    assert "EPSG:27572" in response.content.decode()


def test_unreachable_remote_leaves_the_layer_blank_and_says_so(client, distant):
    communes, _mairies = distant
    remote_layer = communes.remote_layer
    remote_layer.metadata["getmap_url"] = f"http://127.0.0.1:{closed_port()}/ows"
    remote_layer.save()
    response = getmap(client, "distant_communes,mairies", TRANSPARENT="TRUE")
    assert response[FAILED_HEADER] == "distant_communes"
    # The local layer is still drawn, alone.
    assert_same_pixels(picture(response), picture(getmap(client, "mairies", TRANSPARENT="TRUE")))


def test_cascade_depth_is_bounded(client, distant):
    response = getmap(client, "distant_communes", headers={"X-CapGeo-Cascade-Depth": "2"})
    assert response[FAILED_HEADER] == "distant_communes"


def test_answers_are_cached_briefly(client, distant, settings):
    getmap(client, "distant_communes")
    assert len(cache.answers.items) == 1
    getmap(client, "distant_communes")
    assert len(cache.answers.items) == 1
    cache.clear_cache()
    settings.CAPGEO_REMOTE_CACHE_SECONDS = 0
    getmap(client, "distant_communes")
    assert not cache.answers.items


def test_access_policy_applies_to_remote_layers(client, distant):
    communes, _mairies = distant
    AccessRule.objects.filter(layer=communes).delete()
    AccessRule.objects.create(layer=communes, audience=Audience.ROLES,
                              roles=["municipal_agent"], permission=Permission.VIEW)
    capabilities = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities"})
    assert b"<Name>distant_mairies</Name>" in capabilities.content
    assert b"distant_communes" not in capabilities.content
    response = getmap(client, "distant_communes")
    assert b'code="LayerNotDefined"' in response.content
    client.force_login(User.objects.get(username="agent.guerande"))
    capabilities = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities"})
    assert b"<Name>distant_communes</Name>" in capabilities.content
    assert getmap(client, "distant_communes")["Content-Type"] == "image/png"


def test_capabilities_advertise_remote_layers_with_their_metadata(client, distant):
    from owslib.wms import WebMapService

    body = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                               "VERSION": "1.3.0"}).content
    wms = WebMapService("http://testserver/ows", version="1.3.0", xml=body)
    layer = wms["distant_communes"]
    assert layer.title == "Communes de Cap Atlantique"
    assert layer.queryable == 1
    assert "INSEE" in layer.keywords
    # The remote layer's own styles (the demo communes' named styles), each legended here.
    assert {"limites", "population"} <= set(layer.styles)
    assert "LAYER=distant_communes" in layer.styles["limites"]["legend"]
    assert "STYLE=population" in layer.styles["population"]["legend"]
    west, south, east, north = layer.boundingBoxWGS84
    assert -2.7 < west < east < -2.1 and 47.1 < south < north < 47.6


def test_cascaded_legend_is_the_remote_legend(client, distant):
    params = {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "FORMAT": "image/png"}
    direct = client.get("/ows", {**params, "LAYER": "communes"})
    cascaded = client.get("/ows", {**params, "LAYER": "distant_communes"})
    assert cascaded["Content-Type"] == "image/png", cascaded.content[:300]
    assert_same_pixels(picture(cascaded), picture(direct), tolerance=0)
    unknown = client.get("/ows", {**params, "LAYER": "distant_communes", "STYLE": "nope"})
    assert b'code="StyleNotDefined"' in unknown.content


def feature_info(client, layers, info_format, i, j, box=LAMBERT_BOX, size=(320, 214)):
    return client.get("/ows", {
        "SERVICE": "WMS", "REQUEST": "GetFeatureInfo", "VERSION": "1.3.0", "CRS": "EPSG:2154",
        "BBOX": ",".join(map(repr, box)), "WIDTH": size[0], "HEIGHT": size[1],
        "LAYERS": layers, "QUERY_LAYERS": layers, "STYLES": "", "INFO_FORMAT": info_format,
        "I": i, "J": j, "FEATURE_COUNT": 5})


def test_cascaded_feature_info(client, distant):
    guerande = Commune.objects.get(insee="44069").geom.point_on_surface
    minx, miny, maxx, maxy = LAMBERT_BOX
    i = int((guerande.x - minx) / (maxx - minx) * 320)
    j = int((maxy - guerande.y) / (maxy - miny) * 214)
    answer = feature_info(client, "distant_communes", "application/json", i, j).json()
    assert [f["properties"]["insee"] for f in answer["features"]] == ["44069"]
    assert answer["features"][0]["layer"] == "distant_communes"
    html = feature_info(client, "distant_communes", "text/html", i, j).content.decode()
    assert "Guérande" in html and "<script" not in html
    gml = feature_info(client, "distant_communes", "application/vnd.ogc.gml", i, j).content
    assert b"44069" in gml


def coverage_difference(a, b):
    """Share of pixels covered (alpha > 128) in one image and not in the other."""
    def covered(image):
        return image.getchannel("A").point(lambda v: 255 if v > 128 else 0)

    return ImageChops.difference(covered(a), covered(b)).histogram()[255] / (a.width * a.height)


def test_wfs_remote_layer_drawn_from_its_features(client, remote, caches):
    service, _created = register_service(remote + "/ows", "wfs")
    identifier = next(i for i in service.layers.values_list("identifier", flat=True)
                      if i.split(":")[-1] == "communes")
    layer = publish(service.layers.get(identifier=identifier), name="wfs_communes",
                    audience="public")
    assert layer.extent is not None and not layer.queryable
    capabilities = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities"})
    assert b"<Name>wfs_communes</Name>" in capabilities.content
    # Drawn here with the built-in style: its legend (one row per geometry family) is ours.
    from owslib.wms import WebMapService

    wms = WebMapService("http://testserver/ows", xml=capabilities.content, version="1.3.0")
    legend_href = wms.contents["wfs_communes"].styles["default"]["legend"]
    legend = client.get(legend_href.removeprefix("http://testserver"))
    assert legend.status_code == 200 and legend["Content-Type"] == "image/png"
    legend_image = picture(legend)
    assert legend_image.height > 3 * 20 and len(legend_image.getcolors(1 << 20)) > 10
    for srid in (2154, 3857):
        box = transform_box(LAMBERT_BOX, 2154, srid)
        cascaded = getmap(client, "wfs_communes", f"EPSG:{srid}", box, TRANSPARENT="TRUE")
        assert FAILED_HEADER not in cascaded
        direct = picture(getmap(client, "communes", f"EPSG:{srid}", box, TRANSPARENT="TRUE"))
        drawn = picture(cascaded)
        assert drawn.getbbox() is not None
        assert coverage_difference(drawn, direct) < 0.02
    # In WGS 84 the features are asked in a projected CRS (axis order is unreliable in GeoJSON
    # from WFS servers) and the picture warped.
    box = transform_box(LAMBERT_BOX, 2154, 4326)
    response = getmap(client, "wfs_communes", "EPSG:4326", box, version="1.1.1", TRANSPARENT="TRUE")
    assert FAILED_HEADER not in response
    direct = picture(getmap(client, "communes", "EPSG:4326", box, version="1.1.1",
                            TRANSPARENT="TRUE"))
    assert coverage_difference(picture(response), direct) < 0.03


# --- WMTS ---------------------------------------------------------------------------------------
def mercator_tile_box(col, row, zoom):
    span = 2 * 20037508.342789244 / 2 ** zoom
    left = -20037508.342789244 + col * span
    top = 20037508.342789244 - row * span
    return (left, top - span, left + span, top)


@pytest.fixture
def tiled(remote, caches):
    Layer.objects.filter(name="communes").update(cacheable=True)
    service, _created = register_service(remote + "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml",
                                         "wmts")
    return publish(service.layers.get(identifier="communes"), name="tuiles_communes",
                   usage=Layer.Usage.BASEMAP, audience="public")


def test_wmts_layer_drawn_from_its_tiles(client, tiled):
    # A GetMap box that is exactly one Web Mercator tile: the tile itself.
    guerande = Commune.objects.get(insee="44069").geom.point_on_surface
    x, y = transform_point(guerande.x, guerande.y, 2154, 3857)
    zoom = 12
    span = 2 * 20037508.342789244 / 2 ** zoom
    col, row = int((x + 20037508.342789244) // span), int((20037508.342789244 - y) // span)
    box = mercator_tile_box(col, row, zoom)
    tile = client.get(f"/mapproxy/wmts/communes/GoogleMapsCompatible/{zoom}/{col}/{row}.png")
    assert tile.status_code == 200
    cascaded = getmap(client, "tuiles_communes", "EPSG:3857", box, size=(256, 256),
                      TRANSPARENT="TRUE")
    assert FAILED_HEADER not in cascaded
    tile_image = Image.open(io.BytesIO(b"".join(tile.streaming_content) if tile.streaming
                                       else tile.content)).convert("RGBA")
    assert tile_image.getbbox() is not None  # the commune is drawn on it
    assert_same_pixels(picture(cascaded), tile_image, tolerance=1)
    # Any box: mosaicked from several tiles, resampled; close to the direct rendering.
    box = transform_box(LAMBERT_BOX, 2154, 3857)
    direct = picture(getmap(client, "communes", "EPSG:3857", box, TRANSPARENT="TRUE"))
    mosaic = picture(getmap(client, "tuiles_communes", "EPSG:3857", box, TRANSPARENT="TRUE"))
    assert mosaic.getbbox() is not None
    assert coverage_difference(direct, mosaic) < 0.03


def test_wmts_lambert93_and_warped_crs(client, tiled):
    response = getmap(client, "tuiles_communes", TRANSPARENT="TRUE")
    assert FAILED_HEADER not in response
    assert picture(response).getbbox() is not None
    # No WGS 84 tile matrix set: drawn from the Lambert-93 tiles, warped.
    box = transform_box(LAMBERT_BOX, 2154, 4326)
    response = getmap(client, "tuiles_communes", "EPSG:4326", box, version="1.1.1",
                      TRANSPARENT="TRUE")
    assert FAILED_HEADER not in response
    direct = picture(getmap(client, "communes", "EPSG:4326", box, version="1.1.1",
                            TRANSPARENT="TRUE"))
    assert coverage_difference(picture(response), direct) < 0.03


def test_wmts_without_any_served_crs_is_refused(client, tiled):
    remote = tiled.remote_layer
    metadata = dict(remote.metadata)
    metadata["tile_matrix_sets"] = {name: {**tms, "crs": "EPSG:27572"}
                                    for name, tms in metadata["tile_matrix_sets"].items()}
    RemoteLayer.objects.filter(pk=remote.pk).update(metadata=metadata)
    response = getmap(client, "tuiles_communes", "EPSG:4326",
                      transform_box(LAMBERT_BOX, 2154, 4326), version="1.1.1")
    assert b'code="InvalidSRS"' in response.content


def test_the_viewer_identifies_on_queryable_remote_wms_layers(client, distant):
    """The web map asks /ows GetFeatureInfo only of layers marked queryable in its
    configuration: a queryable remote WMS layer is (the WMS relays the question)."""
    from django.urls import reverse

    config = client.get(reverse("webmap:config")).json()
    entries = {entry["name"]: entry for theme in config["themes"] for entry in theme["layers"]}
    assert entries["distant_communes"]["queryable"] is True
    assert entries["communes"]["queryable"] is True
