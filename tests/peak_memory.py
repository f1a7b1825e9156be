"""Run as `python -m tests.peak_memory FILE`: one photo processed in this fresh process; prints its
estimated cost and its measured peak, the rise of VmHWM above the RSS before it, in bytes (Linux).
The estimate is the decode budget's share plus the face detector's working memory, which the
detector bounds apart (gusp.photos.faces.DETECTIONS_AT_ONCE).

The format's libraries are loaded first by a small photo of the same format, so that only the
photo's own memory is counted, as in a server that has already processed photos.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from gusp import photos
from gusp.photos import budget, decode, faces
from tests import builders_photos as build


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(path: str) -> None:
    data = Path(path).read_bytes()
    settings = build.photo_settings(max_photo_bytes=64 * 1024 * 1024)
    source_format = decode.sniff(data)
    small = {
        "JPEG": lambda: build.make_jpeg(64, 48),
        "PNG": lambda: build.encode(build.marked_image(64, 48, "RGBA"), "PNG"),
        "WEBP": lambda: build.encode(build.marked_image(64, 48), "WEBP"),
        "HEIF": lambda: build.make_heic(64, 48),
    }[source_format]()
    photos.process(io.BytesIO(small), settings=settings)
    estimate = budget.estimate(decode.open_header(data, source_format, settings=settings, field="photos"),
                               settings=settings)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS
    before = _kib("VmRSS")
    processed = photos.process(io.BytesIO(data), settings=settings)
    estimate += faces.working_bytes((processed.display.width, processed.display.height), settings.face_detection_px)
    print(json.dumps({"estimate": estimate, "peak": _kib("VmHWM") - before}))


if __name__ == "__main__":
    main(sys.argv[1])
