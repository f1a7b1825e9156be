"""`gusp check`: the production readiness report, against real services and as a real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from gusp.ops import check
from tests import smtp

ROOT = Path(__file__).resolve().parents[2]


def levels(findings: list[check.Finding]) -> dict[str, check.Level]:
    return {f.subject: f.level for f in findings}


def test_a_complete_installation_has_no_blocker(engine, settings, smtp_server):
    ready = smtp.mail_settings(settings, smtp_server, public_url="https://gusp.ville.test", env="production")

    findings = check.run(ready)

    assert set(levels(findings).values()) == {check.Level.OK}, check.report(findings)
    assert check.report(findings).endswith("Prêt pour la production.")


def test_each_missing_piece_is_named_as_a_blocker(engine, settings, tmp_path):
    not_a_directory = tmp_path / "blocked"
    not_a_directory.write_text("x")
    broken = smtp.mail_settings(settings, port=smtp.free_port(), public_url="http://gusp.ville.test").model_copy(
        update={"media_dir": not_a_directory, "timezone": "Europe/Nulle-Part", "web_vendor_dir": tmp_path / "none"}
    )

    found = levels(check.run(broken))

    assert found["serveur de courrier"] is check.Level.BLOCKER
    assert found["GUSP_PUBLIC_URL"] is check.Level.BLOCKER
    assert found["stockage des photos"] is check.Level.BLOCKER
    assert found["fuseau horaire"] is check.Level.BLOCKER
    assert found["pages web"] is check.Level.BLOCKER
    assert found["schéma"] is check.Level.OK


def test_relative_links_block_production_and_only_warn_in_development(engine, settings, smtp_server):
    production = smtp.mail_settings(settings, smtp_server, public_url="", env="production")
    development = production.model_copy(update={"env": "development"})

    assert levels(check.run(production))["GUSP_PUBLIC_URL"] is check.Level.BLOCKER
    found = levels(check.run(development))
    assert found["GUSP_PUBLIC_URL"] is check.Level.WARNING and found["GUSP_ENV"] is check.Level.WARNING
    assert "relatifs" in check.report(check.run(development))


def test_more_web_connections_than_postgresql_allows_are_pointed_out(engine, settings):
    with engine.connect() as connection:
        allowed = connection.scalar(text("SELECT current_setting('max_connections')::int"
                                         " - current_setting('superuser_reserved_connections')::int"))
    per_process = 2 * 20 + 8
    fits = settings.model_copy(update={"web_workers": allowed // per_process, "db_pool_size": 20,
                                       "intake_lane_connections": 8})
    too_many = fits.model_copy(update={"web_workers": allowed // per_process + 1})

    assert levels(check.run(fits))["connexions"] is check.Level.OK
    finding = next(f for f in check.run(too_many) if f.subject == "connexions")
    assert finding.level is check.Level.WARNING
    assert f"jusqu'à {too_many.web_workers * per_process} connexions" in finding.detail
    assert f"{allowed} permises" in finding.detail


def test_an_unmigrated_database_and_an_unreachable_one_block(settings):
    unreachable = settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/gusp"})

    assert levels(check.run(unreachable))["base de données"] is check.Level.BLOCKER


def test_the_command_prints_french_and_exits_non_zero_on_a_blocker(base_settings, engine, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "GUSP_DATABASE_URL": base_settings.database_url,
           "GUSP_MEDIA_DIR": str(tmp_path / "media"), "GUSP_SMTP_PORT": str(smtp.free_port()),
           "GUSP_PUBLIC_URL": ""}

    result = subprocess.run([sys.executable, "-m", "gusp.cli", "check"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "[BLOQUANT ] GUSP_PUBLIC_URL : vide" in result.stdout
    assert "point(s) bloquant(s)" in result.stdout
