"""How fast and how lean is the photo pipeline, against naive Pillow and libvips' thumbnail, size by size?

Run: `python bench/bench_photos.py [--runs 15] [--rounds 3] [--sizes 3264x2448 4000x3000]`. It
generates a corpus of photo-like JPEGs at the sizes phones send (5 to 48 megapixels: gradients,
shapes, sensor noise, EXIF orientation 6), then runs each pipeline on each photo in a fresh
subprocess: one first run whose peak RSS above the post-import baseline is recorded (tracemalloc
does not see Pillow's or libvips' C allocations), then timed runs; the pipelines take turns over
a few rounds so that other load on the machine hits them alike, and the ratios are taken within
one run. Every pipeline produces the two stored outputs: a display JPEG (long side 2048) and a
thumbnail (400), metadata stripped, quality 85.

Face detection (CenterFace, run inside `gusp.photos.process` since the blurring work) is left out
by default: neither libvips nor the naive pipeline looks for faces, so GUSP runs with
`pipeline.find_faces` replaced by a function finding nothing, as bench_faces.py's "without" line
does (detection's own cost is measured there). `--with-faces` times the whole of `process`.
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
    "gusp": "`gusp.photos.process`, face detection left out (see --with-faces)",
    "vips": "libvips `thumbnail_buffer` ×2",
    "vips_same": "libvips `thumbnail_buffer` ×2 at GUSP's display size",
    "naive": "naive Pillow: full decode, exif_transpose, 2 Lanczos resizes",
}
# The sizes phones send: (label, width, height). Real 48 MP files are 10-15 MB: generated at a lower quality.
SIZES = [
    ("5 MP", 2592, 1944),
    ("8 MP, jolla.jpg's size", 3264, 2448),
    ("8 MP 16:9", 3840, 2160),
    ("9 MP", 3456, 2592),
    ("10 MP", 3648, 2736),
    ("12 MP", 4000, 3000),
    ("12 MP iPhone", 4032, 3024),
    ("16 MP", 4624, 3472),
    ("24 MP", 6000, 4000),
    ("48 MP", 8064, 6048),
]


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
    image.save(path, "JPEG", quality=92 if width * height < 20_000_000 else 80, exif=exif)


# --- the pipelines, each returning (display bytes, display size, thumbnail bytes, thumbnail size)


def _gusp(data: bytes, *, with_faces: bool = False) -> Callable[[], tuple]:
    from gusp import photos
    from gusp.config import Settings
    from gusp.photos import pipeline

    if not with_faces:  # the same work as the other pipelines: no detector, no blur
        pipeline.find_faces = lambda image, **_: []
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


def worker(name: str, path: Path, runs: int, display: int, *, with_faces: bool = False) -> dict:
    """Runs in its own process: baseline after imports, peak RSS of one run, then timed runs."""
    data = path.read_bytes()
    run = {
        "gusp": lambda: _gusp(data, with_faces=with_faces),
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
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)  # every thread of the process (libvips' too)
    return {
        "times": times,
        "cpu": cpu,
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


def _measure(path: Path, args: argparse.Namespace) -> dict[str, dict]:
    """Every pipeline on one photo, in fresh processes, the pipelines interleaved round after round."""
    results: dict[str, dict] = {}
    per_round = max(1, args.runs // args.rounds)
    for _ in range(args.rounds):  # pipelines interleaved, so a busy moment hurts them all alike
        for name in PIPELINES:
            display = max(results["gusp"]["display"]) if "gusp" in results else DISPLAY
            command = [sys.executable, __file__, "--worker", name, "--input", str(path), "--runs", str(per_round)]
            command += ["--with-faces"] if args.with_faces else []
            out = subprocess.run([*command, "--display", str(display)], check=True, capture_output=True, text=True)
            result = json.loads(out.stdout)
            if name in results:
                result["times"] += results[name]["times"]
                result["cpu"] += results[name]["cpu"]
                result["peak_mib"] = min(result["peak_mib"], results[name]["peak_mib"])
            results[name] = result
    return results


def _size(text: str) -> tuple[str, int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return f"{width * height / 1e6:.0f} MP", width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per pipeline and photo (median reported)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per pipeline and photo, interleaved")
    parser.add_argument("--sizes", nargs="*", type=_size, help="WIDTHxHEIGHT of the photos (default: the corpus)")
    parser.add_argument("--with-faces", action="store_true",
                        help="time GUSP with its face detection (the other pipelines have none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--display", type=int, default=DISPLAY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.input, args.runs, args.display, with_faces=args.with_faces)))
        return

    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, width, height in args.sizes or SIZES:
            path = Path(tmp) / f"photo-{width}x{height}.jpg"
            make_photo(path, width=width, height=height)
            results = _measure(path, args)
            rows.append((label, width, height, path.stat().st_size, results))
            print(f"… {label} done", file=sys.stderr, flush=True)
    runs = len(rows[0][4]["gusp"]["times"])

    detection = "included (--with-faces)" if args.with_faces else "left out (find_faces replaced by a no-op)"
    print(f"GUSP's face detection: {detection}.")
    print(f"Inputs: photo-like JPEGs, EXIF orientation 6, quality 92 (80 from 20 MP); outputs: JPEG q{QUALITY}, "
          f"display ≤ {DISPLAY} px, thumbnail ≤ {THUMBNAIL} px, no metadata. Median of {runs} runs in {args.rounds} "
          "fresh processes per pipeline and photo (interleaved), each after one untimed run; peak RSS: that first "
          "run's, above the process's RSS after imports (lowest of the rounds).\n")
    print("| photo | file MB | GUSP display | GUSP ms | libvips ms | libvips at GUSP's size ms | naive Pillow ms "
          "| GUSP / libvips | naive / GUSP | CPU ms GUSP / libvips / naive | CPU GUSP / libvips | CPU naive / GUSP "
          "| peak RSS MiB GUSP / libvips / naive |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for label, width, height, size, r in rows:
        med = {name: statistics.median(r[name]["times"]) for name in PIPELINES}
        cpu = {name: statistics.median(r[name]["cpu"]) for name in PIPELINES}
        best_vips, best_vips_cpu = min(med["vips"], med["vips_same"]), min(cpu["vips"], cpu["vips_same"])
        peaks = " / ".join(f"{r[name]['peak_mib']:.0f}" for name in ("gusp", "vips", "naive"))
        cpus = " / ".join(f"{cpu[name]:.0f}" for name in ("gusp", "vips", "naive"))
        print(f"| {label} ({width}×{height}) | {size / 1e6:.1f} | {r['gusp']['display'][0]}×{r['gusp']['display'][1]} "
              f"| **{med['gusp']:.0f}** | {med['vips']:.0f} | {med['vips_same']:.0f} | {med['naive']:.0f} "
              f"| **{med['gusp'] / best_vips:.2f}×** | **{med['naive'] / med['gusp']:.1f}×** | {cpus} "
              f"| {cpu['gusp'] / best_vips_cpu:.2f}× | {cpu['naive'] / cpu['gusp']:.1f}× | {peaks} |")
    print()
    print("GUSP / libvips is against the faster of the two libvips runs; CPU ms is the process's CPU time per run, "
          "all threads, less sensitive than wall time to other load on a shared machine.")
    print("\n".join(machine()))
    print(f"- load average (1 min) at start: {load:.2f}, at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
