"""GetMap drawing: background and transparency, layer order, styles (single, categorised,
graduated, labels, scale ranges, SLD exported by QGIS), the per-worker Map cache."""
import pytest
from django.test import Client

from territory.models import TownHall
from layers.access import AccessPolicy
from layers.models import Permission
from layers.sld import import_sld
from layers.styles import compute_breaks
from maps import catalogue, renderer

from .conftest import (BLUE, GREEN, LONLAT_BOX, RED, image_of, make_style, near, pixel_of,
                       transform_box)



def hall(insee):
    location = TownHall.objects.get(commune__insee=insee).location
    return location.x, location.y


def around(x, y, half=6000):
    return (x - half, y - half, x + half, y + half)


def getmap(client, layers, box, styles="", size=(256, 256), **extra):
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layers,
              "STYLES": styles, "CRS": "EPSG:2154", "BBOX": ",".join(map(str, box)),
              "WIDTH": size[0], "HEIGHT": size[1], "FORMAT": "image/png", **extra}
    response = client.get("/ows", params)
    assert response.status_code == 200, response.content[:400]
    assert response["Content-Type"] == "image/png", response.content[:400]
    return image_of(response.content)


def colour_at(image, x, y, box):
    return image.getpixel(pixel_of(x, y, box, *image.size))


def test_background_transparency_and_bgcolor(communes_layer):
    client = Client()
    box = (200000, 6600000, 210000, 6610000)  # at sea, far from the data: empty, not an error
    image = getmap(client, "wms_communes", box)
    assert image.getcolors() == [(256 * 256, (255, 255, 255, 255))]
    image = getmap(client, "wms_communes", box, BGCOLOR="0x336699")
    assert image.getcolors() == [(256 * 256, (0x33, 0x66, 0x99, 255))]
    image = getmap(client, "wms_communes", box, TRANSPARENT="TRUE")
    assert all(colour[3] == 0 for _count, colour in image.getcolors())
    x, y = hall("44069")
    image = getmap(client, "wms_communes", around(x, y), TRANSPARENT="FALSE")
    assert all(colour[3] == 255 for _count, colour in image.getcolors(1 << 16))


def test_first_layer_drawn_at_the_bottom_and_styles_per_layer(communes_layer):
    make_style(communes_layer, {"kind": "single", "symbol": [
        {"type": "polygon", "fill": GREEN, "fill_opacity": 1}]}, name="vert", default=False)
    make_style(communes_layer, {"kind": "single", "symbol": [
        {"type": "polygon", "fill": BLUE, "fill_opacity": 1}]}, name="bleu", default=False)
    client = Client()
    x, y = hall("44069")
    box = around(x, y, 500)
    below_blue = getmap(client, "wms_communes,wms_communes", box, styles="vert,bleu")
    assert near(colour_at(below_blue, x, y, box), BLUE)
    below_green = getmap(client, "wms_communes,wms_communes", box, styles="bleu,vert")
    assert near(colour_at(below_green, x, y, box), GREEN)
    # Empty STYLES entries are the default style (the built-in one here: blue-grey fill).
    default = getmap(client, "wms_communes", box, styles="")
    assert not near(colour_at(default, x, y, box), GREEN)
    assert getmap(client, "wms_communes", box, styles="default").getpixel((128, 128)) == \
        default.getpixel((128, 128))


def test_image_stretched_to_the_requested_size(corner_square):
    box = transform_box(LONLAT_BOX, 4326, 2154)
    client = Client()
    for size in ((400, 100), (100, 400)):
        image = getmap(client, "wms_carre", box, size=size)
        assert image.size == size
        width, height = size
        assert near(image.getpixel((int(width * 0.15), int(height * 0.85))), RED)
        assert not near(image.getpixel((int(width * 0.85), int(height * 0.15))), RED)


