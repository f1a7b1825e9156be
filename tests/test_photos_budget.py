"""The decode memory budget: estimates that bound the real peak, one bound for every thread, 503 past the wait."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gusp import diagnostics, errors, photos, states, storage, triage
from gusp.models import Report
from gusp.photos import budget, decode
from gusp.schemas_diagnostics import DiagnosticCreate, FindingCreate
from tests import builders
from tests import builders_photos as build
from tests.builders_photos import photo_settings

ROOT = Path(__file__).resolve().parent.parent

# --- the budget itself


def test_shares_are_granted_while_they_fit_and_returned_on_release():
    pool = budget.Budget(100)

    assert pool.acquire(60, timeout=0) and pool.acquire(40, timeout=0)
    assert not pool.acquire(1, timeout=0.05)
    pool.release(40)
    assert pool.acquire(30, timeout=0)
    assert pool.used == 90


def test_a_share_larger_than_the_budget_waits_for_the_whole_budget_alone():
    pool = budget.Budget(100)
    assert pool.acquire(10, timeout=0)

    assert not pool.acquire(500, timeout=0.05)
    pool.release(10)
    assert pool.acquire(500, timeout=0)
    assert pool.used == 100
    pool.release(500)
    assert pool.used == 0


def test_first_come_first_served_a_large_share_is_not_overtaken_by_small_ones():
    pool = budget.Budget(100)
    assert pool.acquire(50, timeout=0)
    order: list[str] = []

    def take(name: str, amount: int) -> None:
        if pool.acquire(amount, timeout=5):
            order.append(name)

    large = threading.Thread(target=take, args=("large", 80))
    large.start()
    while pool.waiting == 0:
        time.sleep(0.005)
    small = threading.Thread(target=take, args=("small", 30))
    small.start()
    time.sleep(0.1)
    assert order == []  # 30 would fit beside the 50 held, but the large share asked first
    pool.release(50)
    large.join(5)
    assert order == ["large"]
    pool.release(80)
    small.join(5)
    assert order == ["large", "small"]


def test_past_the_queue_length_a_request_is_refused_at_once():
    pool = budget.Budget(100, max_waiting=2)
    assert pool.acquire(100, timeout=0)
    waiters = [threading.Thread(target=pool.acquire, args=(10,), kwargs={"timeout": 1}) for _ in range(2)]
    for waiter in waiters:
        waiter.start()
    while pool.waiting < 2:
        time.sleep(0.005)

    started = time.monotonic()
    assert not pool.acquire(10, timeout=5)
    assert time.monotonic() - started < 1
    for waiter in waiters:
        waiter.join(5)


def test_many_threads_never_hold_more_than_the_budget():
    pool = budget.Budget(100)
    held, peak, lock = [0], [0], threading.Lock()

    def work(amount: int) -> None:
        for _ in range(30):
            if pool.acquire(amount, timeout=10):
                with lock:
                    held[0] += amount
                    peak[0] = max(peak[0], held[0])
                time.sleep(0.001)
                with lock:
                    held[0] -= amount
                pool.release(amount)

    threads = [threading.Thread(target=work, args=(amount,)) for amount in (10, 25, 40, 60, 90, 15, 35, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert 90 <= peak[0] <= 100
    assert pool.used == 0 and pool.waiting == 0


# --- through photos.process: refused, not killed


@pytest.fixture
def full_budget():
    """The process's budget for a capacity no other test uses, wholly taken by someone else."""
    settings = photo_settings(decode_memory_mb=97, decode_wait_s=0.2)
    shared = budget.shared(97 * budget.MIB)
    assert shared.acquire(shared.capacity, timeout=0)
    yield settings
    shared.release(shared.capacity)


def test_a_photo_that_cannot_get_its_share_in_time_is_answered_503_with_retry_after(full_budget):
    started = time.monotonic()
    with pytest.raises(errors.ServiceUnavailable) as refused:
        photos.process(io.BytesIO(build.make_jpeg(640, 480)), settings=full_budget)

    assert 0.2 <= time.monotonic() - started < 5
    assert refused.value.status == 503
    assert refused.value.headers() == {"Retry-After": str(budget.RETRY_AFTER_S)}
    assert refused.value.body() == {
        "code": "photos_en_attente",
        "message": "Le serveur traite beaucoup de photos en ce moment : réessayez dans quelques secondes.",
    }


def test_the_share_is_returned_after_a_refused_photo():
    settings = photo_settings(decode_memory_mb=98)
    with pytest.raises(errors.Unprocessable, match="photo_illisible"):
        photos.process(io.BytesIO(build.make_jpeg(400, 300)[:-2]), settings=settings)
    photos.process(io.BytesIO(build.make_jpeg(400, 300)), settings=settings)

    assert budget.shared(98 * budget.MIB).used == 0


# --- the estimates, and the pixel limit they give each format and mode


def _header(data: bytes, **overrides: object) -> decode.Header:
    settings = photo_settings(**overrides)
    return decode.open_header(data, decode.sniff(data), settings=settings, field="photos")


