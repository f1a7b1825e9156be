"""Demo data: partners with their routing rules, and realistic reports spread over the quartiers,
with generated photos.

Each demo report carries an idempotency key derived from the seed, so running the demo twice
adds nothing the second time.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw
from shapely import wkb
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import intake, partners, schemas, states
from gusp.config import Settings
from gusp.models import Quartier
from gusp.storage import PhotoStorage

DESCRIPTIONS: dict[str, list[str]] = {
    "proprete": ["Dépôt sauvage de sacs poubelle au pied du bâtiment.", "Conteneurs qui débordent depuis plusieurs jours.",
                 "Déchets éparpillés autour des colonnes de tri."],
    "encombrants": ["Un canapé et un matelas abandonnés sur le trottoir.", "Électroménager déposé devant l'entrée du parking."],
    "tags_affichage": ["Tags sur la façade de l'école.", "Affichage sauvage sur l'abri bus."],
    "eclairage": ["Lampadaire éteint depuis une semaine, l'allée est dans le noir.", "Éclairage qui clignote toute la nuit."],
    "voirie": ["Nid-de-poule dangereux pour les deux-roues.", "Dalles du trottoir soulevées, risque de chute."],
    "espaces_verts": ["Branche cassée qui menace de tomber sur le cheminement.", "Pelouse non tondue, herbes très hautes."],
    "aires_de_jeux": ["Toboggan cassé, bord coupant.", "Sol amortissant arraché sous la balançoire."],
    "mobilier_urbain": ["Banc arraché.", "Corbeille renversée et cassée."],
    "stationnement_epaves": ["Voiture épave sans plaques depuis un mois.", "Véhicules garés devant l'accès pompiers."],
    "parties_communes": ["Porte du hall qui ne ferme plus.", "Cage d'escalier sans lumière.", "Cave ouverte et encombrée."],
    "ascenseurs": ["Ascenseur en panne depuis trois jours, personnes âgées bloquées.", "Ascenseur qui s'arrête entre deux étages."],
    "nuisibles": ["Présence de rats près des conteneurs.", "Cafards dans les parties communes."],
    "eau_fuites": ["Fuite d'eau sur la chaussée.", "Bouche d'égout bouchée, l'eau stagne."],
    "tranquillite": ["Rodéos de motos le soir.", "Regroupements bruyants dans le hall la nuit."],
    "autre": ["Boîtes aux lettres forcées.", "Panneau de signalisation tombé."],
}
WEIGHTS = {"proprete": 20, "encombrants": 14, "parties_communes": 10, "eclairage": 9, "ascenseurs": 7, "voirie": 7,
           "tags_affichage": 6, "espaces_verts": 5, "stationnement_epaves": 5, "aires_de_jeux": 4, "nuisibles": 4,
           "mobilier_urbain": 3, "eau_fuites": 3, "tranquillite": 2, "autre": 1}
# Demo partners and who handles which category (fictitious addresses, realistic organisations).
PARTNERS = [
    ("Ville d'Aix – Propreté urbaine", "ville", "proprete@ville.example", ["proprete", "tags_affichage"]),
    ("Métropole Aix-Marseille – Collecte des encombrants", "metropole", "encombrants@metropole.example",
     ["encombrants"]),
    ("Ville d'Aix – Éclairage public", "ville", "eclairage@ville.example", ["eclairage"]),
    ("Métropole Aix-Marseille – Voirie", "metropole", "voirie@metropole.example",
     ["voirie", "stationnement_epaves", "eau_fuites"]),
    ("Ville d'Aix – Espaces verts", "ville", "espaces-verts@ville.example",
     ["espaces_verts", "aires_de_jeux", "mobilier_urbain"]),
    ("Bailleur social (démo)", "bailleur", "gardiens@bailleur.example",
     ["parties_communes", "ascenseurs", "nuisibles"]),
    ("Police municipale", "ville", "police@ville.example", ["tranquillite"]),
]
COLOURS = {"proprete": (120, 110, 90), "encombrants": (140, 100, 70), "eclairage": (40, 40, 70)}


@dataclass(frozen=True)
class DemoResult:
    created: int
    already_there: int


def run(*, session: Session, settings: Settings, storage: PhotoStorage, count: int, seed: int = 2026,
        photo_share: float = 0.4) -> DemoResult:
    """Create `count` demo reports through the real intake (attribution, photos, events)."""
    rng = random.Random(seed)
    _partners_and_rules(session)
    shapes = _perimeters(session)
    if not shapes:
        raise RuntimeError("Aucun périmètre chargé : lancez d'abord `gusp perimeters load`.")
    now = datetime.now(timezone.utc)
    created = 0
    for i in range(count):
        code = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        point = _point(rng, shapes, outside=rng.random() < 0.08)
        uploads = [io.BytesIO(_photo(rng, code))] if rng.random() < photo_share else []
        with_contact = rng.random() < 0.3
        data = schemas.ReportCreate(
            category=code,
            description=rng.choice(DESCRIPTIONS[code]),
            lat=round(point.y, 6),
            lon=round(point.x, 6),
            accuracy_m=round(rng.uniform(4, 35), 1),
            contact_name="Habitant (démo)" if with_contact else None,
            contact_email=f"habitant{i}@example.org" if with_contact else None,
            contact_consent=with_contact,
            source=rng.choice([states.Source.WEB, states.Source.WEB, states.Source.API]),
        )
        created_at = now - timedelta(days=rng.uniform(0, 365), minutes=rng.uniform(0, 600))
        _, replayed = intake.create_report(
            session=session, settings=settings, storage=storage, data=data, uploads=uploads,
            idempotency_key=f"demo-{seed}-{i}", created_at=created_at,
        )
        created += not replayed
    return DemoResult(created=created, already_there=count - created)


def _partners_and_rules(session: Session) -> None:
    """The demo partners and their category rules, created once (kept as they are on later runs)."""
    known = {p.name for p in partners.list_partners(session=session)}
    rules = {(r.category_code, r.quartier_id, r.zone_id) for r in partners.list_rules(session=session)}
    for name, kind, email, codes in PARTNERS:
        if name in known:
            continue
        partner = partners.create_partner(session=session, name=name, kind=kind, emails=[email], delay_days=15)
        for code in codes:
            if (code, None, None) not in rules:
                partners.create_rule(session=session, category_code=code, partner_id=partner.id)


def _perimeters(session: Session) -> list:
    rows = session.execute(select(func.ST_AsBinary(Quartier.geom)).where(Quartier.geom.is_not(None))).scalars()
    return [wkb.loads(bytes(row)) for row in rows]


def _point(rng: random.Random, shapes: list, *, outside: bool) -> Point:
    shape = rng.choice(shapes)
    area = shape.buffer(0.008) if outside else shape
    minx, miny, maxx, maxy = area.bounds
    while True:
        candidate = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(candidate) and (not outside or not shape.contains(candidate)):
            return candidate


def _photo(rng: random.Random, code: str) -> bytes:
    """A street-like scene: sky, façade, ground, and an object of the category's colour."""
    width, height = 1280, 960
    image = Image.new("RGB", (width, height), (150 + rng.randint(0, 60), 190, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 0.2, width, height * 0.65), fill=(215, 200, 170))
    for x in range(40, width, 160):
        draw.rectangle((x, height * 0.28, x + 70, height * 0.4), fill=(70, 90, 110))
    draw.rectangle((0, height * 0.65, width, height), fill=(110, 110, 105))
    colour = COLOURS.get(code, (rng.randint(40, 200), rng.randint(40, 200), rng.randint(40, 200)))
    x, y = rng.randint(200, 900), rng.randint(int(height * 0.6), int(height * 0.8))
    draw.ellipse((x, y, x + rng.randint(120, 300), y + rng.randint(80, 160)), fill=colour)
    for _ in range(400):
        px, py = rng.randrange(width), rng.randrange(height)
        draw.point((px, py), fill=(rng.randint(0, 255),) * 3)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()
