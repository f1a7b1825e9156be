"""Partners and routing rules as data: validation, unique names, ties refused when saved."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import db, errors, partners
from gusp.models import Partner, RoutingRule

from . import builders as b
from . import builders_routing as r


def rule_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RoutingRule))


def test_a_partner_is_created_with_normalised_fields(session: Session):
    partner = partners.create_partner(
        session=session, name="  Pays d'Aix   Habitat ", kind="bailleur",
        emails=["gusp@PAYSDAIXHABITAT.fr", "gusp@paysdaixhabitat.fr", " astreinte@paysdaixhabitat.fr"],
        delay_days=10,
    )
    assert partner.id is not None
    assert (partner.name, partner.kind, partner.delay_days, partner.active) == (
        "Pays d'Aix Habitat", "bailleur", 10, True,
    )
    assert partner.emails == ["gusp@paysdaixhabitat.fr", "astreinte@paysdaixhabitat.fr"]


def test_a_partner_name_is_unique_whatever_its_case(session: Session):
    r.make_partner(session, "Métropole Aix-Marseille-Provence", kind="metropole")
    with pytest.raises(errors.Conflict) as refused:
        partners.create_partner(session=session, name="métropole aix-marseille-provence", kind="metropole")
    assert refused.value.code == "partenaire_existant"
    assert "Métropole Aix-Marseille-Provence" in refused.value.message
    assert session.scalar(select(func.count()).select_from(Partner)) == 1


def test_every_invalid_field_is_reported_at_once(session: Session):
    with pytest.raises(errors.InvalidFields) as refused:
        partners.create_partner(session=session, name=" ", kind="syndic", emails=["pas-une-adresse"], delay_days=0)
    assert [e.field for e in refused.value.errors] == ["name", "kind", "emails", "delay_days"]
    assert refused.value.status == 422
    assert "pas-une-adresse" in refused.value.errors[2].message


def test_a_partner_is_updated_and_can_be_deactivated(session: Session):
    partner = r.make_partner(session, "Ville - Propreté", delay_days=5)
    other = r.make_partner(session, "Ville - Éclairage")
    partners.update_partner(session=session, partner_id=partner.id, emails=["proprete@mairie-aixenprovence.fr"],
                            delay_days=None, active=False)
    assert (partner.emails, partner.delay_days, partner.active, partner.name) == (
        ["proprete@mairie-aixenprovence.fr"], None, False, "Ville - Propreté",
    )
    with pytest.raises(errors.Conflict):
        partners.update_partner(session=session, partner_id=other.id, name="ville - propreté")
    assert other.name == "Ville - Éclairage"
    partners.update_partner(session=session, partner_id=other.id, name="Ville - Éclairage public")
    assert [p.name for p in partners.list_partners(session=session, active=True)] == ["Ville - Éclairage public"]
    assert [p.name for p in partners.list_partners(session=session)] == [
        "Ville - Éclairage public", "Ville - Propreté",
    ]
    with pytest.raises(errors.NotFound):
        partners.update_partner(session=session, partner_id=999_999, active=True)
    with pytest.raises(errors.InvalidFields) as refused:
        partners.update_partner(session=session, partner_id=other.id, active=None, delay_days=-1)
    assert [e.field for e in refused.value.errors] == ["delay_days", "active"]
    assert other.active is True


def test_a_rule_is_created_listed_and_deleted(session: Session):
    ville = r.make_partner(session, "Ville")
    zone = r.make_zone(session, lat=43.52, lon=5.43)
    general = r.make_rule(session, "proprete", ville)
    local = r.make_rule(session, "proprete", ville, quartier=b.ENCAGNANE)
    zoned = r.make_rule(session, "proprete", ville, zone=zone)
    assert partners.list_rules(session=session, category_code="proprete") == [general, local, zoned]
    partners.delete_rule(session=session, rule_id=local.id)
    assert partners.list_rules(session=session) == [general, zoned]
    with pytest.raises(errors.NotFound):
        partners.delete_rule(session=session, rule_id=local.id)


@pytest.mark.parametrize(
    ("key", "where"),
    [
        ({}, "la catégorie « Propreté et dépôts sauvages » :"),
        ({"quartier": b.ENCAGNANE}, "le quartier « Encagnane » :"),
        ({"zone": True}, "la zone"),
        ({"quartier": b.ENCAGNANE, "zone": True}, "la zone"),
    ],
)
def test_a_rule_with_the_same_key_is_a_tie_refused_when_saved(session: Session, key: dict, where: str):
    lat, lon = b.point_in(session, b.ENCAGNANE)
    zone = r.make_zone(session, lat=lat, lon=lon) if key.get("zone") else None
    first = r.make_partner(session, "Ville - Propreté urbaine")
    second = r.make_partner(session, "Métropole - Collecte", kind="metropole")
    existing = r.make_rule(session, "proprete", first, quartier=key.get("quartier"), zone=zone)
    before = rule_count(session)

    with pytest.raises(errors.Conflict) as refused:
        r.make_rule(session, "proprete", second, quartier=key.get("quartier"), zone=zone)

    assert refused.value.code == "regle_en_double"
    assert "« Ville - Propreté urbaine »" in refused.value.message
    assert where in refused.value.message
    assert refused.value.details["rule_id"] == existing.id
    assert rule_count(session) == before
    assert [rule.partner_id for rule in partners.list_rules(session=session)] == [first.id]


def test_rules_with_different_keys_do_not_tie(session: Session):
    ville = r.make_partner(session, "Ville")
    r.make_rule(session, "proprete", ville)
    r.make_rule(session, "proprete", ville, quartier=b.ENCAGNANE)
    r.make_rule(session, "proprete", ville, quartier=b.JAS_DE_BOUFFAN)
    r.make_rule(session, "encombrants", ville)
    assert rule_count(session) == 4


def test_a_rule_naming_unknown_things_names_each_field(session: Session):
    with pytest.raises(errors.InvalidFields) as refused:
        partners.create_rule(session=session, category_code="inconnue", partner_id=999_999,
                             quartier_id=999_999, zone_id=999_999)
    assert [(e.field, e.status) for e in refused.value.errors] == [
        ("category_code", 422), ("partner_id", 422), ("quartier_id", 422), ("zone_id", 422),
    ]
    assert rule_count(session) == 0


def test_a_rule_to_an_inactive_partner_is_refused(session: Session):
    asleep = r.make_partner(session, "Ancien prestataire", kind="autre", active=False)
    with pytest.raises(errors.InvalidFields) as refused:
        r.make_rule(session, "proprete", asleep)
    assert (refused.value.code, refused.value.field) == ("partenaire_inactif", "partner_id")


def test_a_rule_whose_zone_lies_outside_its_quartier_is_refused(session: Session):
    ville = r.make_partner(session, "Ville")
    lat, lon = b.point_in(session, b.JAS_DE_BOUFFAN)
    zone = r.make_zone(session, lat=lat, lon=lon, side_m=50)
    with pytest.raises(errors.Unprocessable) as refused:
        r.make_rule(session, "proprete", ville, quartier=b.ENCAGNANE, zone=zone)
    assert (refused.value.code, refused.value.field) == ("zone_hors_quartier", "zone_id")
    assert rule_count(session) == 0


def test_a_tie_saved_at_the_same_moment_is_refused_too(committed_settings):
    """The second of two simultaneous saves passes the check, then meets the unique key: still a 409."""
    engine = db.make_engine(committed_settings.database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with sessions() as session, db.transaction(session):
            first = r.make_partner(session, "Ville").id
            second = r.make_partner(session, "Métropole", kind="metropole").id
        outcome: list[Exception | None] = []
        with sessions() as holder:
            partners.create_rule(session=holder, category_code="proprete", partner_id=first)  # not committed yet

            def save_twin() -> None:
                try:
                    with sessions() as session, db.transaction(session):
                        partners.create_rule(session=session, category_code="proprete", partner_id=second)
                    outcome.append(None)
                except Exception as error:  # noqa: BLE001 - checked below, in the main thread
                    outcome.append(error)

            twin = threading.Thread(target=save_twin)
            twin.start()
            twin.join(timeout=1)  # blocked on the unique key until the first commits
            assert twin.is_alive()
            holder.commit()
            twin.join(timeout=30)

        assert len(outcome) == 1 and isinstance(outcome[0], errors.Conflict)
        assert outcome[0].code == "regle_en_double" and "« Ville »" in outcome[0].message
        with sessions() as session:
            assert [rule.partner_id for rule in partners.list_rules(session=session)] == [first]
    finally:
        engine.dispose()
