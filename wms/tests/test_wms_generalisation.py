"""Vertex-dense layers seen at small scales: the WMS reads their geometries generalised to 1/8 of
the requested pixel (wms.renderer.SIMPLIFY_PIXELS) in every CRS, and draws the same picture as
from the full geometries; polygons smaller than a few pixels are drawn unchanged; scale ranges
hold in every CRS (the Maps declare Mapnik's built-in srs)."""
import io
import math

import numpy
import pytest
from django.test import Client
from PIL import Image

from layers.access import AccessPolicy
from layers.models import Layer
from layers.styles import resolve_style
from layers.testing import make_vector_layer
from maps import renderer
from maps.crs import DOMAIN
from maps.mapnik_env import mapnik

from .conftest import PUBLIC_VIEW, RED, make_style, near, sql, transform_box

# Four wiggly "communes" (3 km across, 3,000 vertices each: a vertex every ~6 m, as in IGN's
# boundaries) in Cap Atlantique, and a box of ~26 km around them: ~100 m a pixel at 256 px.
CENTRES = [(283000, 6703000), (290000, 6703000), (283000, 6710000), (290000, 6710000)]
BOX_2154 = (273500, 6693500, 299500, 6719500)
VERTICES = 3000


def wiggly_ring(cx, cy, radius=3000):
    angles = numpy.linspace(0, 2 * math.pi, VERTICES, endpoint=False)
    r = radius + 60 * numpy.sin(17 * angles) + 8 * numpy.sin(233 * angles)
    points = [f"{cx + ri * math.cos(a):.2f} {cy + ri * math.sin(a):.2f}"
              for a, ri in zip(angles, r)]
    return f"POLYGON(({', '.join(points + points[:1])}))"


@pytest.fixture
def dense_layer(wms_world):
    rows = [{"nom": f"commune {i}", "geom": wiggly_ring(x, y)} for i, (x, y) in enumerate(CENTRES)]
    return make_vector_layer("wms_dense", "POLYGON", [("nom", "text")], rows, PUBLIC_VIEW,
                             title="Polygones denses")


def datasource_map(layer, srid, table=None):
    """The renderer's Map of the layer in its default style; `table`: another subquery."""
    style = resolve_style(layer)
    source = AccessPolicy.for_user(None).source(layer)
    parameters = renderer.postgis_parameters(source, style, srid)
    if table is not None:
        parameters["table"] = table
    return renderer.new_map(renderer.map_xml(layer, style, srid, parameters))


def full_geometries(layer, srid):
    """The subquery the renderer used before generalising: every vertex, reprojected."""
    geometry = "t.geom" if srid == 2154 else f"ST_Transform(t.geom, {srid})"
    domain = ",".join(map(str, DOMAIN[srid]))
    box = ("!bbox!" if srid == 2154 else
           f"ST_Transform(ST_ClipByBox2D(!bbox!, ST_MakeEnvelope({domain}, {srid})), 2154)")
    return (f"(SELECT t.fid, {geometry} AS geom FROM {layer.qualified_table} t "
            f"WHERE t.geom && {box}) AS data")


@pytest.mark.parametrize("srid", [2154, 3857, 4326])
def test_small_scale_reads_geometries_generalised_to_an_eighth_of_a_pixel(dense_layer, srid):
    minx, miny, maxx, maxy = transform_box(BOX_2154, 2154, srid)
    pixel = (maxx - minx) / 256, (maxy - miny) / 256
    datasource = datasource_map(dense_layer, srid).layers[0].datasource
    query = mapnik.Query(mapnik.Box2d(minx, miny, maxx, maxy), (1 / pixel[0], 1 / pixel[1]), 1.0)
    read = {feature.id(): feature.geometry.to_wkb(mapnik.wkbByteOrder.NDR)
            for feature in datasource.features(query)}
    assert len(read) == len(CENTRES)
    for fid, wkb in read.items():
        vertices, deviation = sql(
            f"SELECT ST_NPoints(g), ST_HausdorffDistance(ST_Transform(t.geom, %s), g) FROM "
            f"{dense_layer.qualified_table} t, ST_SetSRID(ST_GeomFromWKB(%s), %s) g "
            f"WHERE t.fid = %s",
            [srid, wkb, srid, fid])[0]
        # A vertex every ~6 m where a pixel is ~100 m: most are dropped…
        assert vertices < VERTICES / 5
        # …and the outline moves by at most 1/8 of a pixel (Lambert-93's scale error and degrees
        # of longitude against latitude allowed for).
        assert deviation <= min(pixel) / 8 * 1.5