def test_channels_and_bytes_per_pixel_count():
    grey = budget.estimate(_header(build.png_bomb(3000, 3000, colour_type=0)), settings=photo_settings())
    rgba = budget.estimate(_header(build.png_bomb(3000, 3000, colour_type=6)), settings=photo_settings())
    grey16 = budget.estimate(_header(build.png_bomb(3000, 3000, colour_type=0, depth=16)), settings=photo_settings())

    assert grey < grey16 < rgba
    assert rgba - grey >= 3000 * 3000 * 3  # three more bytes a pixel, at least


def test_the_pixel_limit_depends_on_the_format_and_mode():
    """Under a 64 MiB budget, a 12-megapixel grey JPEG (decoded at half size) fits; an RGBA PNG of the same size does not."""
    settings = photo_settings(decode_memory_mb=64)
    grey = build.make_jpeg(image=build.marked_image(4000, 3000, "L"), quality=70)
    stored = photos.process(io.BytesIO(grey), settings=settings)
    assert (stored.display.width, stored.display.height) == (2000, 1500)

    with pytest.raises(errors.Unprocessable) as refused:
        photos.process(io.BytesIO(build.png_bomb(4000, 3000)), settings=settings)
    assert refused.value.code == "photo_trop_grande"
    assert 1_000_000 < refused.value.details["max_pixels"] < 12_000_000  # this mode's limit, not the 60 Mpx one


def test_a_heic_costs_more_than_a_jpeg_of_the_same_size():
    heic = budget.estimate(_header(build.make_heic(1200, 900)), settings=photo_settings())
    jpeg = budget.estimate(_header(build.make_jpeg(1200, 900)), settings=photo_settings())

    assert heic > jpeg + 1200 * 900 * 4


_PEAK_CASES = {
    "rgba png, flattened in bands": ("png_bomb", (4000, 4000, 6, 8)),
    "16-bit grey png": ("png_bomb", (3000, 3000, 0, 16)),
    "progressive 4:4:4 jpeg": ("progressive", (3000, 2000)),
    "jpeg decoded at 5/8": ("baseline", (3264, 2448)),
    "webp": ("webp", (2400, 1800)),
    "heic": ("heic", (1600, 1200)),
}


@pytest.mark.parametrize("case", _PEAK_CASES.values(), ids=_PEAK_CASES.keys())
def test_the_estimate_bounds_the_real_peak(case, tmp_path):
    """Measured in a fresh process: the peak RSS of one photo's processing above its RSS before (VmHWM)."""
    kind, args = case
    if kind == "png_bomb":
        data = build.png_bomb(args[0], args[1], colour_type=args[2], depth=args[3])
    elif kind == "progressive":
        data = build.encode(build.noisy_image(*args), "JPEG", quality=90, progressive=True, subsampling=0)
    elif kind == "baseline":
        data = build.encode(build.noisy_image(*args), "JPEG", quality=90)
    elif kind == "webp":
        data = build.encode(build.noisy_image(*args), "WEBP", quality=80)
    else:
        data = build.make_heic(*args)
    path = tmp_path / "photo.bin"
    path.write_bytes(data)

    out = subprocess.run([sys.executable, "-m", "tests.peak_memory", str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    measured = json.loads(out.stdout)

    assert measured["peak"] > 0
    assert measured["estimate"] >= measured["peak"], measured


# --- every path that decodes photos waits for its share: intake, resolution, walking diagnostics (Open311: tests/open311)


@pytest.fixture
def busy(settings, full_budget):
    """The test's settings, sharing the fully taken budget of `full_budget`."""
    return settings.model_copy(update={"decode_memory_mb": 97, "decode_wait_s": 0.2})


def test_a_report_whose_photo_waits_too_long_is_answered_503_and_nothing_is_written(app, client, session, busy):
    app.state.settings = busy
    before = session.scalar(select(func.count()).select_from(Report))

    response = client.post("/api/v1/reports", data=builders.form(session),
                           files={"photos": ("photo.jpg", build.make_jpeg(640, 480), "image/jpeg")})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(budget.RETRY_AFTER_S)
    assert response.json()["code"] == "photos_en_attente"
    assert session.scalar(select(func.count()).select_from(Report)) == before
    assert builders.stored_files(busy) == []


def test_an_after_photo_waits_for_its_share_too(session, busy):
    report = builders.make_report(session, busy)
    with pytest.raises(errors.ServiceUnavailable):
        triage.resolve(session=session, settings=busy, storage=storage.from_settings(busy), report=report,
                       actor=None, note="Nettoyé.", after_photo=io.BytesIO(build.make_jpeg(640, 480)))
    assert report.status == states.ReportStatus.NOUVEAU


def test_a_walking_diagnostic_photo_waits_for_its_share_too(session, busy):
    coordinator, _ = builders.staff(session, "coordinateur")
    walk = diagnostics.create_diagnostic(session=session, author=coordinator, data=DiagnosticCreate(
        quartier=builders.ENCAGNANE, date=date(2026, 11, 25), title="Diagnostic en marchant"))
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    with pytest.raises(errors.ServiceUnavailable):
        diagnostics.add_finding(session=session, settings=busy, storage=storage.from_settings(busy), diagnostic=walk,
                                data=FindingCreate(kind="point_positif", description="Jardin", lat=lat, lon=lon),
                                uploads=[io.BytesIO(build.make_jpeg(640, 480))], author=coordinator)
