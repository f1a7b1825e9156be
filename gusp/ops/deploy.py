"""The production files, rendered from deploy/ templates and the settings: nginx's site, systemd's units.

`gusp deploy render` writes them under a root directory (`/` on the server, a temporary one in
tests), so the files a city installs are the very ones the tests run nginx with.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from gusp.config import PROJECT_DIR, Settings

TEMPLATES = PROJECT_DIR / "deploy"
UNITS = ("gusp-web.service", "gusp-worker.service", "gusp-daily.service", "gusp-daily.timer", "gusp-backup.service",
         "gusp-backup.timer")


@dataclass(frozen=True)
class Site:
    server_name: str
    certificate: Path
    certificate_key: Path
    backends: list[str] = field(default_factory=lambda: ["127.0.0.1:8000"])
    http_port: int = 80
    https_port: int = 443
    listen_address: str = ""  # e.g. "127.0.0.1:" to listen on one address only


@dataclass(frozen=True)
class Service:
    user: str = "gusp"
    app_dir: Path = Path("/opt/gusp")
    env_file: Path = Path("/etc/gusp/gusp.env")
    app_port: int = 8000
    backup_dir: Path = Path("/var/backups/gusp")
    backup_keep_days: int = 14


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def nginx_site(site: Site, settings: Settings) -> str:
    return _environment().get_template("nginx/gusp.conf.j2").render(
        **vars(site),
        https_port_suffix="" if site.https_port == 443 else f":{site.https_port}",
        client_max_body_size=settings.max_request_bytes,
    )


def systemd_unit(name: str, service: Service, settings: Settings) -> str:
    return _environment().get_template(f"systemd/{name}.j2").render(
        **vars(service), gusp=service.app_dir / ".venv" / "bin" / "gusp", media_dir=settings.media_dir,
    )


def render(root: Path, *, site: Site, service: Service, settings: Settings) -> list[Path]:
    """Write nginx's site and the systemd units under root; returns the files written."""
    files = {root / "etc/nginx/sites-available/gusp.conf": nginx_site(site, settings)}
    for name in UNITS:
        files[root / "etc/systemd/system" / name] = systemd_unit(name, service, settings)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return list(files)


def self_signed_certificate(directory: Path, host: str, *, days: int = 825) -> tuple[Path, Path]:
    """A self-signed certificate for host (and 127.0.0.1), made once; replace it with the real one later."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "gusp.crt", directory / "gusp.key"
    if not certificate.exists() or not key.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", str(days),
             "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1",
             "-keyout", str(key), "-out", str(certificate)],
            check=True, capture_output=True,
        )
        key.chmod(0o600)
    return certificate, key
