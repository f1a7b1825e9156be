"""Real processes for the operations tests: `gusp serve` as the systemd unit runs it, and nginx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gusp.config import Settings
from tests import smtp

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a server gets from /etc/gusp/gusp.env, for these settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUSP_")}
    env.update({
        "GUSP_DATABASE_URL": settings.database_url,
        "GUSP_MEDIA_DIR": str(settings.media_dir),
        "GUSP_MEDIA_URL": settings.media_url,
        "GUSP_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "GUSP_S3_ACCESS_KEY": settings.s3_access_key,
        "GUSP_S3_SECRET_KEY": settings.s3_secret_key,
        "GUSP_S3_REGION": settings.s3_region,
        "GUSP_PUBLIC_URL": settings.public_url,
        "GUSP_ENV": settings.env,
        "GUSP_SMTP_HOST": settings.smtp_host,
        "GUSP_SMTP_PORT": str(settings.smtp_port),
    })
    env.update(extra)
    return env


def wait_until_up(url: str, *, timeout_s: float = 90, **client_options) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2, **client_options).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} does not answer")
        time.sleep(0.1)


@contextmanager
def gusp_serve(env: dict[str, str], *, log: Path, workers: int = 1, port: int | None = None) -> Iterator[int]:
    """`gusp serve` in a process of its own, trusting the local proxy; yields its port."""
    port = port or smtp.free_port()
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gusp.cli", "serve", "--port", str(port), "--workers", str(workers),
             "--forwarded-allow-ips", "127.0.0.1"],
            env=env, cwd=ROOT, stdout=output, stderr=output, start_new_session=True,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _wait_for_port(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def nginx_main_config(directory: Path, site: str) -> Path:
    """A whole nginx.conf around the rendered site, every path in directory (no /etc, no /var)."""
    (directory / "gusp.conf").write_text(site)
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    config = directory / "nginx.conf"
    config.write_text(f"""
user root;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {directory}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {directory}/gusp.conf;
}}
""")
    return config


@contextmanager
def nginx(config: Path, *, ports: list[int]) -> Iterator[None]:
    checked = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(config), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        for port in ports:
            _wait_for_port(port)
        yield
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=20)
