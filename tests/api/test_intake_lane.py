"""The intake's fast lane (gusp/api/intake_lane.py), served by uvicorn on a database of its own (real
commits): a stranger's report without photo is taken on the event loop with the same answer and
rows as the route's; everything else passes through to the route and gets the route's answer;
the hourly limit holds under concurrency; a connection closed while idle is replaced; a lost answer
is replayed by the route with an Idempotency-Key, and `enregistrement_incertain` without."""

from __future__ import annotations

from collections.abc import Iterator
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select, text

from gusp import db
from gusp.api.main import create_app
from gusp.models import OutboxMessage, Report, ReportEvent
from gusp.models.throttle import RateCounter
from tests import builders, pgproxy
from tests.clock import clear_of_a_window_edge
from tests.web.conftest import serve

pytestmark = pytest.mark.clock


class Served:
    def __init__(self, app, url: str, settings):
        self.app, self.url, self.settings = app, url, settings
        self.http = httpx.Client(base_url=url, timeout=30)

    @property
    def taken(self) -> int:
        return self.app.state.intake_lane.reports_taken


@pytest.fixture
def direct(committed_settings):
    engine = db.make_engine(committed_settings.database_url)
    with db.make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _served(settings) -> Iterator[Served]:
    app = create_app(settings)
    with serve(app) as url:
        served = Served(app, url, settings)
        yield served
        served.http.close()
    app.state.engine.dispose()


@pytest.fixture
def lane(committed_settings) -> Iterator[Served]:
    yield from _served(committed_settings.model_copy(update={"intake_lane_connections": 4}))


@pytest.fixture
def route(committed_settings) -> Iterator[Served]:
    yield from _served(committed_settings.model_copy(update={"intake_lane_connections": 0}))


@pytest.fixture(autouse=True)
def _clear_of_the_hour() -> None:
    """The lane commits each report on its own: its counts must not straddle an hour's end."""
    clear_of_a_window_edge(3600, margin=20)


def _comparable(body: dict) -> dict:
    """An answer without what differs between two reports filed a moment apart."""
    body = dict(body)
    for name in ("reference", "created_at", "follow_url", "timeline"):
        body.pop(name)
    return body


def _timed(served: Served) -> float:
    """Requests timed as `POST /api/v1/reports` answered 2xx (gusp.ops.metrics; /metrics from loopback)."""
    page = served.http.get("/metrics").text
    line = 'gusp_http_request_duration_seconds_count{method="POST",route="/api/v1/reports",status="2xx"} '
    return sum(float(row[len(line):]) for row in page.splitlines() if row.startswith(line))


def test_the_lane_answers_and_writes_as_the_route_does(lane, route, direct):
    # The public view's redaction applies to the lane's answer as to the route's (rule of the house 7).
    fields = builders.form(direct, description="Sacs devant le hall, appelez-moi au 06 12 34 56 78 ou awa@example.org")
    by_route = route.http.post("/api/v1/reports", data=fields)
    timed = _timed(lane)
    as_form = lane.http.post("/api/v1/reports", data=fields)
    as_multipart = lane.http.post("/api/v1/reports", files={name: (None, value) for name, value in fields.items()})

    assert by_route.status_code == as_form.status_code == as_multipart.status_code == 201, as_form.text
    assert lane.taken == 2 and route.taken == 0
    assert _timed(lane) - timed == 2  # the metrics name the route the lane stood in for
    for answer in (as_form, as_multipart):
        body = answer.json()
        assert "56 78" not in answer.text and "awa@example.org" not in answer.text
        assert _comparable(body) == _comparable(by_route.json())
        assert answer.headers["location"] == f"/api/v1/reports/{body['reference']}"
        assert answer.headers["x-content-type-options"] == "nosniff"  # the middlewares apply
        assert lane.http.get(answer.headers["location"]).json() == body  # the answer is the public view
        report = direct.scalars(select(Report).where(Report.reference == body["reference"])).one()
        [created] = direct.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
        assert created.data["likely_duplicates"][0] == by_route.json()["reference"]
        routed = direct.scalars(select(Report).where(Report.reference == by_route.json()["reference"])).one()
        assert (report.source, report.quartier_id, report.partner_id, report.published) == (
            routed.source, routed.quartier_id, routed.partner_id, routed.published)
    counted = direct.scalars(select(RateCounter.count).where(RateCounter.key.like("intake-ip:%"))).all()
    assert counted == [3]  # one hour, the route's report and the lane's two, from the same address


