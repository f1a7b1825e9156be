"""The app factory: what `create_app(settings)` builds from the settings."""

from __future__ import annotations

from gusp.api.main import create_app


def test_the_web_process_keeps_as_many_connections_as_the_settings_say(settings):
    app = create_app(settings.model_copy(update={"db_pool_size": 12}))
    try:
        pool = app.state.engine.pool
        assert (pool.size(), pool._max_overflow) == (12, 12)  # beyond 12 kept, 12 more for a burst
    finally:
        app.state.engine.dispose()
