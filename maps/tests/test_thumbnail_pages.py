"""A catalogue layer's thumbnail page (/catalogue/<layer>/vignette.png): drawn for whoever may
view the layer, never showing rows some viewers may not see."""
import io

import pytest
from PIL import Image

from layers.models import AccessRule, Audience, Layer
from layers.styles import DEFAULT_POINT_FILL as POINT_FILL  # demo town halls: no style of their own
from layers.testing import SCENARIO_EXPECTED_ROWS
from maps.thumbnails import OUTLINE_STROKE, PUBLIC, TERRITORY, render_thumbnail

pytestmark = pytest.mark.django_db
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # thumbnails written by the tests stay out of var/media
    return tmp_path


@pytest.fixture
def client_for(client, scenario_user):
    def login(username):
        if username != "anonymous":
            client.force_login(scenario_user(username))
        return client
    return login


def colours(png):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _count, colour in image.getcolors(maxcolors=256 * 256)}


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_thumbnail_is_a_real_png_with_features(client):
    response = client.get("/catalogue/mairies/vignette.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    png = response.content
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    assert image.size == (256, 256)
    found = colours(png)
    assert len(found) > 10
    assert hex_rgb(POINT_FILL) in found  # the town halls are drawn
    assert "public" in response["Cache-Control"]


@pytest.mark.parametrize("username", list(SCENARIO_EXPECTED_ROWS))
def test_thumbnail_404_for_invisible_layers(access_scenario, client_for, username):
    client = client_for(username)
    for name in access_scenario:
        response = client.get(f"/catalogue/{name}/vignette.png")
        assert response.status_code == (200 if name in SCENARIO_EXPECTED_ROWS[username] else 404)


def test_restricted_layer_thumbnail_shows_only_the_territory(client_for):
    """installations_anc has rules restricting agents to their commune's rows: its thumbnail
    (the same for every viewer) draws no installation and no outline of the whole extent."""
    response = client_for("controleur.spanc").get("/catalogue/installations_anc/vignette.png")
    assert response.status_code == 200 and response.content.startswith(PNG_SIGNATURE)
    assert hex_rgb(POINT_FILL) not in colours(response.content)  # no installation drawn
    assert hex_rgb(OUTLINE_STROKE) not in colours(response.content)  # no extent outline
    assert len(colours(response.content)) > 3
    assert "private" in response["Cache-Control"]
    layer = Layer.objects.get(name="installations_anc")
    assert layer.thumbnail.name.endswith(f"-{TERRITORY}.png")


def test_thumbnail_follows_rule_changes(client, scenario_user, media_root):
    layer = Layer.objects.get(name="mairies")
    assert render_thumbnail(layer).endswith(f"-{PUBLIC}.png")
    # The public rule now covers only each user's commune: anonymous visitors lose the layer,
    # and connected viewers must no longer get the full picture rendered while it was public.
    AccessRule.objects.filter(layer=layer).update(row_restriction="commune_territory",
                                                  audience=Audience.AUTHENTICATED)
    assert client.get("/catalogue/mairies/vignette.png").status_code == 404
    client.force_login(scenario_user("agent.labaule"))
    response = client.get("/catalogue/mairies/vignette.png")
    assert response.status_code == 200
    assert hex_rgb(POINT_FILL) not in colours(response.content)
    layer.refresh_from_db()
    assert layer.thumbnail.name.endswith(f"-{TERRITORY}.png")  # restricted rows: no outline
    assert not (media_root / "thumbnails" / f"mairies-{PUBLIC}.png").exists()
