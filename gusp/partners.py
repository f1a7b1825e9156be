"""Partners (who fixes things) and the routing rules that send them reports, kept as data.

A rule maps (category, optional quartier, optional zone) to a partner; `routing.partner_for`
picks the most specific one. Two rules with the same key would tie, so the second is refused
when saved, naming the partner the first one already sends to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Final, TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.models import Category, ManagementZone, Partner, Quartier, RoutingRule

MAX_NAME = 200
MAX_DELAY_DAYS = 365
FRENCH = "fr-x-icu"  # ICU collation, present in PostgreSQL builds with ICU (Debian, PGDG, PostGIS images)
T = TypeVar("T")
R = TypeVar("R")


class _Unset(Enum):
    """Marks an argument of `update_partner` that was not given (None may be a real value)."""

    TOKEN = 0


UNSET: Final = _Unset.TOKEN


# --- partners --------------------------------------------------------------------------------


def create_partner(
    *,
    session: Session,
    name: str,
    kind: str,
    emails: Iterable[str] = (),
    delay_days: int | None = None,
) -> Partner:
    """Create a partner; names are unique whatever their case, so one partner is not entered twice."""
    problems: list[errors.GuspError] = []
    name = _check(problems, _name, name)
    kind = _check(problems, _kind, kind)
    emails = _check(problems, _emails, emails)
    delay_days = _check(problems, _delay_days, delay_days)
    if problems:
        raise errors.InvalidFields(problems)
    _refuse_taken_name(session=session, name=name)
    partner = Partner(name=name, kind=kind, emails=emails, delay_days=delay_days, active=True)
    _flush_unique_name(session=session, partner=partner)
    return partner


def update_partner(
    *,
    session: Session,
    partner_id: int,
    name: str | _Unset = UNSET,
    kind: str | _Unset = UNSET,
    emails: Iterable[str] | _Unset = UNSET,
    delay_days: int | None | _Unset = UNSET,
    active: bool | _Unset = UNSET,
) -> Partner:
    """Change what is given; `delay_days=None` clears the deadline. A deactivated partner keeps its
    rules (and its reports) but routing skips it until it is active again."""
    partner = get_partner(session=session, partner_id=partner_id)
    problems: list[errors.GuspError] = []
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = _check(problems, _name, name)
    if kind is not UNSET:
        changes["kind"] = _check(problems, _kind, kind)
    if emails is not UNSET:
        changes["emails"] = _check(problems, _emails, emails)
    if delay_days is not UNSET:
        changes["delay_days"] = _check(problems, _delay_days, delay_days)
    if active is not UNSET:
        changes["active"] = _check(problems, _active, active)
    if problems:
        raise errors.InvalidFields(problems)
    if "name" in changes and changes["name"] != partner.name:
        _refuse_taken_name(session=session, name=str(changes["name"]), other_than=partner.id)
    for key, value in changes.items():
        setattr(partner, key, value)
    _flush_unique_name(session=session, partner=partner)
    return partner


def get_partner(*, session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise errors.NotFound("partenaire_inconnu", "Ce partenaire n'existe pas.")
    return partner


def list_partners(*, session: Session, active: bool | None = None, kind: str | None = None) -> list[Partner]:
    """Partners in French alphabetical order (« Éclairage » before « Propreté »), optionally only
    the active (or inactive) ones, or those of one kind."""
    query = select(Partner).order_by(Partner.name.collate(FRENCH), Partner.id)
    if active is not None:
        query = query.where(Partner.active.is_(active))
    if kind is not None:
        query = query.where(Partner.kind == kind)
    return list(session.scalars(query))


def _refuse_taken_name(*, session: Session, name: str, other_than: int | None = None) -> None:
    query = select(Partner).where(func.lower(Partner.name) == name.lower())
    if other_than is not None:
        query = query.where(Partner.id != other_than)
    if (existing := session.scalars(query).first()) is not None:
        raise _name_taken(existing.name)


def _flush_unique_name(*, session: Session, partner: Partner) -> None:
    """Flush in a savepoint: a concurrent insert of the same name fails here, as a 409, and
    leaves the caller's transaction usable."""
    name = partner.name  # the rollback below would expire it
    try:
        with session.begin_nested():
            session.add(partner)
    except IntegrityError as exc:
        if "uq_partners_name" not in str(exc.orig):
            raise
        raise _name_taken(name) from None


