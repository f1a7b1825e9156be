"""The files of a production install: rendered units that systemd accepts, a site nginx accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gusp.config import PROJECT_DIR
from gusp.ops import deploy
from tests.ops import live
from tests.test_cli import cli_env, gusp  # noqa: F401  (cli_env is a fixture)


def rendered(tmp_path: Path, settings) -> Path:
    certificate, key = deploy.self_signed_certificate(tmp_path / "tls", "signalements.ville.test")
    deploy.render(
        tmp_path / "root",
        site=deploy.Site(server_name="signalements.ville.test", certificate=certificate, certificate_key=key),
        service=deploy.Service(app_dir=PROJECT_DIR, env_file=tmp_path / "gusp.env"),
        settings=settings,
    )
    (tmp_path / "gusp.env").write_text("GUSP_ENV=production\n")
    return tmp_path / "root"


def test_systemd_accepts_every_unit(tmp_path, settings):
    units = rendered(tmp_path, settings) / "etc/systemd/system"
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (Debian's systemd package)")

    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(units / u) for u in deploy.UNITS)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Failed" not in result.stderr, result.stderr


def test_the_units_run_the_checkout_s_gusp_as_the_service_user(tmp_path, settings):
    web = (rendered(tmp_path, settings) / "etc/systemd/system/gusp-web.service").read_text()

    assert f"ExecStart={PROJECT_DIR}/.venv/bin/gusp serve --host 127.0.0.1 --port 8000 --forwarded-allow-ips 127.0.0.1" in web
    assert "User=gusp" in web and f"ReadWritePaths={settings.media_dir}" in web
    assert "PROMETHEUS_MULTIPROC_DIR=/run/gusp/metrics" in web
    backup = (rendered(tmp_path, settings) / "etc/systemd/system/gusp-backup.service").read_text()
    assert "backup /var/backups/gusp/$(date +%%Y-%%m-%%d-%%H%%M)" in backup


def test_nginx_accepts_the_site_and_its_body_limit_is_the_app_s(tmp_path, settings):
    site = (rendered(tmp_path, settings) / "etc/nginx/sites-available/gusp.conf").read_text()
    directory = tmp_path / "nginx"
    directory.mkdir()

    config = live.nginx_main_config(directory, site.replace("listen 80;", "listen 127.0.0.1:1080;")
                                    .replace("listen 443 ssl", "listen 127.0.0.1:1443 ssl"))
    checked = subprocess.run([live.NGINX, "-t", "-c", str(config)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stderr
    assert f"client_max_body_size {settings.max_request_bytes};" in site


def test_the_install_script_is_valid_shell_and_refuses_to_run_without_a_name():
    script = PROJECT_DIR / "scripts" / "install-server.sh"

    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    refused = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert refused.returncode == 2 and "--server-name" in refused.stderr


def test_gusp_daily_runs_every_nightly_purge(cli_env):
    assert gusp(cli_env, "db", "upgrade").returncode == 0
    result = gusp(cli_env, "daily")

    assert result.returncode == 0, result.stderr
    for step in ("Comptes :", "Coordonnées de déclarants effacées", "Photos des signalements clos",
                 "Ménage du stockage des photos"):
        assert step in result.stdout
