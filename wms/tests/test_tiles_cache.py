"""Tile caches: purge of the changed extent only, full purges, seed_tiles."""
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from layers.events import layer_data_changed
from layers.models import Publication, Style
from layers.styles import DEFAULT_FILL
from layers.testing import GUERANDE, LA_BAULE
from wms.tests.conftest import RED, fill_style, image_of, near
from wms.tests.test_tiles import (POLYGON_FILL, png, rest_tile, squares, tiles_dir,  # noqa: F401
                                  town_hall, webmercator_tile)
from wms.tiles.purge import purge_layer

GRID = "GoogleMapsCompatible"


def cached_tiles(tiles_dir, layer="carres_tuiles", grid=GRID):
    """{(level, col, row)} of the tiles stored in the layer's shared cache (XYZ rows)."""
    found = set()
    for path in (tiles_dir / "caches" / layer / layer / grid).rglob("*.png"):
        parts = path.with_suffix("").parts
        level = int(parts[-7])
        found.add((level, int("".join(parts[-6:-3])), int("".join(parts[-3:]))))
    return found


def fill(client, *points, z=15):
    tiles = set()
    for x, y in points:
        col, row, _i, _j = webmercator_tile(x, y, z)
        assert png(rest_tile(client, "carres_tuiles", GRID, z, col, row))
        tiles.add((z, col, row))
    return tiles


def around(x, y, half=50):
    return (x - half, y - half, x + half, y + half)


def test_edit_purges_the_changed_extent_only(client, squares, tiles_dir,
                                             django_capture_on_commit_callbacks):
    guerande, la_baule = town_hall(GUERANDE), town_hall(LA_BAULE)
    fill(client, guerande, la_baule, z=15)
    fill(client, guerande, la_baule, z=12)
    before = cached_tiles(tiles_dir)
    guerande_tiles = {t for t in before if t[1:] in
                      {webmercator_tile(*guerande, t[0])[:2]}}
    assert guerande_tiles and len(before) > len(guerande_tiles)
    with django_capture_on_commit_callbacks(execute=True):
        layer_data_changed.send(sender=None, layer=squares, bbox=around(*guerande))
    after = cached_tiles(tiles_dir)
    # The tiles holding the edit are gone at every level; La Baule's (7 km away) are kept.
    assert not guerande_tiles & after
    la_baule_z15 = (15, *webmercator_tile(*la_baule, 15)[:2])
    assert la_baule_z15 in after
    assert after == {t for t in before if not _meets(t, guerande)}
    # The next request renders the purged tile again.
    fill(client, guerande, z=15)
    assert (15, *webmercator_tile(*guerande, 15)[:2]) in cached_tiles(tiles_dir)


def _meets(tile, point):
    """Whether a cached tile is within 16 pixels of the 100 m box around point (as purged)."""
    level, col, row = tile
    x, y = point
    for dx in (-66, 0, 66):
        for dy in (-66, 0, 66):
            if webmercator_tile(x + dx, y + dy, level)[:2] == (col, row):
                return True
    return False


def test_edit_rolled_back_purges_nothing(client, squares, tiles_dir):
    fill(client, town_hall(GUERANDE))
    before = cached_tiles(tiles_dir)
    # The transaction is rolled back: on_commit never runs.
    with transaction.atomic():
        layer_data_changed.send(sender=None, layer=squares, bbox=around(*town_hall(GUERANDE)))
        transaction.set_rollback(True)
    assert cached_tiles(tiles_dir) == before


def tile_colour_at(client, x, y, z=15):
    col, row, i, j = webmercator_tile(x, y, z)
    return png(rest_tile(client, "carres_tuiles", GRID, z, col, row)).getpixel((i, j))


def getmap_colour_at(client, x, y):
    box = (x - 1000, y - 1000, x + 1000, y + 1000)
    response = client.get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "carres_tuiles",
        "STYLES": "", "CRS": "EPSG:2154", "BBOX": ",".join(map(str, box)), "WIDTH": 64,
        "HEIGHT": 64, "FORMAT": "image/png"})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return image_of(response.content).getpixel((32, 32))


def test_style_edit_purges_the_tiles_and_redraws_in_the_new_colours(client, squares, tiles_dir):
    x, y = town_hall(GUERANDE)
    assert near(tile_colour_at(client, x, y), POLYGON_FILL)
    assert near(getmap_colour_at(client, x, y), POLYGON_FILL)
    assert cached_tiles(tiles_dir)
    style = Style.objects.get(layer=squares, is_default=True)
    style.definition = fill_style(RED)
    style.save()  # committed at once (transactional test): the purge has run
    assert not (tiles_dir / "caches" / "carres_tuiles").exists()
    # Same worker, same thread: its cached Mapnik Map of the old style is not used again.
    assert near(getmap_colour_at(client, x, y), RED)
    assert near(tile_colour_at(client, x, y), RED)


def test_deleting_the_default_style_purges_and_falls_back_to_the_builtin_one(client, squares,
                                                                            tiles_dir):
    x, y = town_hall(LA_BAULE)
    assert near(tile_colour_at(client, x, y), POLYGON_FILL)
    Style.objects.filter(layer=squares).delete()
    assert not (tiles_dir / "caches" / "carres_tuiles").exists()
    assert near(tile_colour_at(client, x, y), DEFAULT_FILL)