def _name_taken(name: str) -> errors.Conflict:
    return errors.Conflict("partenaire_existant", f"Un partenaire nommé « {name} » existe déjà.", field="name")


def _check(problems: list[errors.GuspError], check: Callable[[T], R], value: T) -> R | None:
    """Run one field check, collecting its error so every invalid field is reported at once."""
    try:
        return check(value)
    except errors.GuspError as error:
        problems.append(error)
        return None


def _name(value: str) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise errors.Unprocessable("nom_manquant", "Le nom du partenaire est obligatoire.", field="name")
    if len(name) > MAX_NAME:
        raise errors.Unprocessable("nom_trop_long", f"Le nom dépasse {MAX_NAME} caractères.", field="name")
    return name


def _kind(value: str) -> str:
    kinds = [k.value for k in states.PartnerKind]
    if value not in kinds:
        raise errors.Unprocessable(
            "type_partenaire_inconnu", f"Type de partenaire « {value} » inconnu (attendu : {', '.join(kinds)}).",
            field="kind",
        )
    return str(value)


def _emails(values: Iterable[str]) -> list[str]:
    """Normalised addresses (domain in lower case), each once, in the order given."""
    if isinstance(values, str):
        values = [values]
    result: list[str] = []
    for raw in values:
        raw = str(raw).strip()
        try:
            email = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError:
            raise errors.Unprocessable(
                "email_invalide", f"Adresse e-mail invalide : « {raw} ».", field="emails"
            ) from None
        if email.lower() not in (e.lower() for e in result):
            result.append(email)
    return result


def _active(value: bool) -> bool:
    if not isinstance(value, bool):  # None or "non" must not deactivate a partner by accident
        raise errors.Unprocessable("actif_invalide", "« active » vaut vrai ou faux.", field="active")
    return value


