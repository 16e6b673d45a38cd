"""Named styles in the cached tiles: WMTS Style (REST {Style}, KVP STYLE), capabilities, TMS,
seeding, and access (a style never reveals or leaks a layer)."""
import io

import pytest
from django.core.management import call_command
from owslib.wmts import WebMapTileService
from PIL import Image

from layers.testing import GUERANDE, LA_BAULE

from .conftest import fill_style, make_style
from .test_tiles import (POLYGON_FILL, close, login, png, rest_tile, scenario,  # noqa: F401
                         squares, tiles_dir, town_hall, webmercator_tile)

RED = "#d7301f"
BLUE = "#2b5cbe"
CAPABILITIES = "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml"
GRID = "GoogleMapsCompatible"


@pytest.fixture
def styled(squares):
    """The squares (default style "vert", green) with a second named style "rouge"."""
    make_style(squares, fill_style(RED), name="rouge", title="Carrés en rouge", default=False)
    return squares


def styled_tile(client, style, z=15, layer="carres_tuiles", insee=GUERANDE):
    col, row, i, j = webmercator_tile(*town_hall(insee), z)
    response = client.get(f"/mapproxy/wmts/{layer}/{style}/{GRID}/{z}/{col}/{row}.png")
    return response, (i, j)


def kvp_tile(client, style, z=15, layer="carres_tuiles", insee=GUERANDE):
    col, row, i, j = webmercator_tile(*town_hall(insee), z)
    response = client.get("/mapproxy/service", {
        "SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": layer,
        "STYLE": style, "TILEMATRIXSET": GRID, "TILEMATRIX": str(z), "TILEROW": str(row),
        "TILECOL": str(col), "FORMAT": "image/png"})
    return response, (i, j)


def test_capabilities_offer_each_style_with_title_and_legend(client, styled):
    response = client.get(CAPABILITIES)
    assert response.status_code == 200
    wmts = WebMapTileService("http://testserver" + CAPABILITIES, xml=response.content)
    # The style's own tile layer is folded into its layer, not listed beside it.
    assert "carres_tuiles" in wmts.contents and "carres_tuiles.rouge" not in wmts.contents
    layer = wmts.contents["carres_tuiles"]
    assert layer.abstract == "Deux carrés de test."  # the catalogue's, MapProxy leaves it empty
    assert set(layer.styles) == {"default", "rouge"}
    assert layer.styles["default"]["isDefault"] is True
    assert layer.styles["rouge"]["title"] == "Carrés en rouge"
    assert not layer.styles["rouge"].get("isDefault")
    # The REST template has the {Style} a client fills in.
    template = layer.resourceURLs[0]["template"]
    assert template.startswith("http://testserver/mapproxy/wmts/carres_tuiles/{Style}/")
    # Each LegendURL is the WMS legend of that style: green for the default, red for "rouge".
    for style, colour in (("default", POLYGON_FILL), ("rouge", RED)):
        href = layer.styles[style]["legend"]
        assert href.startswith("http://testserver/ows?")
        legend = client.get(href.removeprefix("http://testserver"))
        assert legend.status_code == 200 and legend["Content-Type"] == "image/png"
        picture = Image.open(io.BytesIO(legend.content)).convert("RGBA")
        assert any(close(pixel, colour) for pixel in picture.get_flattened_data()), style


@pytest.mark.parametrize("fetch", [styled_tile, kvp_tile], ids=["rest", "kvp"])
def test_a_named_style_draws_its_own_colours(client, styled, fetch):
    for style, colour in (("rouge", RED), ("default", POLYGON_FILL), ("vert", POLYGON_FILL)):
        response, pixel = fetch(client, style)
        assert close(png(response).getpixel(pixel), colour), style
    # The address without a style (before styles were offered) is the default style.
    col, row, i, j = webmercator_tile(*town_hall(GUERANDE), 15)
    assert close(png(rest_tile(client, "carres_tuiles", GRID, 15, col, row)).getpixel((i, j)),
                 POLYGON_FILL)


def test_each_style_has_its_own_cache(client, styled, tiles_dir):
    for style in ("rouge", "default"):
        assert styled_tile(client, style)[0].status_code == 200
    caches = sorted(p.name for p in (tiles_dir / "caches" / "carres_tuiles").iterdir())
    assert caches == ["carres_tuiles", "carres_tuiles.rouge"]


@pytest.mark.parametrize("fetch", [styled_tile, kvp_tile], ids=["rest", "kvp"])
def test_unknown_style_is_a_wmts_exception(client, styled, fetch):
    response, _pixel = fetch(client, "inconnu")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/xml")
    text = response.content.decode()
    assert 'exceptionCode="InvalidParameterValue"' in text and 'locator="style"' in text
    assert "inconnu" in text


