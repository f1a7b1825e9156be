"""Management zones — who manages the ground — loaded from a GeoJSON file (`gusp zones load FILE`).

Each feature is a zone: `code` (required, the key), `nom` (defaults to the code) and `partenaire`,
the exact name of the partner managing it (optional). The whole file is read and checked first —
these files hold tens of zones, not thousands — and only then applied, by one upsert in a savepoint
of the caller's transaction: a refused file changes nothing, and the error names the feature.

Coordinates are WGS84 longitude, latitude (RFC 7946), as QGIS exports GeoJSON; a file declaring
another CRS is refused rather than guessed. Zones absent from the file are kept, since routing
rules point to them; a zone listed without `partenaire` loses its manager: the file is the truth
for the zones it lists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import db, errors, models
from gusp.geo import features

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LENGTHS = {"code": 64, "nom": 200}
_LOCK = "gusp.geo.zones.load"
_WGS84_CRS = re.compile(r"(CRS84|EPSG[:/](?:[\d.]*[:/])?4326)$", re.IGNORECASE)


@dataclass
class ZonesLoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Stored zones the file does not mention: kept, with the rules that name them.
    not_in_file: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Zone:
    index: int
    code: str
    nom: str
    partner_id: int | None
    wkb: bytes


def load(*, session: Session, path: Path) -> ZonesLoadResult:
    """Create or update management zones by code from a GeoJSON file; all of it or, if refused, nothing."""
    items = _read_collection(path)
    db.advisory_xact_lock(session, _LOCK)
    partners = {p.name: p.id for p in session.scalars(select(models.Partner))}
    zones = _check_features(items, partners)
    with session.begin_nested():
        result = _apply(session=session, zones=zones)
    # The upsert bypassed the ORM: loaded zones would show stale values.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models.ManagementZone):
            session.expire(obj)
    return result


# `xmax = 0` tells an inserted row from an updated one; a row whose values are unchanged is not
# updated at all, so it is not returned and counts as unchanged.
_UPSERT = text(
    """
    INSERT INTO management_zones AS z (code, name, partner_id, geom)
    SELECT r.code, r.name, r.partner_id, ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326)
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(idx int, code text, name text, partner_id int, wkb text)
    ORDER BY r.idx
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, partner_id = EXCLUDED.partner_id, geom = EXCLUDED.geom
    WHERE (z.name, z.partner_id, z.geom) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.partner_id, EXCLUDED.geom)
    RETURNING z.code, (z.xmax = 0) AS created
    """
)


def _apply(*, session: Session, zones: list[_Zone]) -> ZonesLoadResult:
    rows = [
        {"idx": z.index, "code": z.code, "name": z.nom, "partner_id": z.partner_id, "wkb": z.wkb.hex()}
        for z in zones
    ]
    changed = session.execute(_UPSERT, {"rows": json.dumps(rows)}).all()
    result = ZonesLoadResult()
    result.created = sum(1 for _, created in changed if created)
    result.updated = len(changed) - result.created
    result.unchanged = len(zones) - len(changed)
    codes = [z.code for z in zones]
    result.not_in_file = list(session.scalars(
        select(models.ManagementZone.code)
        .where(models.ManagementZone.code.not_in(codes))
        .order_by(models.ManagementZone.code)
    ))
    return result


# --- reading and checking the file -------------------------------------------------------------


def _read_collection(path: Path) -> list[Any]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise _file_refused(f"il dépasse {MAX_FILE_BYTES // (1024 * 1024)} Mo", "fichier_trop_gros")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))  # -sig: a byte order mark left by some tools
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _file_refused(f"ce n'est pas un JSON valide ({exc})", "json_invalide") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise _file_refused("ce n'est pas une FeatureCollection GeoJSON", "pas_une_featurecollection")
    if not isinstance(data.get("features"), list):
        raise _file_refused("il n'a pas de tableau « features »", "pas_une_featurecollection")
    crs = data.get("crs")
    if crs is not None:
        props = crs.get("properties") if isinstance(crs, dict) else None
        name = str(props.get("name") or props.get("code") or "") if isinstance(props, dict) else ""
        if not _WGS84_CRS.search(name):
            raise _file_refused(
                f"système de coordonnées « {name or crs} » non pris en charge : "
                "exportez les zones en WGS84 (EPSG:4326)",
                "crs_non_pris_en_charge",
            )
    return data["features"]


def _check_features(items: list[Any], partners: dict[str, int]) -> list[_Zone]:
    zones: list[_Zone] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items):
        if not isinstance(raw, dict) or raw.get("type") != "Feature":
            raise _refuse(index, "sans code ni nom", "entite_invalide", "ce n'est pas une entité (« Feature ») GeoJSON")
        props = raw.get("properties")
        props = {str(k).lower(): v for k, v in props.items()} if isinstance(props, dict) else {}
        code, nom = features.text(props.get("code")), features.text(props.get("nom"))
        label = features.label(code, nom)
        if code is None:
            raise _refuse(index, label, "code_manquant", "« code » manquant ou vide")
        if code in seen:
            raise _refuse(index, label, "code_en_double", f"code déjà pris par features[{seen[code]}]")
        seen[code] = index
        nom = nom or code
        for key, value in (("code", code), ("nom", nom)):
            if len(value) > MAX_LENGTHS[key]:
                raise _refuse(index, label, "valeur_trop_longue", f"« {key} » dépasse {MAX_LENGTHS[key]} caractères")
        partner_id = _partner_id(index, label, props.get("partenaire"), partners)
        zones.append(_Zone(index, code, nom, partner_id, _read_geometry(index, label, raw.get("geometry"))))
    return zones


def _partner_id(index: int, label: str, raw: Any, partners: dict[str, int]) -> int | None:
    name = features.text(raw)
    if name is None:
        return None
    if name in partners:
        return partners[name]
    close = [known for known in partners if known.casefold() == name.casefold()]
    hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else " ; créez-le d'abord ou corrigez son nom"
    raise _refuse(index, label, "partenaire_inconnu", f"partenaire « {name} » inconnu{hint}")


def _read_geometry(index: int, label: str, raw: Any) -> bytes:
    """A valid (Multi)Polygon in WGS84 range, as 2D MultiPolygon WKB."""
    if raw is None:
        raise _refuse(index, label, "geometrie_manquante", "géométrie manquante : une zone a un contour")
    wkb, (x0, y0, x1, y1) = features.polygon_wkb(
        raw, refuse=lambda reason, why, **details: _refuse(index, label, reason, why, **details)
    )
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise _refuse(
            index, label, "coordonnees_hors_limites",
            f"coordonnées hors des limites de WGS84 (étendue {x0:g} {y0:g}, {x1:g} {y1:g}) ; "
            "longitude puis latitude, en degrés, sont attendues",
        )
    return wkb


def _refuse(index: int, label: str, reason: str, why: str, **details: object) -> errors.Unprocessable:
    message = f"Zone features[{index}] ({label}) refusée : {why}. Aucune zone du fichier n'a été chargée."
    return errors.Unprocessable("zone_invalide", message, feature=index, reason=reason, **details)


def _file_refused(why: str, reason: str) -> errors.Unprocessable:
    return errors.Unprocessable(
        "fichier_zones_invalide", f"Le fichier de zones est refusé : {why}. Aucune zone n'a été chargée.", reason=reason
    )