def _delay_days(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DELAY_DAYS:
        raise errors.Unprocessable(
            "delai_invalide", f"Le délai doit être un nombre de jours entre 1 et {MAX_DELAY_DAYS}.",
            field="delay_days",
        )
    return value


# --- routing rules ---------------------------------------------------------------------------


def create_rule(
    *,
    session: Session,
    category_code: str,
    partner_id: int,
    quartier_id: int | None = None,
    zone_id: int | None = None,
) -> RoutingRule:
    """Create a rule; one with the same (category, quartier, zone) would tie with it and is refused."""
    problems: list[errors.GuspError] = []
    if session.get(Category, category_code) is None:
        problems.append(errors.Unprocessable(
            "categorie_inconnue", f"La catégorie « {category_code} » n'existe pas.", field="category_code"
        ))
    partner = session.get(Partner, partner_id)
    if partner is None:
        problems.append(errors.Unprocessable(
            "partenaire_inconnu", "Ce partenaire n'existe pas.", field="partner_id"
        ))
    elif not partner.active:
        # A rule to an inactive partner would never apply: routing skips inactive partners.
        problems.append(errors.Unprocessable(
            "partenaire_inactif", f"Le partenaire « {partner.name} » est désactivé.", field="partner_id"
        ))
    if quartier_id is not None and session.get(Quartier, quartier_id) is None:
        problems.append(errors.Unprocessable("quartier_inconnu", "Ce quartier n'existe pas.", field="quartier_id"))
    if zone_id is not None and session.get(ManagementZone, zone_id) is None:
        problems.append(errors.Unprocessable("zone_inconnue", "Cette zone de gestion n'existe pas.", field="zone_id"))
    if problems:
        raise errors.InvalidFields(problems)
    if quartier_id is not None and zone_id is not None and not _zone_meets_quartier(session, zone_id, quartier_id):
        raise errors.Unprocessable(
            "zone_hors_quartier",
            "Cette zone de gestion ne touche pas ce quartier : la règle ne s'appliquerait jamais.",
            field="zone_id",
        )
    _refuse_tie(session=session, category_code=category_code, quartier_id=quartier_id, zone_id=zone_id)
    rule = RoutingRule(category_code=category_code, quartier_id=quartier_id, zone_id=zone_id, partner_id=partner_id)
    try:
        with session.begin_nested():  # a concurrent twin fails here, and only this insert is undone
            session.add(rule)
    except IntegrityError as exc:
        if "uq_routing_rules_key" not in str(exc.orig):
            raise
        _refuse_tie(session=session, category_code=category_code, quartier_id=quartier_id, zone_id=zone_id)
        raise
    return rule


def get_rule(*, session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise errors.NotFound("regle_inconnue", "Cette règle d'orientation n'existe pas.")
    return rule


def delete_rule(*, session: Session, rule_id: int) -> None:
    """Delete a rule; reports already routed keep their partner."""
    session.delete(get_rule(session=session, rule_id=rule_id))
    session.flush()


def list_rules(
    *,
    session: Session,
    category_code: str | None = None,
    partner_id: int | None = None,
    quartier_id: int | None = None,
    zone_id: int | None = None,
) -> list[RoutingRule]:
    """Rules by category, the general ones (no quartier, no zone) before the specific ones."""
    query = select(RoutingRule).order_by(
        RoutingRule.category_code,
        RoutingRule.zone_id.is_not(None),
        RoutingRule.quartier_id.is_not(None),
        RoutingRule.quartier_id,
        RoutingRule.zone_id,
        RoutingRule.id,
    )
    filters = {"category_code": category_code, "partner_id": partner_id, "quartier_id": quartier_id, "zone_id": zone_id}
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(RoutingRule, column) == value)
    return list(session.scalars(query))


def _refuse_tie(*, session: Session, category_code: str, quartier_id: int | None, zone_id: int | None) -> None:
    existing = session.execute(
        select(RoutingRule, Partner.name)
        .join(Partner, Partner.id == RoutingRule.partner_id)
        .where(
            RoutingRule.category_code == category_code,
            RoutingRule.quartier_id.is_not_distinct_from(quartier_id),
            RoutingRule.zone_id.is_not_distinct_from(zone_id),
        )
    ).first()
    if existing is not None:
        rule, partner_name = existing
        raise errors.Conflict(
            "regle_en_double",
            f"Une règle existe déjà pour {_describe(session, category_code, quartier_id, zone_id)} : "
            f"elle oriente vers « {partner_name} ». Modifiez ou supprimez cette règle plutôt que d'en ajouter une.",
            rule_id=rule.id,
            partner_id=rule.partner_id,
        )


def _describe(session: Session, category_code: str, quartier_id: int | None, zone_id: int | None) -> str:
    """The key of a rule in words, for messages: « Propreté » dans le quartier « Encagnane »…"""
    category = session.get(Category, category_code)
    words = f"la catégorie « {category.label if category else category_code} »"
    if quartier_id is not None and (quartier := session.get(Quartier, quartier_id)) is not None:
        words += f", le quartier « {quartier.nom} »"
    if zone_id is not None and (zone := session.get(ManagementZone, zone_id)) is not None:
        words += f", la zone « {zone.name} »"
    return words


def _zone_meets_quartier(session: Session, zone_id: int, quartier_id: int) -> bool:
    """False only when both shapes are known and apart; a quartier without perimeter is given the benefit."""
    return bool(session.execute(
        text(
            "SELECT q.geom IS NULL OR ST_Intersects(z.geom, q.geom)"
            " FROM management_zones z, quartiers q WHERE z.id = :z AND q.id = :q"
        ),
        {"z": zone_id, "q": quartier_id},
    ).scalar_one())
