"""POST /carte/impression/: PDF pages and PNG images of catalogue layers under the access policy,
and French 400s for every bad request (never a 500).

Mapnik reads committed rows only: drawing tests use the committed ``wms_world`` of conftest.py.
"""
import base64
import io
import json

import pytest
from django.test import Client
from PIL import Image
from pypdf import PdfReader

from accounts.models import User
from layers.testing import GUERANDE, LA_BAULE
from maps.printing import compose
from maps.printing.ground import fit_bbox, ground_width, north_angle
from wms.printing.params import parse

from .conftest import RED, fill_style, make_style, near, pixel_of, transform_box
from .test_wms_access import halls, scenario_box

URL = "/carte/impression/"
POINTS_PER_MM = 72 / 25.4
# A box of Guérande and La Baule in Web Mercator (the viewer's CRS).
GUERANDE_LONLAT = (-2.50, 47.25, -2.35, 47.36)


def client_for(username="anonymous"):
    client = Client()
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def post(client, body, raw=None):
    return client.post(URL, raw if raw is not None else json.dumps(body),
                       content_type="application/json")


def body(names, **fields):
    return {"title": "Carte de test", "format": "pdf", "paper": "A4", "orientation": "landscape",
            "crs": "EPSG:2154", "bbox": list(scenario_box()),
            "layers": [{"name": name, "style": "", "opacity": 1.0} for name in names], **fields}


def non_white_share(picture):
    grey = picture.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[250:]) / (picture.width * picture.height)


