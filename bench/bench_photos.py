"""How fast and how lean is the photo pipeline, against naive Pillow and libvips' thumbnail?

Run: `python bench/bench_photos.py [--runs 15] [--rounds 3]`. It generates a photo-like 12-megapixel JPEG
(4000×3000, gradients, shapes, sensor noise, EXIF orientation 6), then runs each pipeline in a
fresh subprocess: one first run whose peak RSS above the post-import baseline is recorded
(tracemalloc does not see Pillow's or libvips' C allocations), then timed runs; the pipelines
take turns over a few rounds so that other load on the machine hits them alike. Every pipeline
produces the two stored outputs: a display JPEG (long side 2048) and a thumbnail (400), metadata
stripped, quality 85.
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DISPLAY, THUMBNAIL, QUALITY = 2048, 400, 85

PIPELINES = {
    "gusp": "(a) `gusp.photos.process`",
    "gusp_exact": "(a') `gusp.photos.process`, `MIN_FILL = 1.0` (exact 2048)",
    "naive": "(b) naive Pillow: full decode, exif_transpose, 2 resizes",
    "vips": "(c) libvips `thumbnail_buffer` ×2",
    "vips_same": "(c') libvips `thumbnail_buffer` ×2, at (a)'s display size",
}


def make_photo(path: Path, *, width: int = 4000, height: int = 3000, seed: int = 12) -> None:
    """A JPEG that compresses like a phone photo: smooth colour fields, hard edges, sensor noise."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    fields = Image.new("RGB", (16, 12))
    fields.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
    image = fields.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(300):  # facades, windows, cars, bins
        x, y = rnd.randrange(width), rnd.randrange(height)
        box = (x, y, x + rnd.randrange(20, width // 6), y + rnd.randrange(20, height // 6))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.rectangle if rnd.random() < 0.5 else draw.ellipse)(box, fill=colour)
    for _ in range(400):  # wires, kerbs, railings
        line = (rnd.randrange(width), rnd.randrange(height), rnd.randrange(width), rnd.randrange(height))
        draw.line(line, fill=tuple(rnd.randrange(256) for _ in range(3)), width=rnd.randrange(1, 6))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 10) for _ in range(3)])
    image = ImageChops.add(image, noise, 1.0, -128)
    exif = Image.Exif()
    exif[0x0112] = 6  # held in portrait: stored landscape, shown rotated 90° clockwise
    exif[0x010F] = "BenchPhone"
    image.save(path, "JPEG", quality=92, exif=exif)


# --- the pipelines, each returning (display bytes, display size, thumbnail bytes, thumbnail size)


def _gusp(data: bytes, *, exact: bool = False) -> Callable[[], tuple]:
    from gusp import photos
    from gusp.config import Settings
    from gusp.photos import resize

    if exact:
        resize.MIN_FILL = 1.0
    settings = Settings(display_max_px=DISPLAY, thumbnail_max_px=THUMBNAIL, jpeg_quality=QUALITY)

    def run() -> tuple:
        result = photos.process(io.BytesIO(data), settings=settings)
        d, t = result.display, result.thumbnail
        return d.data, (d.width, d.height), t.data, (t.width, t.height)

    return run


def _naive(data: bytes) -> Callable[[], tuple]:
    from PIL import Image, ImageOps

    def fit(size: tuple[int, int], max_px: int) -> tuple[int, int]:
        ratio = min(1.0, max_px / max(size))
        return round(size[0] * ratio), round(size[1] * ratio)

    def encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=QUALITY)
        return buffer.getvalue()

    def run() -> tuple:
        image = Image.open(io.BytesIO(data))
        image.load()
        image = ImageOps.exif_transpose(image)
        display = image.resize(fit(image.size, DISPLAY), Image.Resampling.LANCZOS)
        thumbnail = image.resize(fit(image.size, THUMBNAIL), Image.Resampling.LANCZOS)
        return encode(display), display.size, encode(thumbnail), thumbnail.size

    return run


