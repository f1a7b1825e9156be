"""The tile cache's bounds and its one rendering per block, and tiles that do not exist."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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


def test_concurrent_fills_of_one_key_render_once_and_the_others_wait_for_it():
    cache = map_tiles.TileCache(max_bytes=1000)
    started, release, calls = threading.Event(), threading.Event(), []

    def render() -> dict[str, bytes]:
        calls.append(1)
        started.set()
        release.wait(5)
        return {"t1": b"un", "t2": b""}

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cache.fill, "block", render)
        started.wait(5)
        others = [pool.submit(lambda: (cache.fill("block", render), cache.get("t1"))[1]) for _ in range(3)]
        release.set()
        first.result()
        assert [o.result() for o in others] == [b"un"] * 3
    assert len(calls) == 1 and cache.get("t2") == b""


def test_a_failed_fill_is_raised_to_its_renderer_and_leaves_the_key_free():
    cache = map_tiles.TileCache(max_bytes=1000)

    def broken() -> dict[str, bytes]:
        raise RuntimeError("base indisponible")

    with pytest.raises(RuntimeError):
        cache.fill("block", broken)
    cache.fill("block", lambda: {"t": b"ok"})
    assert cache.get("t") == b"ok"
