"""Thumbnails of vector layers (PNG, 256×256): the layer in its default style, drawn by the map
renderer (maps.renderer) over the commune boundaries.

A thumbnail is shown to everyone who may view the layer, so it must not reveal rows some of them
may not see. Its features are read through the policy's Grant of an *anonymous* visitor: a layer
whose rows are all public is drawn in full; any other layer (no public rule, or public rows
restricted) is drawn as its extent outline only, and a layer some users see restricted to their
commune's rows shows the territory only (its whole extent would tell them where the rows they may
not see lie). The file name records that variant, so a thumbnail made while a layer was public is
never served once its rules have been tightened.

The renderer reads the rows on Django's connection (its ``rows=True`` drawing: the Grant's row
filter applies and a publication not yet committed is visible), generalised to the pixel size,
in the default style as the public may see it drawn (no class of a column hidden from him):
the output is bounded whatever the layer's size. A new publication (the layers.events.layer_published
signal) and a change of the default style render the thumbnail again (receivers connected by
maps.apps); rows changed in place
(WFS-T, field sync) make it stale, and it is drawn again when next shown (current_thumbnail).
"""
import hashlib
import logging
import os
from xml.sax.saxutils import quoteattr

from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.db import connection

from layers.access import AccessPolicy, LayerNotFound
from layers.models import Layer, Permission, RowRestriction

from .catalogue import ServedLayer, style_named
from .crs import crs_for
from .mapnik_env import mapnik
from .renderer import draw

log = logging.getLogger(__name__)

SIZE = 256
MARGIN = 0.06          # share of the extent added on each side
MIN_SPAN = 1000.0      # metres: a single point still gets some surroundings

PUBLIC, OUTLINE, TERRITORY = "public", "outline", "territory"

BACKGROUND = "#dce8f0"  # the sea around the peninsula
COMMUNE_FILL, COMMUNE_STROKE = "#f6f4ee", "#8d9aa6"
OUTLINE_STROKE = "#1f5f8b"

# Lambert-93 as a PROJ string: Mapnik's bundled PROJ cannot read Debian's proj.db (an older
# layout), so an "epsg:2154" code would fail; the map and its layers share this exact string,
# so nothing is reprojected and no PROJ database is needed.
LAMBERT93 = ("+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 "
             "+ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs")


def thumbnail_variant(layer):
    """PUBLIC when an anonymous visitor sees every row of the layer; else TERRITORY when a rule
    restricts some viewers to their commune's rows; else OUTLINE."""
    if _public_grant(layer) is not None:
        return PUBLIC
    if layer.access_rules.exclude(row_restriction=RowRestriction.NONE).exists():
        return TERRITORY
    return OUTLINE


def _public_grant(layer):
    try:
        grant = AccessPolicy.for_user(AnonymousUser()).source(layer, Permission.VIEW)
    except LayerNotFound:
        return None
    return None if grant.restricted else grant


def thumbnail_filename(layer, variant):
    """The file of a variant. A public thumbnail is drawn as the anonymous public sees the layer:
    its style without the classes of columns hidden from him (maps.catalogue.styled_for); the
    name records which columns those are, so hiding one more makes the stored one stale."""
    if variant == PUBLIC:
        grant = _public_grant(layer)
        hidden = sorted(c.name for c in grant.columns if not c.readable) if grant else []
        if hidden:
            digest = hashlib.sha256(",".join(hidden).encode()).hexdigest()[:8]
            return f"{layer.name}-{variant}-{digest}.png"
    return f"{layer.name}-{variant}.png"


def _frame(layer, variant=None):
    """(minx, miny, maxx, maxy) in EPSG:2154 around the layer (its data's Lambert-93 box,
    overseas rows included), or around the territory (no extent, or the TERRITORY variant)."""
    if layer.extent is not None and variant != TERRITORY:
        minx, miny, maxx, maxy = layer.extent.extent
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                           "FROM (SELECT ST_Extent(geom) e FROM territory_commune) s")
            minx, miny, maxx, maxy = cursor.fetchone()
            if minx is None:
                return (0.0, 0.0, MIN_SPAN, MIN_SPAN)
    span = max(maxx - minx, maxy - miny, MIN_SPAN)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = span * (0.5 + MARGIN)
    return (cx - half, cy - half, cx + half, cy + half)


