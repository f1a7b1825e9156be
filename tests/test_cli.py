"""The `gusp` command, run as a user would, on a database of its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gusp import cli, db
from gusp.models import Partner, Quartier, Report
from gusp.config import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url = make_url(Settings().database_url).set(database=f"gusp_cli_{uuid.uuid4().hex[:10]}")
    url_text = url.render_as_string(hide_password=False)
    yield {**os.environ, "GUSP_DATABASE_URL": url_text, "GUSP_MEDIA_DIR": str(tmp_path / "media")}
    db.drop_database(url_text)


def gusp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gusp.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_upgrade_load_demo_and_serve(cli_env, tmp_path):
    assert gusp(cli_env, "db", "upgrade").returncode == 0
    loaded = gusp(cli_env, "perimeters", "load", "data/qpv_perimetres.geojson")
    assert loaded.returncode == 0, loaded.stderr
    assert "Pinette" in loaded.stdout or "VEILLE-13001-PINETTE" in loaded.stdout

    first = gusp(cli_env, "demo", "--count", "12")
    again = gusp(cli_env, "demo", "--count", "12")
    assert first.returncode == 0, first.stderr
    assert "12 signalements créés" in first.stdout
    assert "0 signalements créés, 12 déjà présents" in again.stdout
    with db.command_session(cli_env["GUSP_DATABASE_URL"]) as session:
        routed = session.scalar(select(func.count()).select_from(Report).where(Report.partner_id.is_not(None)))
        assert routed == 12  # every demo category has a partner rule
        assert session.scalar(select(func.count()).select_from(Partner)) == 7

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gusp.cli", "serve", "--port", str(port)], env=cli_env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/quartiers", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response.status_code == 200
        names = sorted(f["properties"]["nom"] for f in response.json()["features"])
        assert names == ["Beisson", "Corsy", "Encagnane", "Jas de Bouffan", "Pinette"]
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        assert home.status_code == 200 and 'lang="fr"' in home.text
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_refused_perimeter_file_exits_2_with_a_french_message(cli_env, tmp_path):
    assert gusp(cli_env, "db", "upgrade").returncode == 0
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "Sans code"},
         "geometry": {"type": "Polygon", "coordinates": [[[5.4, 43.5], [5.41, 43.5], [5.41, 43.51], [5.4, 43.5]]]}},
    ]}))

    result = gusp(cli_env, "perimeters", "load", str(bad))

    assert result.returncode == 2
    assert "perimetre_invalide" in result.stderr
    assert "features[0] (« Sans code »)" in result.stderr
    assert "Aucun périmètre du fichier n'a été chargé" in result.stderr


def test_a_dry_run_lists_what_would_change_then_the_load_lists_the_repaired_outlines(cli_env, tmp_path):
    assert gusp(cli_env, "db", "upgrade").returncode == 0
    bowtie = [[[5.40, 43.50], [5.41, 43.51], [5.41, 43.50], [5.40, 43.51], [5.40, 43.50]]]
    crossing = tmp_path / "regional.geojson"
    crossing.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code_qp": "QN01398Y", "lib_qp": "Noeud", "insee_com": "13001"},
         "geometry": {"type": "Polygon", "coordinates": bowtie}},
    ]}))

    dry = gusp(cli_env, "perimeters", "load", "--dry-run", str(crossing))
    with db.command_session(cli_env["GUSP_DATABASE_URL"]) as session:
        after_dry_run = session.execute(select(func.count()).select_from(Quartier)).scalar_one()
    loaded = gusp(cli_env, "perimeters", "load", str(crossing))

    assert dry.returncode == 0, dry.stderr
    assert "Simulation (rien n'a été modifié)" in dry.stdout and "À créer : QN01398Y." in dry.stdout
    assert after_dry_run == 0
    assert loaded.returncode == 0, loaded.stderr
    assert "1 créés" in loaded.stdout
    assert "Contours invalides réparés (make_valid) puis chargés : 1." in loaded.stdout
    assert "QN01398Y : auto-intersection en 5.405 43.505" in loaded.stdout



def test_an_unreachable_database_is_said_in_french_for_a_perimeter_load(tmp_path):
    """The load runs on psycopg alone: its OperationalError is told as SQLAlchemy's is."""
    env = {**os.environ, "GUSP_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/gusp_absente"}
    result = gusp(env, "perimeters", "load", "data/qpv_perimetres.geojson")
    assert result.returncode == 1
    assert "Base de données injoignable (postgresql+psycopg://postgres@127.0.0.1:1/gusp_absente)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_perimeter_load_starts_without_sqlalchemy_or_pydantic(tmp_path):
    """Start-up counts in the load's time beside ogr2ogr (docs/benchmarks.md): neither is imported."""
    refused = tmp_path / "refused.geojson"
    refused.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}))
    code = (f"import sys; from gusp import cli; rc = cli.main(['perimeters', 'load', {str(refused)!r}]); "
            "print(rc, [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'pydantic_settings', 'pydantic')])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "2 []", result.stderr
    assert "code_manquant" in result.stderr or "« code » manquant" in result.stderr


def test_the_database_url_without_settings_is_the_one_settings_reads():
    assert cli.database_url({}) == Settings.model_fields["database_url"].default
    assert cli.database_url({"gusp_database_url": "postgresql+psycopg://x@h/db"}) == "postgresql+psycopg://x@h/db"
    assert Settings(_env_file=None).database_url == cli.database_url()


def test_libpq_reads_the_sqlalchemy_url():
    import gusp

    assert gusp.libpq_url("postgresql+psycopg://u:p%40ss@db:5433/gusp?sslmode=require") == (
        "postgresql://u:p%40ss@db:5433/gusp?sslmode=require"
    )


def test_serve_trusts_no_proxy_unless_told():
    """X-Forwarded-For from any local process must not choose the address that throttling counts."""
    import uvicorn

    from gusp.api.main import create_app

    def config(*argv: str) -> uvicorn.Config:
        options = cli.serve_options(cli.parser().parse_args(["serve", *argv]))
        options.pop("host"), options.pop("port")
        return uvicorn.Config(create_app(), **options)

    assert config().proxy_headers is False
    behind = config("--forwarded-allow-ips", "10.0.0.5")
    assert behind.proxy_headers is True and behind.forwarded_allow_ips == "10.0.0.5"


def test_serve_refuses_to_start_without_a_public_url_outside_development(cli_env):
    env = {key: value for key, value in cli_env.items() if key not in ("GUSP_ENV", "GUSP_PUBLIC_URL")}

    refused = subprocess.run([sys.executable, "-m", "gusp.cli", "serve", "--port", "1"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)

    assert refused.returncode == 2
    assert "GUSP_PUBLIC_URL n'est pas défini" in refused.stderr and "GUSP_ENV=development" in refused.stderr


def test_serve_refuses_to_start_without_the_web_libraries(tmp_path):
    """A copy installed without `npm ci` would serve pages whose maps never load: say it at start."""
    env = {**os.environ, "GUSP_WEB_VENDOR_DIR": str(tmp_path / "node_modules"), "GUSP_ENV": "development",
           "GUSP_PUBLIC_URL": "https://gusp.ville.test"}
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    with port:
        result = subprocess.run([sys.executable, "-m", "gusp.cli", "serve", "--port", str(port.getsockname()[1])],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "gusp serve ne démarre pas. Bibliothèques web absentes (leaflet/dist/leaflet.js" in result.stderr
    assert "scripts/setup_web.sh" in result.stderr
