"""Two `gusp serve` replicas behind nginx, sharing the database and the photo store, and two workers.

Photos live in a real S3-compatible store (SeaweedFS) that both replicas use, as a Métropole
instance would. Reports with photos go through either replica; a coordinator signs in on one and acts on the
other; two workers send the outbox at once. Nothing is lost, nothing is sent twice.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gusp import db, states
from gusp.models import OutboxMessage
from gusp.ops import deploy
from tests import builders, builders_routing, smtp
from tests.conftest import prepare
from tests.ops import live

HOST = "gusp.test"
PASSWORD = "mot de passe de test assez long"
REPORTS = 8


@pytest.fixture
def replicas(base_settings, tmp_path, smtp_server, s3_server):
    url = make_url(base_settings.database_url).set(database=f"gusp_replicas_{uuid.uuid4().hex[:10]}")
    https_port = smtp.free_port()
    settings = smtp.mail_settings(base_settings, smtp_server, public_url=f"https://{HOST}:{https_port}").model_copy(
        update={"database_url": url.render_as_string(hide_password=False), "media_dir": tmp_path / "unused"})
    settings = s3_server.settings(settings)  # the replicas share a real S3 store (SeaweedFS), no local disk
    prepare(settings)
    with db.command_session(settings.database_url) as session:
        user, _ = builders.staff(session, "coordinateur", name="coordinatrice-replicas")
        partner = builders_routing.make_partner(session, "Bailleur des tests", emails=["bailleur@example.org"])
        fields = builders.form(session, contact_email="habitante@example.org", contact_consent="true")
        people = {"email": user.email, "partner_id": partner.id, "form": fields}
    certificate, key = deploy.self_signed_certificate(tmp_path / "tls", HOST)
    env = live.settings_env(settings, GUSP_LOG_FORMAT="json")
    logs = [tmp_path / "replica-a.log", tmp_path / "replica-b.log"]
    try:
        with ExitStack() as stack:
            ports = [stack.enter_context(live.gusp_serve(env, log=log)) for log in logs]
            site = deploy.nginx_site(deploy.Site(
                server_name=HOST, certificate=certificate, certificate_key=key,
                backends=[f"127.0.0.1:{port}" for port in ports], http_port=smtp.free_port(), https_port=https_port,
                listen_address="127.0.0.1:"), settings)
            (tmp_path / "nginx").mkdir()
            stack.enter_context(live.nginx(live.nginx_main_config(tmp_path / "nginx", site), ports=[https_port]))
            yield {"url": f"https://127.0.0.1:{https_port}", "certificate": str(certificate), "logs": logs,
                   "env": env, "settings": settings, **people}
    finally:
        db.drop_database(settings.database_url)


def handled(log: Path, method: str, path_start: str) -> int:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return sum(1 for line in lines if line.get("logger") == "gusp.access" and line.get("method") == method
               and line.get("path", "").startswith(path_start) and line.get("status", 500) < 400)


def test_two_replicas_and_two_workers_lose_nothing_and_send_nothing_twice(replicas, smtp_server):
    assert replicas["settings"].media_url.startswith("s3://")
    context = ssl.create_default_context(cafile=replicas["certificate"])
    with httpx.Client(verify=context, headers={"Host": HOST}, timeout=60) as https:
        references = []
        for n in range(REPORTS):
            photo = builders.jpeg(800, 600, colour=(20 * n, 90, 160))
            response = https.post(f"{replicas['url']}/api/v1/reports", data=replicas["form"],
                                  files={"photos": (f"photo-{n}.jpg", photo, "image/jpeg")},
                                  headers={"Idempotency-Key": f"replicas-{n}"})
            assert response.status_code == 201, response.text
            references.append(response.json()["reference"])

        login = https.post(f"{replicas['url']}/api/v1/auth/login",
                           json={"email": replicas["email"], "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        for reference in references:
            assigned = https.post(f"{replicas['url']}/api/v1/gestion/reports/{reference}/assign",
                                  json={"partner_id": replicas["partner_id"]}, headers=csrf)
            assert assigned.status_code == 200, assigned.text

        for reference in references:  # every photo, read back through either replica, is whole
            public = https.get(f"{replicas['url']}/api/v1/reports/{reference}").json()
            for photo in public["photos"]:
                for link in (photo["url"], photo["thumbnail_url"]):
                    path = "/" + link.split("/", 3)[3]
                    served = https.get(f"{replicas['url']}{path}")
                    assert served.status_code == 200, path
                    assert hashlib.sha256(served.content).hexdigest() == path.rsplit("/", 1)[1].removesuffix(".jpg")
    assert not replicas["settings"].media_dir.exists()  # nothing went to a local disk

    for log in replicas["logs"]:  # both replicas took reports and coordinator actions
        assert handled(log, "POST", "/api/v1/reports") >= 1
        assert handled(log, "POST", "/api/v1/gestion/reports/") >= 1

    workers = [subprocess.Popen([sys.executable, "-m", "gusp.cli", "worker", "--poll", "0.2"], env=replicas["env"],
                                cwd=live.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        # Per report: a receipt and a "taken into account" to the resident, an assignment to the partner.
        expected = 3 * REPORTS
        deadline = time.monotonic() + 90
        while len(smtp_server.messages) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # a duplicate would arrive now
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)

    ids = [message["Message-ID"] for message in smtp_server.messages]
    assert len(ids) == expected and len(set(ids)) == expected
    recipients = sorted(message["To"] for message in smtp_server.messages)
    assert recipients == ["bailleur@example.org"] * REPORTS + ["habitante@example.org"] * 2 * REPORTS
    with db.command_session(replicas["settings"].database_url) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status != states.OutboxStatus.SENT)) == 0
