"""Settings read from the environment: the map tiles' default, override and switch-off."""

from __future__ import annotations

import pytest

from gusp.config import IGN_PLAN_ATTRIBUTION, IGN_PLAN_TILES, Settings


def test_the_default_tiles_are_the_geoplateforme_s_plan_ign_with_its_attribution(monkeypatch):
    monkeypatch.delenv("GUSP_TILE_URL", raising=False)
    monkeypatch.delenv("GUSP_TILE_ATTRIBUTION", raising=False)

    url, attribution = Settings().map_tiles

    assert url == IGN_PLAN_TILES
    assert url.startswith("https://data.geopf.fr/wmts?") and "LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in url
    assert "TILEMATRIXSET=PM" in url and "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in url
    assert attribution == IGN_PLAN_ATTRIBUTION == "© IGN – Plan IGN"


@pytest.mark.parametrize("value", ["", "none", "NONE", "  "])
def test_an_explicit_empty_or_none_turns_the_tiles_off(monkeypatch, value):
    monkeypatch.setenv("GUSP_TILE_URL", value)

    assert Settings().map_tiles == ("", "")


def test_other_tiles_come_with_their_own_attribution(monkeypatch):
    monkeypatch.setenv("GUSP_TILE_URL", "https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png")
    assert Settings().map_tiles[1] == ""  # never the IGN's attribution on someone else's tiles
    monkeypatch.setenv("GUSP_TILE_ATTRIBUTION", "© les contributeurs d'OpenStreetMap")
    assert Settings().map_tiles == ("https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png",
                                    "© les contributeurs d'OpenStreetMap")
