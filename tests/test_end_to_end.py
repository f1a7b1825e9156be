"""The whole path, with real commits, HTTP, PostGIS and SMTP: a resident reports a broken hall
door on a bailleur's land; routing proposes the bailleur; a coordinator assigns; the worker mails
the bailleur; the bailleur resolves with an after photo; the worker mails the resident, whose
follow view shows the resolution."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from gusp import accounts, credentials, db, partners, worker
from gusp.api.main import create_app
from gusp.models import Report
from tests import builders, builders_routing, smtp


def test_from_intake_to_the_residents_mail(committed_settings, smtp_server):
    settings = smtp.mail_settings(committed_settings, smtp_server)
    with db.command_session(settings.database_url) as session:
        bailleur = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur",
                                           emails=["gardiens@pah.example"], delay_days=5)
        lat, lon = builders.point_in(session, builders.ENCAGNANE)
        zone = builders_routing.make_zone(session, lat=lat, lon=lon, side_m=200, partner=bailleur)
        partners.create_rule(session=session, category_code="parties_communes", partner_id=bailleur.id,
                             zone_id=zone.id)
        tokens = {}
        for role, partner_id in (("coordinateur", None), ("partenaire", bailleur.id)):
            user = accounts.create_user(session=session, email=f"{role}@aix.example", full_name=role.title(),
                                        password="un mot de passe assez long", role=role, partner_id=partner_id)
            tokens[role] = {"Authorization": f"Bearer {credentials.create_api_token(session=session, user=user, name='e2e')[0]}"}
    engine = db.make_engine(settings.database_url)
    sessions = db.make_sessionmaker(engine)
    sender = worker.SmtpSender(settings)
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            created = client.post("/api/v1/reports", data={
                "category": "parties_communes", "description": "La porte du hall B ne ferme plus.",
                "lat": str(lat), "lon": str(lon), "contact_email": "residente@example.org",
                "contact_consent": "true", "source": "web",
            }, files=[("photos", ("hall.jpg", builders.jpeg(1200, 900), "image/jpeg"))])
            assert created.status_code == 201, created.text
            reference = created.json()["reference"]

            worker.send_pending(sessionmaker=sessions, settings=settings, sender=sender)
            [receipt] = smtp_server.messages
            assert receipt["To"] == "residente@example.org" and reference in receipt["Subject"]

            detail = client.get(f"/api/v1/gestion/reports/{reference}", headers=tokens["coordinateur"]).json()
            assert detail["partner"]["name"] == "Pays d'Aix Habitat"  # proposed by the zone rule
            assert client.get(f"/api/v1/gestion/reports/{reference}", headers=tokens["partenaire"]).status_code == 404

            assigned = client.post(f"/api/v1/gestion/reports/{reference}/assign", headers=tokens["coordinateur"],
                                   json={"partner_id": detail["partner"]["id"]})
            assert assigned.status_code == 200 and assigned.json()["status"] == "pris_en_compte"
            worker.send_pending(sessionmaker=sessions, settings=settings, sender=sender)
            taken_into_account, to_partner = smtp_server.messages[-2:]
            assert taken_into_account["To"] == "residente@example.org"
            assert "Pays d'Aix Habitat" in taken_into_account.get_body(("plain",)).get_content()
            assert to_partner["To"] == "gardiens@pah.example"
            assert "residente@example.org" not in to_partner.as_string()

            queue = client.get("/api/v1/gestion/reports", headers=tokens["partenaire"]).json()
            assert [line["reference"] for line in queue["data"]] == [reference]
            taken = client.post(f"/api/v1/gestion/reports/{reference}/status", headers=tokens["partenaire"],
                                json={"status": "en_cours"})
            assert taken.status_code == 200
            resolved = client.post(f"/api/v1/gestion/reports/{reference}/resolve", headers=tokens["partenaire"],
                                   data={"note": "Ferme-porte remplacé."},
                                   files={"after_photo": ("apres.jpg", builders.jpeg(900, 700, (30, 140, 60)),
                                                          "image/jpeg")})
            assert resolved.status_code == 200, resolved.text

            worker.send_pending(sessionmaker=sessions, settings=settings, sender=sender)
            closing = smtp_server.messages[-1]
            assert closing["To"] == "residente@example.org"
            assert "Ferme-porte remplacé." in closing.get_body(("plain",)).get_content()

            public = client.get(f"/api/v1/reports/{reference}").json()
            assert public["status"] == "resolu"
            assert len(public["photos"]) == 1 and len(public["after_photos"]) == 1
            assert [step["status"] for step in public["timeline"] if step["status"]] == [
                "nouveau", "pris_en_compte", "en_cours", "resolu"]
            assert public["timeline"][-1]["note"] == "Ferme-porte remplacé."
        assert len(smtp_server.messages) == 4  # receipt, taken into account, partner, resolution
        with sessions() as session:
            report = session.scalars(select(Report).where(Report.reference == reference)).one()
            assert report.acknowledged_at <= report.assigned_at <= report.resolved_at
    finally:
        engine.dispose()
        app.state.engine.dispose()
