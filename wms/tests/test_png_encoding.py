"""maps.png: the same pixels as Mapnik's own PNG encoder, for opaque and translucent maps."""
import io

import pytest
from PIL import Image

from maps import png
from maps.mapnik_env import mapnik

MAP_XML = """<Map srs="epsg:3857" background-color="{background}">
  <Style name="s"><Rule>
    <PolygonSymbolizer fill="#3a87c8" fill-opacity="0.8"/>
    <LineSymbolizer stroke="#1d4f7a" stroke-width="1.3"/>
  </Rule></Style>
  <Layer name="l" srs="epsg:3857"><StyleName>s</StyleName>
    <Datasource>
      <Parameter name="type">geojson</Parameter>
      <Parameter name="inline">{{"type": "FeatureCollection", "features": [
        {{"type": "Feature", "properties": {{}}, "geometry": {{"type": "Polygon",
          "coordinates": [[[0, 0], [70, 10], [40, 90], [5, 60], [0, 0]]]}}}},
        {{"type": "Feature", "properties": {{}}, "geometry": {{"type": "Polygon",
          "coordinates": [[[50, 50], [100, 60], [95, 100], [50, 50]]]}}}}]}}</Parameter>
    </Datasource>
  </Layer>
</Map>"""


def rendered(background, width=97, height=61):
    """An anti-aliased map of two overlapping translucent polygons (odd sizes on purpose)."""
    the_map = mapnik.Map(width, height)
    mapnik.load_map_from_string(the_map, MAP_XML.format(background=background))
    the_map.zoom_to_box(mapnik.Box2d(-5, -5, 105, 105))
    image = mapnik.Image(width, height)
    mapnik.render(the_map, image)
    return image


def decoded(data):
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


@pytest.mark.parametrize("opaque, background, mode, mapnik_encoding", [
    (True, "#ffffff", "RGB", "png32:t=0"),
    (False, "transparent", "RGBA", "png32"),
])
def test_pixels_are_those_of_mapnik_encoder(opaque, background, mode, mapnik_encoding):
    ours = decoded(png.encode(rendered(background), opaque=opaque))
    theirs = decoded(rendered(background).to_string(mapnik_encoding))
    assert ours.mode == theirs.mode == mode
    assert ours.size == theirs.size == (97, 61)
    assert ours.tobytes() == theirs.tobytes()
    # Not a trivial picture: background, fill and anti-aliased edges.
    assert len(set(ours.get_flattened_data())) > 10


def test_second_encoding_of_a_translucent_image_is_unchanged():
    image = rendered("transparent")
    first = png.encode(image, opaque=False)
    assert png.encode(image, opaque=False) == first


def test_only_rgba8_images_are_encoded():
    with pytest.raises(ValueError):
        png.encode(mapnik.Image(8, 4, mapnik.ImageType.gray8), opaque=True)
