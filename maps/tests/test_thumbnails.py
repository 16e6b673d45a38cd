"""Thumbnails are drawn by the map renderer in the layer's default style, and follow publications
and style changes (rendered again in the import job and once a style change commits)."""
import io

import pytest
from PIL import Image

from layers.models import AccessRule, Audience, ImportJob, Layer, Permission, Style
from layers.publishing import prepare_import, run_import
from layers.styles import DEFAULT_POINT_FILL
from maps.thumbnails import OUTLINE, PUBLIC, render_thumbnail_png

from layers.tests.test_publishing_support import (TEST_PREFIX, admin_user, drop_test_staging_tables,  # noqa: F401
                                      media_root, town_halls_geojson)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drop_test_staging_tables", "media_root")]
NAME = f"{TEST_PREFIX}vignettes"
RED, GREEN = "#e31a1c", "#1a9850"


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def colours(png):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _count, colour in image.getcolors(maxcolors=256 * 256)}


def stored_png(layer):
    layer.refresh_from_db()
    with layer.thumbnail.open("rb") as stored:
        return stored.read()


def point_style(colour):
    return {"kind": "single", "symbol": [{"type": "point", "mark": "circle", "size": 12,
                                          "fill": colour, "stroke": None}]}


def publish(tmp_path, mode="create"):
    source = town_halls_geojson(tmp_path / f"mairies-{mode}.geojson")
    job = prepare_import(user=admin_user(), path=source, source_name="mairies.geojson",
                         layer_name=NAME, mode=mode)
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    return Layer.objects.get(name=NAME)


def test_a_publication_renders_the_thumbnail_in_the_job(tmp_path, django_capture_on_commit_callbacks):
    layer = publish(tmp_path)
    # Not public yet: the job drew the outline only.
    assert layer.thumbnail.name.endswith(f"-{OUTLINE}.png")
    assert hex_rgb(DEFAULT_POINT_FILL) not in colours(stored_png(layer))

    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    with django_capture_on_commit_callbacks(execute=True):
        Style.objects.create(layer=layer, name="rouge", title="Rouge", is_default=True,
                             kind="single", definition=point_style(RED))
    # The style change re-rendered it, public now, in the style's colour.
    layer.refresh_from_db()
    assert layer.thumbnail.name.endswith(f"-{PUBLIC}.png")
    assert hex_rgb(RED) in colours(stored_png(layer))

    # The style changes without a signal (a bulk update): only a new publication shows it.
    Style.objects.filter(layer=layer).update(definition=point_style(GREEN))
    assert hex_rgb(RED) in colours(stored_png(layer))
    layer = publish(tmp_path, mode="replace")
    found = colours(stored_png(layer))
    assert hex_rgb(GREEN) in found and hex_rgb(RED) not in found


def test_the_thumbnail_uses_the_same_style_as_the_wms(tmp_path, django_capture_on_commit_callbacks):
    layer = publish(tmp_path)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    # No style of its own: the WMS's built-in default for points.
    assert hex_rgb(DEFAULT_POINT_FILL) in colours(render_thumbnail_png(layer))
    with django_capture_on_commit_callbacks(execute=True):
        style = Style.objects.create(layer=layer, name="vert", title="Vert", is_default=True,
                                     kind="single", definition=point_style(GREEN))
    assert hex_rgb(GREEN) in colours(stored_png(layer))
    with django_capture_on_commit_callbacks(execute=True):
        style.delete()
    found = colours(stored_png(layer))
    assert hex_rgb(DEFAULT_POINT_FILL) in found and hex_rgb(GREEN) not in found


def test_a_restricted_layer_shows_its_outline_whatever_its_style(tmp_path,
                                                                  django_capture_on_commit_callbacks):
    layer = publish(tmp_path)
    AccessRule.objects.create(layer=layer, audience=Audience.AUTHENTICATED,
                              permission=Permission.VIEW)
    with django_capture_on_commit_callbacks(execute=True):
        Style.objects.create(layer=layer, name="rouge", title="Rouge", is_default=True,
                             kind="single", definition=point_style(RED))
    layer.refresh_from_db()
    assert layer.thumbnail.name.endswith(f"-{OUTLINE}.png")
    assert hex_rgb(RED) not in colours(stored_png(layer))


