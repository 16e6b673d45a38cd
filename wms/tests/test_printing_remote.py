"""Prints with remote catalogue layers (a viewer's basemap): the platform's own WMS, registered
as a remote service (live_server), cascaded into the print like GetMap does; a remote layer that
does not answer is left out and named, never failing the print."""
import io
import json

import pytest
from django.test import Client
from PIL import Image, ImageChops
from pypdf import PdfReader

from layers.models import Layer
from layers.remote.publish import publish, register_service
from layers.tests.remote_support import allow_local, closed_port, live_demo, remote  # noqa: F401
from maps.printing import compose
from wms.printing.params import parse
from maps import legend, renderer
from maps.compose import FAILED_HEADER
from maps.sources import cache

LAMBERT_BOX = [276000.0, 6700000.0, 300000.0, 6716000.0]


@pytest.fixture
def distant(remote):
    renderer.clear_cache()
    legend.clear_cache()
    cache.clear_cache()
    service, _created = register_service(remote + "/ows", "wms")
    communes = publish(service.layers.get(identifier="communes"), name="distant_communes",
                       audience="public")
    yield communes
    cache.clear_cache()


def print_png(layers):
    body = {"format": "png", "crs": "EPSG:2154", "bbox": LAMBERT_BOX, "dpi": 72,
            "layers": [{"name": name} for name in layers]}
    response = Client().post("/carte/impression/", json.dumps(body),
                             content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    request = parse(body)
    size = compose.map_pixels(request, compose.layout(request).map_frame)
    picture = Image.open(io.BytesIO(response.content)).convert("RGB")
    return response, picture.crop((0, 0, *size))


def test_remote_layer_prints_like_the_local_one(distant):
    _response, cascaded = print_png(["distant_communes"])
    _response, direct = print_png(["communes"])
    difference = ImageChops.difference(cascaded, direct).convert("L")
    # Same drawing (the remote is this very WMS); resampling may move a few edge pixels.
    changed = sum(difference.point(lambda v: 255 if v > 40 else 0).histogram()[255:])
    assert changed < 0.01 * direct.width * direct.height


def test_unreachable_remote_layer_is_left_out_and_named(distant):
    remote_layer = distant.remote_layer
    remote_layer.metadata["getmap_url"] = f"http://127.0.0.1:{closed_port()}/ows"
    remote_layer.save()
    response, _map = print_png(["distant_communes", "mairies"])
    assert response[FAILED_HEADER] == "distant_communes"
    body = {"format": "pdf", "crs": "EPSG:2154", "bbox": LAMBERT_BOX, "dpi": 72,
            "layers": [{"name": "distant_communes"}, {"name": "mairies"}]}
    response = Client().post("/carte/impression/", json.dumps(body),
                             content_type="application/json")
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "distant_communes" in text and "indisponibles" in text
    assert Layer.objects.filter(name="distant_communes").exists()
