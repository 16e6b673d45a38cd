"""The tile keys MapProxy writes in Redis (wms.tiles.redis_store) and which layer each belongs to:
a purge of one layer must never reach another whose name starts the same way. The purge itself,
on a real Redis shared by two app servers, is tested in tests/cluster/."""
from wms.tiles.redis_store import layer_of, parse_key


def test_a_tile_key_names_its_cache_grid_and_coordinates():
    assert parse_key(b"communes_GoogleMapsCompatible-12-2021-1434") == (
        "communes", "GoogleMapsCompatible", (2021, 1434, 12))
    assert parse_key("zones_activite__44069_0123456789.rouge_LAMB93-3-1-2") == (
        "zones_activite__44069_0123456789.rouge", "LAMB93", (1, 2, 3))


def test_other_keys_are_not_tiles():
    for key in ("communes", "communes_GoogleMapsCompatible-12-2021", "communes_UnknownGrid-1-2-3",
                "communes_LAMB93-a-b-c", "rate:limit:1"):
        assert parse_key(key) is None


def test_the_layer_of_a_cache_is_exact():
    assert layer_of("communes") == "communes"
    assert layer_of("communes__44069_0123456789") == "communes"
    assert layer_of("communes.rouge") == "communes"
    assert layer_of("communes__44069_0123456789.rouge") == "communes"
    # Another layer whose name begins with "communes_": its tiles are not the layer communes'.
    cache, _grid, _coord = parse_key("communes_2024_GoogleMapsCompatible-1-1-1")
    assert layer_of(cache) == "communes_2024"