def test_categorised_graduated_and_labels(communes_layer):
    client = Client()
    guerande, baule = hall("44069"), hall("44055")
    box = (min(guerande[0], baule[0]) - 3000, min(guerande[1], baule[1]) - 3000,
           max(guerande[0], baule[0]) + 3000, max(guerande[1], baule[1]) + 3000)
    make_style(communes_layer, {
        "kind": "categorized", "attribute": "insee",
        "categories": [{"value": "44069", "title": "Guérande", "symbol": [
                            {"type": "polygon", "fill": RED, "fill_opacity": 1}]},
                       {"value": "44055", "title": "La Baule", "symbol": [
                            {"type": "polygon", "fill": GREEN, "fill_opacity": 1}]}],
        "other": [{"type": "polygon", "fill": "#dddddd", "fill_opacity": 1}],
    }, name="categories", default=False)
    image = getmap(client, "wms_communes", box, styles="categories")
    assert near(colour_at(image, *guerande, box), RED)
    assert near(colour_at(image, *baule, box), GREEN)

    grant = AccessPolicy.for_user(None).grant("wms_communes", Permission.VIEW)
    breaks = compute_breaks(grant, "population", "quantile", 3)
    assert len(breaks) == 4 and breaks == sorted(breaks)
    equal = compute_breaks(grant, "population", "equal_interval", 4)
    assert equal[1] - equal[0] == pytest.approx(equal[4] - equal[3])
    make_style(communes_layer, {
        "kind": "graduated", "attribute": "population", "method": "quantile", "breaks": breaks,
        "colors": ["#ffffff", "#0000ff"], "symbol": [{"type": "polygon", "fill": "#000000",
                                                     "fill_opacity": 1}],
        "label": {"attribute": "nom", "size": 14, "color": "#000000",
                  "halo_color": "#ffffff", "halo_radius": 2},
    }, name="population", default=False)
    whole = communes_layer.extent.extent
    image = getmap(client, "wms_communes", whole, styles="population", size=(512, 512))
    colours = {colour[:3] for _count, colour in image.getcolors(1 << 18)}
    for ramp_colour in ((255, 255, 255), (128, 128, 255), (0, 0, 255)):
        assert ramp_colour in colours
    dark = sum(count for count, colour in image.getcolors(1 << 18) if max(colour[:3]) < 60)
    assert dark > 200, "labels written in black"


def test_scale_range(communes_layer):
    make_style(communes_layer, {"kind": "single", "max_scale": 50000, "symbol": [
        {"type": "polygon", "fill": RED, "fill_opacity": 1}]}, name="proche", default=False)
    client = Client()
    x, y = hall("44069")
    close = around(x, y, 500)          # about 1:14,000 in 256 px
    far = around(x, y, 20000)          # about 1:560,000
    assert near(colour_at(getmap(client, "wms_communes", close, styles="proche"), x, y, close), RED)
    far_image = getmap(client, "wms_communes", far, styles="proche")
    assert far_image.getcolors() == [(256 * 256, (255, 255, 255, 255))]


QGIS_SLD = """<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd" xmlns:se="http://www.opengis.net/se">
  <NamedLayer>
    <se:Name>wms_communes</se:Name>
    <UserStyle>
      <se:Name>wms_communes</se:Name>
      <se:FeatureTypeStyle>
        <se:Rule>
          <se:Name>Guérande</se:Name>
          <se:Description>
            <se:Title>Guérande</se:Title>
          </se:Description>
          <ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">
            <ogc:PropertyIsEqualTo>
              <ogc:PropertyName>insee</ogc:PropertyName>
              <ogc:Literal>44069</ogc:Literal>
            </ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <se:PolygonSymbolizer>
            <se:Fill>
              <se:SvgParameter name="fill">#e31a1c</se:SvgParameter>
            </se:Fill>
            <se:Stroke>
              <se:SvgParameter name="stroke">#232323</se:SvgParameter>
              <se:SvgParameter name="stroke-width">1</se:SvgParameter>
              <se:SvgParameter name="stroke-linejoin">bevel</se:SvgParameter>
              <se:SvgParameter name="stroke-dasharray">4 2</se:SvgParameter>
            </se:Stroke>
          </se:PolygonSymbolizer>
        </se:Rule>
        <se:Rule>
          <se:Name>La Baule-Escoublac</se:Name>
          <se:Description>
            <se:Title>La Baule-Escoublac</se:Title>
          </se:Description>
          <ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">
            <ogc:PropertyIsEqualTo>
              <ogc:PropertyName>insee</ogc:PropertyName>
              <ogc:Literal>44055</ogc:Literal>
            </ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <se:PolygonSymbolizer>
            <se:Fill>
              <se:SvgParameter name="fill">#33a02c</se:SvgParameter>
            </se:Fill>
            <se:Stroke>
              <se:SvgParameter name="stroke">#232323</se:SvgParameter>
              <se:SvgParameter name="stroke-width">1</se:SvgParameter>
            </se:Stroke>
          </se:PolygonSymbolizer>
        </se:Rule>
        <se:Rule>
          <se:Name>Grandes communes</se:Name>
          <se:Description>
            <se:Title>Plus de 10 000 habitants hors Guérande</se:Title>
          </se:Description>
          <ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">
            <ogc:And>
              <ogc:PropertyIsGreaterThan>
                <ogc:PropertyName>population</ogc:PropertyName>
                <ogc:Literal>10000</ogc:Literal>
              </ogc:PropertyIsGreaterThan>
              <ogc:Not>
                <ogc:PropertyIsEqualTo>
                  <ogc:PropertyName>nom</ogc:PropertyName>
                  <ogc:Literal>L'Ile d'Yeu "test"</ogc:Literal>
                </ogc:PropertyIsEqualTo>
              </ogc:Not>
            </ogc:And>
          </ogc:Filter>
          <se:MaxScaleDenominator>5000000</se:MaxScaleDenominator>
          <se:LineSymbolizer>
            <se:Stroke>
              <se:SvgParameter name="stroke">#1f78b4</se:SvgParameter>
              <se:SvgParameter name="stroke-width">3</se:SvgParameter>
            </se:Stroke>
          </se:LineSymbolizer>
        </se:Rule>
        <se:Rule>
          <se:Name>Autres</se:Name>
          <se:ElseFilter/>
          <se:PolygonSymbolizer>
            <se:Fill>
              <se:SvgParameter name="fill">#bbbbbb</se:SvgParameter>
            </se:Fill>
          </se:PolygonSymbolizer>
        </se:Rule>
        <se:Rule>
          <se:TextSymbolizer>
            <se:Label>
              <ogc:PropertyName>nom</ogc:PropertyName>
            </se:Label>
            <se:Font>
              <se:SvgParameter name="font-family">Open Sans</se:SvgParameter>
              <se:SvgParameter name="font-size">13</se:SvgParameter>
            </se:Font>
            <se:LabelPlacement>
              <se:PointPlacement>
                <se:AnchorPoint>
                  <se:AnchorPointX>0</se:AnchorPointX>
                  <se:AnchorPointY>0.5</se:AnchorPointY>
                </se:AnchorPoint>
              </se:PointPlacement>
            </se:LabelPlacement>
            <se:Halo>
              <se:Radius>2</se:Radius>
              <se:Fill>
                <se:SvgParameter name="fill">#ffffff</se:SvgParameter>
              </se:Fill>
            </se:Halo>
            <se:Fill>
              <se:SvgParameter name="fill">#000000</se:SvgParameter>
            </se:Fill>
            <se:VendorOption name="maxDisplacement">1</se:VendorOption>
          </se:TextSymbolizer>
        </se:Rule>
      </se:FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
"""


