"""Structured logs: JSON lines with the request id, and no secret in any line."""

from __future__ import annotations

import json
import logging

from gusp.ops import logs


def test_each_request_gets_an_id_sent_back_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="gusp.access"):
        response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        other = client.get("/healthz?jeton=secret-du-lien")

    assert response.headers["x-request-id"] == "abc-123"
    assert len(other.headers["x-request-id"]) == 32
    lines = [json.loads(logs.JsonFormatter().format(r)) for r in caplog.records if r.name == "gusp.access"]
    assert [(line["path"], line["status"]) for line in lines] == [("/healthz", 200), ("/healthz", 200)]
    assert lines[0]["request_id"] == "abc-123"
    assert "secret-du-lien" not in json.dumps(lines)


def test_a_forged_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "a b\"}{"})

    assert response.headers["x-request-id"] != "a b\"}{"


def test_secrets_are_masked_wherever_they_appear():
    record = logging.makeLogRecord({
        "name": "gusp.test", "levelname": "WARNING",
        "msg": "reset link https://gusp.example/reinitialiser?jeton=%s, password=%s, Authorization: Bearer %s",
        "args": ("TOKEN123", "hunter2", "XYZ"),
    })

    line = logs.JsonFormatter().format(record)

    assert json.loads(line)["level"] == "WARNING"
    for secret in ("TOKEN123", "hunter2", "XYZ"):
        assert secret not in line