@pytest.mark.parametrize("srid", [2154, 3857])
def test_generalised_picture_is_the_full_geometries_picture(dense_layer, srid):
    box = transform_box(BOX_2154, 2154, srid)
    response = Client().get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "wms_dense",
        "STYLES": "", "CRS": f"EPSG:{srid}", "BBOX": ",".join(map(str, box)), "WIDTH": 256,
        "HEIGHT": 256, "FORMAT": "image/png"})
    assert response.status_code == 200, response.content[:300]
    served = numpy.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=int)
    reference_map = datasource_map(dense_layer, srid, full_geometries(dense_layer, srid))
    reference_map.zoom_to_box(mapnik.Box2d(*box))
    image = mapnik.Image(256, 256)
    image.fill(mapnik.Color(255, 255, 255, 255))
    image.premultiply()
    mapnik.render(reference_map, image)
    reference = numpy.frombuffer(image.to_string(), numpy.uint8).reshape(256, 256, 4)[:, :, :3]
    difference = numpy.abs(served - reference)
    drawn = (reference != 255).any(axis=2).sum()
    assert drawn > 5000  # the polygons are in the picture
    # Anti-aliasing shifts of at most 1/8 pixel: faint differences along the outlines only.
    assert difference.mean() < 1
    assert (difference.max(axis=2) > 48).sum() <= 20


@pytest.fixture
def tiny_layer(wms_world):
    """2,000 buildings-sized polygons (8 to 24 vertices, 15 to 60 m), a fraction of a pixel each
    in the box of BOX_2154."""
    rows = sql("SELECT ST_AsText(ST_Buffer(ST_MakePoint(276000 + random() * 21000, "
               "6696000 + random() * 21000), 7.5 + random() * 22.5, 2 + mod(i, 5))) "
               "FROM generate_series(1, 2000) i")
    return make_vector_layer("wms_menus", "POLYGON", [], [{"geom": wkt} for (wkt,) in rows],
                             PUBLIC_VIEW, title="Petits polygones")


@pytest.mark.parametrize("srid", [2154, 3857])
def test_polygons_smaller_than_a_pixel_are_drawn_unchanged(tiny_layer, srid):
    # Generalised, they would collapse into flat rings, stroked as darker dots.
    box = transform_box(BOX_2154, 2154, srid)
    response = Client().get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "wms_menus",
        "STYLES": "", "CRS": f"EPSG:{srid}", "BBOX": ",".join(map(str, box)), "WIDTH": 256,
        "HEIGHT": 256, "FORMAT": "image/png"})
    assert response.status_code == 200, response.content[:300]
    served = numpy.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=int)
    reference_map = datasource_map(tiny_layer, srid, full_geometries(tiny_layer, srid))
    reference_map.zoom_to_box(mapnik.Box2d(*box))
    image = mapnik.Image(256, 256)
    image.fill(mapnik.Color(255, 255, 255, 255))
    image.premultiply()
    mapnik.render(reference_map, image)
    reference = numpy.frombuffer(image.to_string(), numpy.uint8).reshape(256, 256, 4)[:, :, :3]
    assert (reference != 255).any(axis=2).sum() > 2000
    assert numpy.abs(served - reference).max() <= 4


@pytest.mark.parametrize("code", ["EPSG:2154", "EPSG:3857", "EPSG:4326"])
def test_scale_range_in_every_crs(dense_layer, code):
    make_style(Layer.objects.get(name="wms_dense"), {
        "kind": "single", "max_scale": 50000,
        "symbol": [{"type": "polygon", "fill": RED, "fill_opacity": 1}]}, name="proche")
    srid = int(code.split(":")[1])
    x, y = CENTRES[0]
    client = Client()

    def getmap(half):  # about 1:14,000 (half = 500 m) and 1:560,000 (20 km) in 256 px
        box = transform_box((x - half, y - half, x + half, y + half), 2154, srid)
        if srid == 4326:  # WMS 1.3.0: latitude first
            box = (box[1], box[0], box[3], box[2])
        response = client.get("/ows", {
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "wms_dense",
            "STYLES": "proche", "CRS": code, "BBOX": ",".join(map(str, box)), "WIDTH": 256,
            "HEIGHT": 256, "FORMAT": "image/png"})
        assert response.status_code == 200, response.content[:300]
        return Image.open(io.BytesIO(response.content)).convert("RGBA")

    assert near(getmap(500).getpixel((128, 128)), RED)
    assert getmap(20000).getcolors() == [(256 * 256, (255, 255, 255, 255))]
