"""GUSP categories as Open311 services, and the attributes every service definition carries.

Two attributes say what the standard fields cannot: the reporter's consent to keep contact
details (GUSP keeps an e-mail, a name or a phone only with it) and the position's accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gusp import categories, errors
from gusp.models import Category

CONSENT = "consentement"
ACCURACY = "precision_m"
_YES, _NO = "oui", "non"

ATTRIBUTES: list[dict[str, object]] = [
    {
        "variable": True,
        "code": CONSENT,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "oui ou non",
        "order": 1,
        "description": (
            "Le déclarant accepte que ses coordonnées (e-mail, nom, téléphone) soient conservées pour le suivi "
            "de son signalement. Sans « oui », le signalement est pris mais ses coordonnées ne sont pas conservées."
        ),
        "values": [{"key": _YES, "name": "Oui"}, {"key": _NO, "name": "Non"}],
    },
    {
        "variable": True,
        "code": ACCURACY,
        "datatype": "number",
        "required": False,
        "datatype_description": "Nombre de mètres, de 0 à 100 000",
        "order": 2,
        "description": "Précision de la position lat/long, en mètres (celle donnée par le GPS du téléphone).",
        "values": [],
    },
]
_CODES = frozenset(str(a["code"]) for a in ATTRIBUTES)


@dataclass(frozen=True)
class Attributes:
    consent: bool = False
    accuracy_m: float | None = None
    ignored: list[str] = field(default_factory=list)  # codes GUSP does not define, sorted


def service(category: Category) -> dict[str, object]:
    return {
        "service_code": category.code,
        "service_name": category.label,
        "description": category.description,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(category.keywords) or None,
        "group": category.family,
    }


def service_list(*, session: Session) -> list[dict[str, object]]:
    """The active categories, in the order the public form shows them."""
    return [service(c) for c in categories.list_active(session=session)]


def get_service(*, session: Session, code: str) -> Category:
    category = categories.get_active(session=session, code=code)
    if category is None:
        raise errors.NotFound(
            "service_code_inconnu", f"Aucun service ne porte le code « {code} » : voyez la liste des services.",
            field="service_code",
        )
    return category


def service_definition(*, session: Session, code: str) -> dict[str, object]:
    category = get_service(session=session, code=code)
    return {"service_code": category.code, "attributes": ATTRIBUTES}


def parse_attributes(raw: dict[str, list[str]]) -> Attributes:
    """`attribute[code]=value` pairs, checked against the definition; unknown codes are ignored
    (a client such as FixMyStreet sends its own, `uprn` for one) and named in the result."""
    problems: list[errors.GuspError] = []
    consent = False
    accuracy: float | None = None
    if values := _single(raw, CONSENT, problems):
        if values.lower() not in (_YES, _NO):
            problems.append(_invalid(CONSENT, "Valeur attendue : « oui » ou « non »."))
        consent = values.lower() == _YES
    if values := _single(raw, ACCURACY, problems):
        try:
            accuracy = float(values)
        except ValueError:
            accuracy = math.nan
        if not math.isfinite(accuracy) or not 0 <= accuracy <= 100_000:
            problems.append(_invalid(ACCURACY, "Un nombre de mètres entre 0 et 100 000 est attendu."))
            accuracy = None
    if problems:
        raise errors.InvalidFields(problems)
    return Attributes(consent=consent, accuracy_m=accuracy, ignored=sorted(set(raw) - _CODES))


def _single(raw: dict[str, list[str]], code: str, problems: list[errors.GuspError]) -> str | None:
    values = [v.strip() for v in raw.get(code, []) if v.strip()]
    if len(values) > 1:
        problems.append(_invalid(code, "Cet attribut n'accepte qu'une valeur."))
        return None
    return values[0] if values else None


def _invalid(code: str, message: str) -> errors.BadRequest:
    return errors.BadRequest("attribut_invalide", f"Attribut « {code} » : {message}", field=f"attribute[{code}]")