def _geojson(cursor, sql, params):
    """A GeoJSON FeatureCollection, or None when empty (Mapnik's GeoJSON datasource refuses an
    empty collection: far from the territory, or zoomed out, no commune is left)."""
    cursor.execute(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg("
        "json_build_object('type', 'Feature', 'properties', json_build_object(), "
        "'geometry', ST_AsGeoJSON(g, 1)::json)))::text, count(*) "
        f"FROM ({sql}) AS generalised(g) WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)",
        params,
    )
    collection, count = cursor.fetchone()
    return collection if count else None


def _commune_geojson(cursor, frame, pixel):
    return _geojson(
        cursor,
        "SELECT ST_SnapToGrid(ST_Simplify(c.geom, %s), %s) FROM territory_commune c "
        "WHERE c.geom && ST_MakeEnvelope(%s, %s, %s, %s, 2154)",
        [pixel, pixel / 4, *frame],
    )


def _outline_geojson(cursor, layer):
    return _geojson(cursor, "SELECT ST_GeomFromEWKB(%s)", [bytes(layer.extent.ewkb)])


def _datasource(geojson):
    return (
        "<Datasource><Parameter name=\"type\">geojson</Parameter>"
        f"<Parameter name=\"inline\">{_escape(geojson)}</Parameter></Datasource>"
    )


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _map_xml(communes, outline):
    outline_layer = ""
    if outline is not None:
        outline_layer = (f'<Layer name="outline" srs={quoteattr(LAMBERT93)}>'
                         f"<StyleName>outline</StyleName>{_datasource(outline)}</Layer>")
    communes_layer = ""
    if communes is not None:
        communes_layer = (f'<Layer name="communes" srs={quoteattr(LAMBERT93)}>'
                          f"<StyleName>communes</StyleName>{_datasource(communes)}</Layer>")
    return f"""<?xml version="1.0" encoding="utf-8"?>
    <Map srs={quoteattr(LAMBERT93)} background-color={quoteattr(BACKGROUND)}>
      <Style name="communes"><Rule>
        <PolygonSymbolizer fill="{COMMUNE_FILL}"/>
        <LineSymbolizer stroke="{COMMUNE_STROKE}" stroke-width="0.6"/>
      </Rule></Style>
      <Style name="outline"><Rule>
        <PolygonSymbolizer fill="{OUTLINE_STROKE}" fill-opacity="0.12"/>
        <LineSymbolizer stroke="{OUTLINE_STROKE}" stroke-width="1.6" stroke-dasharray="5,3"/>
      </Rule></Style>
      {communes_layer}
      {outline_layer}
    </Map>"""


def _served(grant):
    """The layer in its default style, as a GetMap without STYLES draws it."""
    return ServedLayer(grant, style_named(grant.layer, ""))


def _ground(frame, size, outlined=None):
    """A size × size mapnik.Image of the territory's communes over frame, with the outline of
    the layer `outlined` (its extent's shape) when given."""
    with connection.cursor() as cursor:
        communes = _commune_geojson(cursor, frame, (frame[2] - frame[0]) / size)
        outline = _outline_geojson(cursor, outlined) if outlined is not None else None
    map_ = mapnik.Map(size, size)
    mapnik.load_map_from_string(map_, _map_xml(communes, outline))
    map_.aspect_fix_mode = mapnik.aspect_fix_mode.GROW_BBOX
    map_.zoom_to_box(mapnik.Box2d(*frame))
    image = mapnik.Image(size, size)
    mapnik.render(map_, image)
    return image


def render_thumbnail_png(layer, variant=None):
    """The PNG bytes of a layer's thumbnail (variant: PUBLIC, OUTLINE or TERRITORY, decided if
    None)."""
    grant = _public_grant(layer)
    if variant is None:
        variant = thumbnail_variant(layer)
    if variant == PUBLIC and grant is None:
        raise ValueError(f"{layer.name}: rows are not public, only an outline may be drawn")
    frame = _frame(layer, variant)
    drawn = layer.is_vector and layer.extent is not None
    image = _ground(frame, SIZE, layer if drawn and variant == OUTLINE else None)
    if drawn and variant == PUBLIC:
        draw([_served(grant)], crs_for("EPSG:2154", "1.3.0"), frame, image, rows=True)
    return image.to_string("png")


def rights_map_png(served, size=512):
    """The rows one user gets on a layer (served: his ServedLayer, maps.catalogue.resolve), in
    the default style as he sees it, over the territory's communes: the map of the admin's
    « Ce que voit un utilisateur » (drawn when asked, one layer at a time)."""
    frame = _frame(served.layer, TERRITORY)
    image = _ground(frame, size)
    # Shown to the administrator, not to the user: journaled as the administrator's read.
    draw([served], crs_for("EPSG:2154", "1.3.0"), frame, image, rows=True, journal=False)
    return image.to_string("png")


def render_thumbnail(layer):
    """Render and store a layer's thumbnail (call it after each publication); returns its name."""
    variant = thumbnail_variant(layer)
    png = render_thumbnail_png(layer, variant)
    if layer.thumbnail:
        layer.thumbnail.storage.delete(layer.thumbnail.name)
    target = f"{layer.thumbnail.field.upload_to}{thumbnail_filename(layer, variant)}"
    layer.thumbnail.storage.delete(target)  # a leftover would make the storage rename ours
    layer.thumbnail.save(thumbnail_filename(layer, variant), ContentFile(png), save=False)
    type(layer).objects.filter(pk=layer.pk).update(thumbnail=layer.thumbnail.name)
    return layer.thumbnail.name


def _is_current(layer, variant):
    """The stored thumbnail matches the layer's rules (its file name) and is not older than its
    data: rows edited in place (WFS-T, field sync, a restored version) make it stale, and it is
    drawn again when next asked for rather than on every edit."""
    if not layer.thumbnail or os.path.basename(layer.thumbnail.name) != thumbnail_filename(layer, variant):
        return False
    if layer.data_updated_at is None:
        return True
    try:
        drawn_at = layer.thumbnail.storage.get_modified_time(layer.thumbnail.name)
    except (FileNotFoundError, NotImplementedError):
        return False
    return drawn_at >= layer.data_updated_at


def current_thumbnail(layer):
    """(PNG bytes, variant): the stored thumbnail if it matches the layer's current rules and
    data, else a freshly rendered and stored one."""
    variant = thumbnail_variant(layer)
    if _is_current(layer, variant):
        try:
            with layer.thumbnail.open("rb") as stored:
                return stored.read(), variant
        except FileNotFoundError:
            pass
    render_thumbnail(layer)
    with layer.thumbnail.open("rb") as stored:
        return stored.read(), variant


def refresh_thumbnail(layer):
    """Render the layer's thumbnail again, logging instead of raising: a thumbnail must never
    make a publication or a style change fail."""
    try:
        return render_thumbnail(Layer.objects.select_related("theme").get(pk=layer.pk))
    except Exception:  # noqa: BLE001
        log.exception("Thumbnail of layer %s could not be rendered", layer.name)
        return None