def test_rows_changed_in_place_make_the_thumbnail_stale(tmp_path, django_capture_on_commit_callbacks):
    """WFS-T and field sync edit rows in place (no new publication): the next time the thumbnail
    is shown it is drawn again from the current rows; until then nothing is re-rendered."""
    from django.db import connection

    from layers.tables import DATA_SCHEMA, qualified, refresh_layer_metadata
    from maps.thumbnails import current_thumbnail

    layer = publish(tmp_path)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    with django_capture_on_commit_callbacks(execute=True):
        Style.objects.create(layer=layer, name="rouge", title="Rouge", is_default=True,
                             kind="single", definition=point_style(RED))
    layer.refresh_from_db()
    stored_at = layer.thumbnail.storage.get_modified_time(layer.thumbnail.name)
    before, variant = current_thumbnail(layer)
    assert variant == PUBLIC and before == stored_png(layer)
    assert layer.thumbnail.storage.get_modified_time(layer.thumbnail.name) == stored_at

    # Every town hall moved 3 km east, as a WFS-T Update would (metadata refreshed, no publication).
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qualified(DATA_SCHEMA, NAME)} SET geom = ST_Translate(geom, 3000, 0)")
    refresh_layer_metadata(layer)
    layer.refresh_from_db()
    after, _variant = current_thumbnail(layer)
    assert after != before
    assert after == render_thumbnail_png(layer) == stored_png(layer)
    assert hex_rgb(RED) in colours(after)


def test_a_layer_restricted_to_communes_shows_the_territory_only(tmp_path,
                                                                 django_capture_on_commit_callbacks):
    """Shown to users restricted to their commune's rows, the thumbnail must not outline the
    whole layer's extent: the territory only, framed on the territory."""
    from layers.models import RowRestriction
    from maps.thumbnails import TERRITORY, _frame, thumbnail_variant

    layer = publish(tmp_path)
    AccessRule.objects.create(layer=layer, audience=Audience.AUTHENTICATED,
                              permission=Permission.VIEW,
                              row_restriction=RowRestriction.COMMUNE_TERRITORY)
    assert thumbnail_variant(layer) == TERRITORY
    assert _frame(layer, TERRITORY) == _frame(type(layer)(name="x"))
    found = colours(render_thumbnail_png(layer))
    assert hex_rgb("#1f5f8b") not in found  # no outline


def test_a_public_thumbnail_never_shows_the_classes_of_a_column_hidden_from_the_public(
        tmp_path, django_capture_on_commit_callbacks):
    """Shown to everyone, the thumbnail is drawn as the anonymous public sees the layer: a style
    classed on a column hidden from him falls to the layer's default symbol; its file name
    records the hidden columns, so hiding one more makes the stored one stale."""
    from maps.thumbnails import current_thumbnail, thumbnail_filename

    layer = publish(tmp_path)
    rule = AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC,
                                     permission=Permission.VIEW)
    categories = [{"value": name, "title": name, "symbol": point_style(colour)["symbol"]}
                  for name, colour in (("Mairie de Guérande", RED),
                                       ("Mairie de La Baule", GREEN))]
    with django_capture_on_commit_callbacks(execute=True):
        Style.objects.create(layer=layer, name="noms", title="Par nom", is_default=True,
                             kind="categorized", definition={
                                 "kind": "categorized", "attribute": "nom",
                                 "categories": categories, "other": None})
    shown = colours(stored_png(layer))
    assert hex_rgb(RED) in shown and hex_rgb(GREEN) in shown
    plain = layer.thumbnail.name

    rule.columns = {"nom": "hidden", "habitants": "read"}
    rule.save()
    layer.refresh_from_db()
    assert thumbnail_filename(layer, PUBLIC) != plain.rsplit("/", 1)[-1]
    png, variant = current_thumbnail(layer)
    assert variant == PUBLIC
    found = colours(png)
    assert hex_rgb(DEFAULT_POINT_FILL) in found
    assert hex_rgb(RED) not in found and hex_rgb(GREEN) not in found