def _vips(data: bytes, *, display: int = DISPLAY) -> Callable[[], tuple]:
    import pyvips

    pyvips.cache_set_max(0)  # no operation cache: every run decodes, as a server would

    def run() -> tuple:
        d = pyvips.Image.thumbnail_buffer(data, display, size="down")
        t = pyvips.Image.thumbnail_buffer(data, THUMBNAIL, size="down")
        return (
            d.jpegsave_buffer(Q=QUALITY, keep="none"),
            (d.width, d.height),
            t.jpegsave_buffer(Q=QUALITY, keep="none"),
            (t.width, t.height),
        )

    return run


def _memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker(name: str, path: Path, runs: int, display: int) -> dict:
    """Runs in its own process: baseline after imports, peak RSS of one run, then timed runs."""
    data = path.read_bytes()
    run = {
        "gusp": lambda: _gusp(data),
        "gusp_exact": lambda: _gusp(data, exact=True),
        "naive": lambda: _naive(data),
        "vips": lambda: _vips(data),
        "vips_same": lambda: _vips(data, display=display),
    }[name]()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
        peak_reset = True
    except OSError:
        peak_reset = False
    baseline = _memory_kib("VmRSS")
    display_data, display_size, thumb_data, thumb_size = run()
    peak = _memory_kib("VmHWM") - baseline
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "times": times,
        "peak_mib": peak / 1024,
        "peak_exact": peak_reset,
        "display": display_size,
        "thumbnail": thumb_size,
        "bytes": (len(display_data), len(thumb_data)),
    }


def machine() -> list[str]:
    import pyvips
    from PIL import __version__ as pillow_version
    from PIL import features

    cpu = common.cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores ({usable} usable by this process)",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- Pillow {pillow_version} (libjpeg-turbo {features.version('libjpeg_turbo')}), "
        f"pillow-heif {_version('pillow_heif')}",
        f"- libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (pyvips {_version('pyvips')}), "
        f"VIPS_CONCURRENCY={os.environ.get('VIPS_CONCURRENCY', 'default')}",
    ]


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per pipeline (median reported)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per pipeline, interleaved")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--display", type=int, default=DISPLAY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.input, args.runs, args.display)))
        return

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo-12mp.jpg"
        make_photo(path)
        size = path.stat().st_size
        results: dict[str, dict] = {}
        per_round = max(1, args.runs // args.rounds)
        for _ in range(args.rounds):  # pipelines interleaved, so a busy moment hurts them all alike
            for name in PIPELINES:
                display = max(results["gusp"]["display"]) if "gusp" in results else DISPLAY
                command = [sys.executable, __file__, "--worker", name, "--input", str(path), "--runs", str(per_round)]
                out = subprocess.run([*command, "--display", str(display)], check=True, capture_output=True, text=True)
                result = json.loads(out.stdout)
                if name in results:
                    result["times"] += results[name]["times"]
                    result["peak_mib"] = min(result["peak_mib"], results[name]["peak_mib"])
                results[name] = result
    runs = len(results["gusp"]["times"])

    print(f"Input: 4000×3000 JPEG, quality 92, EXIF orientation 6, {size / 1e6:.1f} MB; "
          f"outputs: JPEG q{QUALITY}, display ≤ {DISPLAY} px, thumbnail ≤ {THUMBNAIL} px, no metadata.")
    print(f"Median of {runs} runs in {args.rounds} fresh processes per pipeline (interleaved), each after one "
          "untimed run; peak RSS: that first run's, above the process's RSS after imports (lowest of the rounds).\n")
    print("| Pipeline | Display | Thumbnail | Median ms | Min ms | Peak RSS MiB | Output KB (display + thumb) |")
    print("|---|---|---|---:|---:|---:|---|")
    for name, label in PIPELINES.items():
        r = results[name]
        peak = f"{r['peak_mib']:.0f}" + ("" if r["peak_exact"] else " (upper bound)")
        print(
            f"| {label} | {r['display'][0]}×{r['display'][1]} | {r['thumbnail'][0]}×{r['thumbnail'][1]} "
            f"| {statistics.median(r['times']):.0f} | {min(r['times']):.0f} | {peak} | {r['bytes'][0] // 1000} + {r['bytes'][1] // 1000} |"
        )
    print()
    print("\n".join(machine()))
    print(f"- load average (1 min) at start: {load:.2f}")


if __name__ == "__main__":
    main()