# --- drawing ------------------------------------------------------------------------------------
class TestDrawing:
    @pytest.mark.parametrize("paper,orientation,size_mm", [
        ("A4", "landscape", (297, 210)), ("A4", "portrait", (210, 297)),
        ("A3", "landscape", (420, 297)), ("A3", "portrait", (297, 420)),
    ])
    def test_pdf_page_size_title_legend_and_sources(self, communes_layer, paper, orientation,
                                                    size_mm):
        bbox = transform_box(GUERANDE_LONLAT, 4326, 3857)
        response = post(client_for(), {
            "title": "Communes « test »", "format": "pdf", "paper": paper,
            "orientation": orientation, "crs": "EPSG:3857", "bbox": list(bbox),
            "layers": [{"name": "wms_communes"}]})
        assert response.status_code == 200, response.content[:300]
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert 'filename="communes-test.pdf"' in response["Content-Disposition"]
        assert "private" in response["Cache-Control"]
        page = PdfReader(io.BytesIO(response.content)).pages[0]
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)) == size_mm
        text = page.extract_text()
        for words in ("Communes « test »", "C@p Géo — Cap Atlantique", "Légende",
                      "Communes (test WMS)", "IGN – ADMIN EXPRESS", "Échelle 1:"):
            assert words in text, (words, text)
        # The map is the page's largest image, and something is drawn on it.
        images = sorted(page.images, key=lambda i: len(i.data), reverse=True)
        assert images and non_white_share(images[0].image) > 0.2

    def test_a_long_legend_continues_on_further_pages(self, communes_layer):
        from territory.models import Commune

        make_style(communes_layer, {
            "kind": "categorized", "attribute": "insee",
            "categories": [{"value": c.insee, "title": c.name, "symbol": [
                {"type": "polygon", "fill": RED, "fill_opacity": 1}]}
                for c in Commune.objects.order_by("name")],
        }, name="par_commune", default=False)
        bbox = transform_box(GUERANDE_LONLAT, 4326, 3857)
        response = post(client_for(), {
            "title": "Légende longue", "format": "pdf", "paper": "A4",
            "orientation": "landscape", "crs": "EPSG:3857", "bbox": list(bbox),
            "layers": [{"name": "wms_communes", "style": "par_commune"}] * 4})
        assert response.status_code == 200, response.content[:300]
        pages = PdfReader(io.BytesIO(response.content)).pages
        assert len(pages) == 2
        first, second = (page.extract_text() for page in pages)
        assert "Suite de la légende page suivante." in first
        assert "Légende longue — légende (suite)" in second and "Page 2" in second
        # Each of the four legends is printed once, whole (titles are text, legends images).
        assert first.count("Communes (test WMS)") == 1
        assert second.count("Communes (test WMS)") == 3
        assert len(pages[1].images) >= 1

    def test_png_is_map_legend_and_scale_bar(self, communes_layer):
        bbox = transform_box(GUERANDE_LONLAT, 4326, 3857)
        response = post(client_for(), {"format": "png", "crs": "EPSG:3857", "bbox": list(bbox),
                                       "layers": [{"name": "wms_communes"}]})
        assert response.status_code == 200, response.content[:300]
        assert response["Content-Type"] == "image/png"
        picture = Image.open(io.BytesIO(response.content)).convert("RGB")
        request = parse({"format": "png", "crs": "EPSG:3857", "bbox": list(bbox),
                         "layers": ["wms_communes"]})
        map_w, map_h = compose.map_pixels(request, compose.layout(request).map_frame)
        assert picture.width > map_w and picture.height >= map_h  # the legend is on the right
        assert non_white_share(picture.crop((0, 0, map_w, map_h))) > 0.2
        assert non_white_share(picture.crop((map_w, 0, picture.width, 80))) > 0.01  # legend

    def test_opacity_zero_draws_nothing(self, communes_layer):
        response = post(client_for(), body(["wms_communes"], format="png",
                                           layers=[{"name": "wms_communes", "opacity": 0}]))
        assert response.status_code == 200
        picture = Image.open(io.BytesIO(response.content)).convert("RGB")
        request = parse(body(["wms_communes"], format="png"))
        map_w, map_h = compose.map_pixels(request, compose.layout(request).map_frame)
        # Only the scale bar and north arrow on white.
        assert non_white_share(picture.crop((0, 0, map_w, map_h))) < 0.05

    def test_row_filter_of_the_user_applies(self, scenario):
        make_style(scenario["acces_territoire"], fill_style(RED, "point", size=40))
        request_body = body(["acces_territoire"], format="png")
        request = parse(request_body)
        map_w, map_h = compose.map_pixels(request, compose.layout(request).map_frame)
        box = fit_bbox(request.bbox, map_w, map_h)
        where = {insee: pixel_of(x, y, box, map_w, map_h) for insee, (x, y) in halls().items()}

        def drawn(username):
            response = post(client_for(username), request_body)
            assert response.status_code == 200, response.content[:300]
            picture = Image.open(io.BytesIO(response.content)).convert("RGBA")
            return {insee for insee, pixel in where.items() if near(picture.getpixel(pixel), RED)}

        assert drawn("agent.labaule") == {LA_BAULE}
        assert drawn("agent.guerande") == {GUERANDE}
        assert drawn("controleur.spanc") == {GUERANDE, LA_BAULE}

    def test_restricted_layer_answers_like_an_unknown_one(self, scenario):
        anonymous = client_for()
        refused = post(anonymous, body(["acces_guerande"]))
        unknown = post(anonymous, body(["nexiste_pas"]))
        assert refused.status_code == unknown.status_code == 400
        assert refused.json()["error"].replace("acces_guerande", "X") == \
            unknown.json()["error"].replace("nexiste_pas", "X")
        assert "inconnue" in refused.json()["error"]
        # The agent of Guérande may print it.
        assert post(client_for("agent.guerande"), body(["acces_guerande"])).status_code == 200
        # A commune-restricted rule gives nothing to anonymous visitors.
        assert post(anonymous, body(["acces_territoire"])).status_code == 400

    def test_unknown_style_is_a_french_400(self, communes_layer):
        response = post(client_for(), body(["wms_communes"],
                                           layers=[{"name": "wms_communes", "style": "aucun"}]))
        assert response.status_code == 400
        assert "style" in response.json()["error"]


# --- measures ------------------------------------------------------------------------------------
def test_ground_width_is_true_distance_on_the_ground():
    # 10 km of Lambert-93 is 10 km on the ground (scale error below 0.1 % here).
    assert abs(ground_width((290000, 6700000, 300000, 6710000), 2154) - 10000) < 20
    # 10 km of Web Mercator at 47.3° N is cos(47.3°) × 10 km on the ground.
    x0, y0 = -278000, 5990000  # about -2.5°, 47.3°
    measured = ground_width((x0, y0, x0 + 10000, y0 + 10000), 3857)
    assert 6700 < measured < 6830
    # In degrees, along the parallel.
    assert abs(ground_width((-2.5, 47.3, -2.4, 47.4), 4326) - 7560) < 40


def test_north_arrow_points_to_true_north():
    assert north_angle((-280000, 5980000, -260000, 6000000), 3857) == 0
    # Lambert-93 at Guérande, 5.4° west of the central meridian: the meridians converge towards
    # it, so true north leans clockwise by n·Δλ ≈ 3.9°.
    angle = north_angle((280000, 6700000, 300000, 6720000), 2154)
    assert 3.5 < angle < 4.3


