"""The tile cache's bounds, and tiles that do not exist."""

from __future__ import annotations

import pytest

from gusp import errors, map_tiles


def test_the_cache_drops_the_least_recently_used_beyond_its_size():
    cache = map_tiles.TileCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # now the most recent
    cache.put("c", b"90ab")  # 12 bytes: "b" goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"90ab")
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept, nothing dropped for it
    assert cache.get("huge") is None and cache.get("a") == b"1234"


@pytest.mark.parametrize("z, x, y", [(-1, 0, 0), (23, 0, 0), (3, 8, 0), (3, 0, 8), (0, -1, 0)])
def test_tiles_outside_the_world_are_refused(z, x, y):
    with pytest.raises(errors.NotFound):
        map_tiles.Tile(z, x, y)