def test_qgis_sld_imports_and_renders(communes_layer):
    imported = import_sld(QGIS_SLD, communes_layer)
    assert [rule["title"] for rule in imported.definition["rules"]][:4] == [
        "Guérande", "La Baule-Escoublac", "Plus de 10 000 habitants hors Guérande", "Autres"]
    assert any("VendorOption" in warning for warning in imported.warnings)
    guerande_rule = imported.definition["rules"][0]
    assert guerande_rule["symbolizers"][0]["stroke_dasharray"] == [4.0, 2.0]
    make_style(communes_layer, imported.definition, name="qgis", title="Import QGIS",
               default=False, sld=QGIS_SLD, import_warnings=imported.warnings)
    client = Client()
    for insee, colour in (("44069", "#e31a1c"), ("44055", "#33a02c")):
        x, y = hall(insee)
        box = around(x, y, 300)
        image = getmap(client, "wms_communes", box, styles="qgis", size=(64, 64))
        assert near(image.getpixel((32, 32)), colour, 30), (insee, image.getpixel((32, 32)))
    whole = communes_layer.extent.extent
    image = getmap(client, "wms_communes", whole, styles="qgis", size=(512, 512))
    colours = [colour for _count, colour in image.getcolors(1 << 18)]
    for expected in ("#e31a1c", "#33a02c", "#bbbbbb", "#1f78b4"):
        assert any(near(colour, expected, 12) for colour in colours), expected
    # Its legend: one entry per drawing rule (not the label rule).
    legend = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic",
                                 "LAYER": "wms_communes", "STYLE": "qgis", "FORMAT": "image/png"})
    assert legend["Content-Type"] == "image/png"
    image = image_of(legend.content)
    assert 4 * 20 <= image.height < 4 * 30 + 10
    legend_colours = [colour for _count, colour in image.getcolors(1 << 16)]
    for expected in ("#e31a1c", "#33a02c", "#bbbbbb", "#1f78b4"):
        assert any(near(colour, expected, 12) for colour in legend_colours), expected


def test_maps_built_once_and_rebuilt_when_the_style_changes(communes_layer):
    style = make_style(communes_layer, {"kind": "single", "symbol": [
        {"type": "polygon", "fill": RED, "fill_opacity": 1}]}, name="cache")
    grant = AccessPolicy.for_user(None).grant("wms_communes", Permission.VIEW)
    served = catalogue.ServedLayer(grant, style)
    first = renderer.layer_map(served, 2154)
    assert renderer.layer_map(served, 2154) is first
    assert renderer.layer_map(served, 3857) is not first
    style.definition = {"kind": "single", "symbol": [
        {"type": "polygon", "fill": BLUE, "fill_opacity": 1}]}
    style.save()
    client = Client()
    x, y = hall("44069")
    box = around(x, y, 500)
    assert near(colour_at(getmap(client, "wms_communes", box), x, y, box), BLUE)
    served = catalogue.ServedLayer(grant, style)
    assert renderer.layer_map(served, 2154) is not first