def test_nice_lengths_and_labels():
    assert [compose.nice_length(v) for v in (7, 149, 3400, 0.4)] == [5, 100, 2000, 0.2]
    assert compose.distance_label(2000) == "2 km" and compose.distance_label(500) == "500 m"


def test_fitted_box_keeps_its_centre_and_the_frame_aspect():
    box = fit_bbox((0, 0, 100, 10), 200, 100)
    assert box == (0, -20, 100, 30)


# --- bad requests ---------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("json", "{not json", ["JSON"]),
    ("list", "[1, 2]", ["JSON"]),
    ("nan", '{"bbox": [NaN, 0, 1, 1], "layers": ["communes"]}', ["JSON"]),
    ("bbox-text", {"bbox": "0,0,1,1"}, ["quatre nombres"]),
    ("bbox-null", {"bbox": [0, None, 1, 1]}, ["quatre nombres"]),
    ("bbox-order", {"bbox": [300000, 6700000, 290000, 6710000]}, ["minx"]),
    ("bbox-world", {"crs": "EPSG:3857", "bbox": [-2e7, -2e7, 2e7, 2e7]}, ["domaine"]),
    ("bbox-huge", {"crs": "EPSG:4326", "bbox": [-20, 35, 30, 70]}, ["trop grande"]),
    ("bbox-tiny", {"bbox": [290000, 6700000, 290001, 6700001]}, ["trop petite"]),
    ("bbox-thin", {"bbox": [200000, 6700000, 300000, 6700100]}, ["étirée"]),
    ("paper", {"paper": "A0"}, ["paper", "A4"]),
    ("orientation", {"orientation": "diagonal"}, ["orientation"]),
    ("format", {"format": "svg"}, ["format"]),
    ("crs", {"crs": "EPSG:27572"}, ["crs"]),
    ("dpi", {"dpi": 10000}, ["dpi"]),
    ("dpi-bool", {"dpi": True}, ["dpi"]),
    ("title", {"title": ["a"]}, ["titre"]),
    ("no-layers", {"layers": []}, ["layers"]),
    ("too-many", {"layers": ["communes"] * 50}, ["Trop de couches"]),
    ("layer-shape", {"layers": [{"nom": "communes"}]}, ["name"]),
    ("opacity", {"layers": [{"name": "communes", "opacity": 2}]}, ["opacité"]),
    ("unknown", {"layers": ["'; DROP TABLE x; --"]}, ["inconnue"]),
]


@pytest.mark.parametrize("case,change,words", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_are_french_400s(client, db, case, change, words):
    if isinstance(change, str):
        response = client.post(URL, change, content_type="application/json")
    else:
        response = post(client, {**body(["communes"]), **change})
    assert response.status_code == 400, response.content[:300]
    message = response.json()["error"]
    for word in words:
        assert word in message, (case, message)


def test_too_many_pixels_is_refused(client, db, settings):
    response = post(client, body(["communes"], paper="A3", dpi=300))
    assert response.status_code == 400
    assert "Image trop grande" in response.json()["error"]
    settings.CAPGEO_PRINT_MAX_PIXELS = 10_000
    response = post(client, body(["communes"]))
    assert response.status_code == 400 and "au plus 10 000" in response.json()["error"]


def test_oversized_body_and_get_are_refused(client, db):
    response = client.post(URL, "x" * 70000, content_type="application/json")
    assert response.status_code == 400 and "volumineuse" in response.json()["error"]
    response = client.get(URL)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_session_posts_need_the_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="agent.guerande"))
    response = post(client, body(["communes"], paper="A0"))
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    # With the token of the viewer's page (cookie + header), the request goes through.
    client.get("/carte/")
    token = client.cookies["csrftoken"].value
    response = client.post(URL, json.dumps(body(["communes"], paper="A0")),
                           content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400 and "paper" in response.json()["error"]


def test_scripts_without_session_need_no_csrf_token(db):
    # Anonymous, and desktop credentials sent with each request (Basic here).
    anonymous = Client(enforce_csrf_checks=True)
    assert post(anonymous, body(["communes"], paper="A0")).status_code == 400
    basic = "Basic " + base64.b64encode(b"agent.guerande:demo-capgeo").decode()
    response = anonymous.post(URL, json.dumps(body(["communes"], paper="A0")),
                              content_type="application/json", headers={"Authorization": basic})
    assert response.status_code == 400 and "paper" in response.json()["error"]