def test_everything_else_passes_through_to_the_route(lane, route, direct):
    fields = builders.form(direct)
    cases = {
        "photo": dict(files=[("photos", ("p.jpg", builders.jpeg(), "image/jpeg"))], data=fields),
        "receipt": dict(data={**fields, "contact_email": "awa@example.org", "contact_consent": "true"}),
        "unknown category": dict(data={**fields, "category": "inconnue"}),
        "far away": dict(data={**fields, "lat": "48.85", "lon": "2.35"}),
        "invalid field": dict(data={**fields, "lat": "au nord"}),
        "NUL": dict(data={**fields, "description": "sacs\x00"}),
        "bad key": dict(data=fields, headers={"Idempotency-Key": "x" * 300}),
        "query string": dict(data=fields, params={"x": "1"}),
    }
    for name, request in cases.items():
        by_lane = lane.http.post("/api/v1/reports", **request)
        by_route = route.http.post("/api/v1/reports", **request)
        assert by_lane.status_code == by_route.status_code, (name, by_lane.text, by_route.text)
        if by_lane.status_code == 201:
            assert _comparable(by_lane.json()) == _comparable(by_route.json()), name
        else:
            assert by_lane.json() == by_route.json(), name
    assert lane.taken == 0
    assert direct.scalar(select(func.count()).select_from(Report)) == 3 * 2  # refusals wrote nothing
    assert direct.scalar(select(func.count()).select_from(OutboxMessage)) == 2  # the receipts

    first = lane.http.post("/api/v1/reports", data=fields, headers={"Idempotency-Key": "cle-voie-1"})
    again = lane.http.post("/api/v1/reports", data=fields, headers={"Idempotency-Key": "cle-voie-1"})
    assert (first.status_code, again.status_code, lane.taken) == (201, 201, 1)  # the replay is the route's
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


def test_the_hourly_limit_holds_for_concurrent_strangers(committed_settings, direct):
    settings = committed_settings.model_copy(update={"intake_lane_connections": 4, "intake_per_ip_per_hour": 3})
    fields = builders.form(direct)
    for served in _served(settings):
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: served.http.post("/api/v1/reports", data=fields), range(12)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] * 3 + [429] * 9, [a.text for a in answers]
        assert all(a.headers["retry-after"].isdigit() for a in answers if a.status_code == 429)
        assert direct.scalar(select(func.count()).select_from(Report)) == 3
        # Attempts racing for the last place may stay counted (no transaction undoes them): never fewer.
        assert direct.scalar(select(RateCounter.count).where(RateCounter.key.like("intake-ip:%"))) >= 3


def test_a_connection_closed_while_idle_is_replaced_before_use(lane, direct):
    fields = builders.form(direct)
    assert lane.http.post("/api/v1/reports", data=fields).status_code == 201
    lane_backends = text("SELECT pid FROM pg_stat_activity WHERE application_name = 'gusp-intake-lane'")
    pids = direct.scalars(lane_backends).all()
    assert pids  # the lane kept its connection
    direct.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) pid"), {"pids": pids})
    for _ in range(100):  # as after a PostgreSQL restart: the server has closed them
        if not set(pids) & set(direct.scalars(lane_backends).all()):
            break
        time.sleep(0.05)

    answer = lane.http.post("/api/v1/reports", data=fields)  # no Idempotency-Key: no second chance

    assert answer.status_code == 201, answer.text
    assert lane.taken == 2
    assert direct.scalar(select(func.count()).select_from(Report)) == 2


@pytest.mark.parametrize("key", ["zone-blanche-voie-1", None])
def test_a_lost_answer_is_replayed_with_a_key_and_uncertain_without(committed_settings, direct, key):
    fields = builders.form(direct)
    headers = {"Idempotency-Key": key} if key else {}
    with pgproxy.running_proxy(committed_settings.database_url) as (proxy, url):
        for served in _served(committed_settings.model_copy(update={"database_url": url,
                                                                    "intake_lane_connections": 2})):
            proxy.cut_answer_to(b"INSERT INTO reports")
            lost = served.http.post("/api/v1/reports", data=fields, headers=headers)
            assert proxy.cuts == 1
            assert direct.scalar(select(func.count()).select_from(Report)) == 1  # written, answer lost
            if key:  # the route found the report the lane's statement wrote
                assert lost.status_code == 201, lost.text
                assert lost.headers["idempotent-replayed"] == "true"
                assert served.http.get(lost.headers["location"]).json() == lost.json()
            else:
                assert lost.status_code == 503, lost.text
                assert lost.json()["code"] == "enregistrement_incertain" and lost.headers["retry-after"].isdigit()
            assert served.taken == 0