def test_new_publication_purges_every_tile(client, squares, tiles_dir,
                                           django_capture_on_commit_callbacks):
    fill(client, town_hall(GUERANDE), town_hall(LA_BAULE))
    assert cached_tiles(tiles_dir)
    with django_capture_on_commit_callbacks(execute=True):
        Publication.objects.create(layer=squares, version=2, mode=Publication.Mode.REPLACE)
    assert not (tiles_dir / "caches" / "carres_tuiles").exists()


def test_edit_publication_leaves_purging_to_the_extent_signal(client, squares, tiles_dir,
                                                              django_capture_on_commit_callbacks):
    fill(client, town_hall(GUERANDE))
    before = cached_tiles(tiles_dir)
    with django_capture_on_commit_callbacks(execute=True):
        Publication.objects.create(layer=squares, version=2, mode=Publication.Mode.EDIT)
    assert cached_tiles(tiles_dir) == before


def test_purge_of_a_layer_never_cached_is_harmless(tiles_dir):
    assert purge_layer("jamais_mise_en_cache", (0, 0, 1, 1)) == 0
    assert purge_layer("jamais_mise_en_cache") == 0


def test_seed_tiles_creates_the_tiles_of_the_extent(squares, tiles_dir):
    x, y = town_hall(GUERANDE)
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("seed_tiles", "carres_tuiles", "--zoom", "13-14", "--here",
                 "--bbox", ",".join(str(v) for v in around(x, y, 300)), stdout=stdout, stderr=stderr)
    tiles = cached_tiles(tiles_dir)
    expected = {(z, *webmercator_tile(x + dx, y + dy, z)[:2])
                for z in (13, 14) for dx in (-300, 300) for dy in (-300, 300)}
    assert expected <= tiles
    assert {t[0] for t in tiles} == {13, 14}
    assert "100,0%" in stderr.getvalue() or "100.0%" in stderr.getvalue()
    assert "tuiles calculées pour carres_tuiles" in stdout.getvalue()


def test_seed_tiles_is_queued_in_parts_that_the_workers_render(squares, tiles_dir, monkeypatch):
    """Without --here the seed is cut into parts of one level (wms.tiles.seed.PART_TILES tiles at
    most) queued for the background workers; together they render every tile once."""
    from django_tasks_db.models import DBTaskResult

    from wms.tiles import seed

    monkeypatch.setattr(seed, "PART_TILES", 16)  # one meta tile of 4 × 4
    stdout = io.StringIO()
    call_command("seed_tiles", "carres_tuiles", "--zoom", "14-15", "--no-wait", stdout=stdout,
                 stderr=io.StringIO())  # over the layer's extent: both town halls, 7 km apart
    parts = DBTaskResult.objects.filter(task_path="wms.tiles.seed.seed_part")
    levels = [p.args_kwargs["args"][4] for p in parts]
    assert sorted(set(levels)) == [14, 15] and levels.count(15) > 1  # a level in several parts
    assert "mises en file" in stdout.getvalue() and not cached_tiles(tiles_dir)
    call_command("import_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert set(parts.values_list("status", flat=True)) == {"SUCCESSFUL"}
    tiles = cached_tiles(tiles_dir)
    expected = {(z, *webmercator_tile(x, y, z)[:2])
                for z in (14, 15) for x, y in (town_hall(GUERANDE), town_hall(LA_BAULE))}
    assert expected <= tiles and {t[0] for t in tiles} == {14, 15}
    # Each planned tile rendered by one part (MapProxy stores no file for some blank tiles).
    queued = int(stdout.getvalue().split()[0])
    assert sum(p.return_value for p in parts.all()) == queued and len(tiles) <= queued


def test_seed_tiles_lambert93_over_the_layer_extent(squares, tiles_dir):
    call_command("seed_tiles", "carres_tuiles", "--zoom", "8-9", "--grid", "lambert93", "--here",
                 stdout=io.StringIO(), stderr=io.StringIO())
    tiles = cached_tiles(tiles_dir, grid="LAMB93")
    assert {t[0] for t in tiles} == {8, 9}


@pytest.mark.parametrize("args, message", [
    (["couche_inconnue", "--zoom", "1-2"], "Couche inconnue"),
    (["carres_tuiles", "--zoom", "douze"], "--zoom"),
    (["carres_tuiles", "--zoom", "5-3"], "--zoom"),
    (["carres_tuiles", "--zoom", "3-25"], "niveau 20"),
    (["carres_tuiles", "--zoom", "3-4", "--grid", "lambert93", "--bbox", "1,2,3"], "--bbox"),
    (["carres_tuiles", "--zoom", "3-4", "--bbox", "5,0,1,1"], "--bbox"),
])
def test_seed_tiles_bad_input(squares, tiles_dir, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_tiles", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not (tiles_dir / "caches" / "carres_tuiles").exists()


def test_seed_tiles_refuses_a_layer_not_cacheable(squares, tiles_dir):
    squares.cacheable = False
    squares.save()
    with pytest.raises(CommandError, match="tuiles en cache"):
        call_command("seed_tiles", "carres_tuiles", "--zoom", "3-4",
                     stdout=io.StringIO(), stderr=io.StringIO())
