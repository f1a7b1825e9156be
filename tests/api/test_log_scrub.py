"""Secrets masked in the access log (issue 10, point 6)."""

from __future__ import annotations

import logging

from gusp.api import log_scrub


def test_tokens_are_masked_in_the_access_log(caplog):
    """Issue 10, point 6: an old `?jeton=` link must not leave its token in uvicorn's access log."""
    log_scrub.install()
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", "/reinitialiser?jeton=s3cr3t-v4lue&x=1",
                    "1.1", 200)
    assert "s3cr3t-v4lue" not in caplog.text
    assert "/reinitialiser?jeton=[masqué]&x=1" in caplog.text