def test_tms_lists_each_style_as_a_tile_map(client, styled):
    listing = client.get("/mapproxy/tms/1.0.0/").content.decode()
    assert "/mapproxy/tms/1.0.0/carres_tuiles.rouge/GoogleMapsCompatible" in listing
    col, row, i, j = webmercator_tile(*town_hall(GUERANDE), 15)
    image = png(client.get(f"/mapproxy/tms/1.0.0/carres_tuiles.rouge/{GRID}/14/{col}/"
                           f"{(1 << 15) - 1 - row}.png"))
    assert close(image.getpixel((i, j)), RED)


def test_a_style_change_shows_in_its_tiles(client, styled):
    response, pixel = styled_tile(client, "rouge")
    assert close(png(response).getpixel(pixel), RED)
    rouge = styled.styles.get(name="rouge")
    rouge.definition = fill_style("#000000")
    rouge.save()  # purges the layer's caches once committed
    response, pixel = styled_tile(client, "rouge")
    assert close(png(response).getpixel(pixel), "#000000")


def test_seed_a_named_style(styled, tiles_dir):
    out = io.StringIO()
    call_command("seed_tiles", "carres_tuiles", "--zoom", "12-13", "--style", "rouge", "--here",
                 stdout=out, stderr=io.StringIO())
    assert "style rouge" in out.getvalue()
    seeded = list((tiles_dir / "caches" / "carres_tuiles" / "carres_tuiles.rouge" / GRID)
                  .rglob("*.png"))
    assert seeded
    assert not (tiles_dir / "caches" / "carres_tuiles" / "carres_tuiles").exists()


def test_seed_an_unknown_style_fails_clearly(styled):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="style"):
        call_command("seed_tiles", "carres_tuiles", "--zoom", "12", "--style", "inconnu",
                     stdout=io.StringIO(), stderr=io.StringIO())


# --- access --------------------------------------------------------------------------------------

def test_a_restricted_layer_style_is_refused_like_an_unknown_layer(client, scenario):
    """An anonymous request for a restricted layer's style, known or not, gets the unknown-layer
    answer: the style check never runs for a layer the user may not see."""
    make_style(scenario["acces_guerande"], fill_style(RED, "point"), name="rouge", default=False)
    unknown, _pixel = styled_tile(client, "rouge", layer="couche_inconnue")
    assert unknown.status_code in (400, 404)
    for style in ("rouge", "inconnu", "default"):
        for fetch in (styled_tile, kvp_tile):
            response, _pixel = fetch(client, style, layer="acces_guerande")
            assert response.status_code == unknown.status_code, (style, fetch)
            assert not response["Content-Type"].startswith("image/")
        response, _pixel = styled_tile(client, style, layer="acces_guerande")
        assert (response.content.replace(b"acces_guerande", b"X")
                == unknown.content.replace(b"couche_inconnue", b"X"))
    assert b"acces_guerande" not in client.get(CAPABILITIES).content
    assert b"acces_guerande" not in client.get("/mapproxy/tms/1.0.0/").content
    direct = client.get(f"/mapproxy/tms/1.0.0/acces_guerande.rouge/{GRID}/14/0/0.png")
    assert direct.status_code in (400, 403, 404)


def test_a_commune_restricted_style_uses_its_commune_cache(client, scenario, tiles_dir):
    layer = scenario["acces_territoire"]
    make_style(layer, fill_style(BLUE, "point"), name="bleu", default=True)
    make_style(layer, fill_style(RED, "point"), name="rouge", default=False)
    login(client, "agent.labaule")
    # Guérande's town hall is not hers: an empty tile, even in the named style.
    response, _pixel = styled_tile(client, "rouge", layer=layer.name, insee=GUERANDE)
    assert png(response).getextrema()[3] == (0, 0)
    response, pixel = styled_tile(client, "rouge", layer=layer.name, insee=LA_BAULE)
    assert close(png(response).getpixel(pixel), RED)
    response, pixel = styled_tile(client, "default", layer=layer.name, insee=LA_BAULE)
    assert close(png(response).getpixel(pixel), BLUE)
    caches = sorted(p.name for p in (tiles_dir / "caches" / layer.name).iterdir())
    assert len(caches) == 2 and all(c.startswith(f"{layer.name}__{LA_BAULE}_") for c in caches)
    assert caches[1] == caches[0] + ".rouge"


def test_a_named_style_change_purges_only_its_own_tiles(client, styled, tiles_dir):
    for style in ("rouge", "default"):
        assert styled_tile(client, style)[0].status_code == 200
    caches = tiles_dir / "caches" / "carres_tuiles"
    assert sorted(p.name for p in caches.iterdir()) == ["carres_tuiles", "carres_tuiles.rouge"]
    rouge = styled.styles.get(name="rouge")
    rouge.title = "Rouge vif"
    rouge.save()
    assert sorted(p.name for p in caches.iterdir()) == ["carres_tuiles"]
    # The default style's change: every tile of the layer.
    assert styled_tile(client, "rouge")[0].status_code == 200
    vert = styled.styles.get(name="vert")
    vert.title = "Vert tendre"
    vert.save()
    assert not caches.exists() or list(caches.iterdir()) == []
