"""The memory budget of decodes: how much a photo will cost before it is decoded, and one process-wide bound.

A 242 KB PNG can hold 60 megapixels of RGBA (240 MB decoded) and an iPhone HEIC costs about
100 MB: the photos decoded at the same time, in every thread of the process (the server's
thread pool runs up to 40 requests), must fit in `decode_memory_mb`. Each decode reserves its
estimate, computed from the header for its format and mode, before decoding; a request that
cannot get its share within `decode_wait_s` is answered 503 with Retry-After (the phone's outbox
sends it again later), never killed by the kernel's OOM killer. An image whose estimate exceeds
the whole budget could never be decoded: it is refused as too big, and that gives the pixel limit
of each format and mode (a grey JPEG may have more pixels than an RGBA PNG or a HEIC).
"""

from __future__ import annotations

import collections
import ctypes
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from PIL import Image

from gusp import errors
from gusp.config import Settings
from gusp.photos import decode, resize

log = logging.getLogger(__name__)

MIB = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2  # glibc would make up to 8 a core, each keeping what its threads freed
# Pillow's own cache of freed pixel blocks (16 MiB each), reused by the next image of the process:
# a fresh mapping costs the kernel's page faults and zeroing, 10-15 ms for each display-sized image
# on this VM (resample + transposition of a 9 MP photo: 72 ms CPU uncached, 44 ms cached;
# docs/benchmarks.md, 2026-12-04 evening). At most this many blocks stay resident, 64 MiB.
PILLOW_CACHED_BLOCKS = 4
RETRY_AFTER_S = 10  # what a refused request is told to wait; a phone's outbox retries on its own anyway
MAX_WAITING = 8  # requests queued for a share; more are answered 503 at once, keeping threads free for others

# Bytes Pillow stores per pixel for each decoded mode (RGB is stored on four bytes, like RGBA).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_WORKING_COPIES = 3  # display-sized images alive at once: resampled, sRGB or oriented, the encoder's buffers
# The face detector's own memory is not counted here: it is bounded apart (gusp.photos.faces.DETECTIONS_AT_ONCE).
_FIXED = 4 * MIB  # decoder structures, the thumbnail, JPEG output buffers
_CHROMA_SAMPLES = {420: 1.5, 422: 2, 444: 3}  # samples a pixel in a HEIF's YCbCr planes


def pixel_bytes(mode: str) -> int:
    return _PIXEL_BYTES.get(mode, 4)


def estimate(header: decode.Header, *, settings: Settings) -> int:
    """The most memory this photo's processing holds at once, in bytes, from its header alone.

    The compressed bytes, the decoder's own buffers (a progressive JPEG keeps every DCT
    coefficient, libwebp and libheif decode into buffers of their own before Pillow copies),
    the decoded pixels, a mode's flattening, the resample and the display-sized copies.
    """
    image = header.image
    width, height = header.decoded_size  # after a reduced JPEG decode
    # A scaled JPEG decode counts twice: its buffer is no longer copied, the second is a margin.
    decoded = width * height * pixel_bytes(image.mode) * (2 if header.scaled_size else 1)
    source = header.width * header.height
    factor = resize.reduce_factor((width, height), settings.display_max_px)
    reduced = math.ceil(width / factor) * math.ceil(height / factor)
    flattening = reduced * 4 + width * resize.BAND_ROWS * 8 if resize.needs_flattening(image) else 0
    display = resize.fit((width, height), settings.display_max_px)
    resampling = display[0] * math.ceil(height / factor) * 4  # the horizontal pass of a separable resample
    working = _WORKING_COPIES * display[0] * display[1] * 4
    return header.compressed_bytes + _decoder(header, source) + decoded + flattening + resampling + working + _FIXED


def _decoder(header: decode.Header, source_pixels: int) -> int:
    """What the format's decoder allocates besides Pillow's image."""
    image = header.image
    if header.source_format == "JPEG" and (image.info.get("progressive") or image.info.get("progression")):
        # libjpeg buffers the whole image's coefficients (16 bits each), at full size whatever the scale
        layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
        h_max = max(layer[1] for layer in layers) or 1
        v_max = max(layer[2] for layer in layers) or 1
        per_pixel = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)
        return math.ceil(source_pixels * per_pixel * 2) + source_pixels // 16
    if header.source_format == "WEBP":
        # libwebp's animation decoder: its canvas, the previous frame, the frame's own decode,
        # then Pillow's copy of the canvas as bytes (measured: 15 bytes a pixel in all)
        return source_pixels * 14
    if header.source_format == "HEIF":
        # libheif's YCbCr planes (iPhones: 4:2:0, 1.5 samples a pixel), then pillow-heif's interleaved RGB(A)
        depth = 2 if (image.info.get("bit_depth") or 8) > 8 else 1
        planes = _CHROMA_SAMPLES.get(image.info.get("chroma"), 3)
        return math.ceil(source_pixels * depth * (planes + len(image.getbands())))
    return 0


def admissible(header: decode.Header, cost: int, *, settings: Settings, field: str) -> None:
    """Refuse a photo whose decode could never fit in the budget: the per-format and per-mode pixel limit."""
    capacity = settings.decode_memory_mb * MIB
    if cost > capacity:
        per_pixel = cost / (header.width * header.height)
        raise decode.too_big(field, min(settings.max_image_pixels, int(capacity / per_pixel)))


class Budget:
    """A counting semaphore of bytes, first come first served, shared by every thread of the process."""

    def __init__(self, capacity: int, *, max_waiting: int = MAX_WAITING):
        self.capacity = capacity
        self.max_waiting = max_waiting
        self._used = 0
        self._queue: collections.deque[object] = collections.deque()
        self._condition = threading.Condition()

    @property
    def used(self) -> int:
        return self._used

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(self, amount: int, *, timeout: float) -> bool:
        """Take `amount` bytes, waiting in line at most `timeout` seconds; False if not granted."""
        amount = min(amount, self.capacity)  # a larger share waits for the whole budget, alone
        ticket = object()
        with self._condition:
            if len(self._queue) >= self.max_waiting:
                return False
            self._queue.append(ticket)
            try:
                deadline = time.monotonic() + timeout
                while not (self._queue[0] is ticket and self._fits(amount)):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._condition.wait(remaining)
                self._used += amount
                return True
            finally:
                self._queue.remove(ticket)
                self._condition.notify_all()  # the next in line may fit now, or become first

    def release(self, amount: int) -> None:
        with self._condition:
            self._used -= min(amount, self.capacity)
            self._condition.notify_all()

    def _fits(self, amount: int) -> bool:
        return self._used + amount <= self.capacity


@cache
def shared(capacity: int) -> Budget:
    """The process's budget for this capacity: every request of an app built from the same settings shares it."""
    _return_freed_pixels()
    return Budget(capacity)


@cache
def _return_freed_pixels() -> None:
    """Make glibc give large freed blocks back to the system at once, so RSS follows the budget.

    glibc raises its mmap threshold as large blocks are freed (up to 32 MiB), then serves them
    from per-thread arenas that keep freed memory: each of the server's threads kept the pixels
    of its last decode, and eight decodes one after the other left 1.9 GB resident. A fixed
    threshold turns that off: every block of 8 MiB or more (Pillow allocates 16 MiB blocks) is a
    mapping of its own, unmapped when freed, for the cost of the kernel zeroing fresh pages.
    The smaller blocks (decoder rows, the detector's tensors) still stayed in the arena of the
    thread that freed them, and glibc makes up to eight arenas a core: each request thread kept
    some 10–20 MiB, and eight bombs in a row took the server past 1 GB (CI, under load). Two
    arenas shared by all threads keep that bounded for a little lock contention.
    """
    Image.core.set_blocks_max(PILLOW_CACHED_BLOCKS)  # a bounded few kept for reuse (see PILLOW_CACHED_BLOCKS)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 8 * MIB)
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators behave otherwise
        log.info("mallopt unavailable: freed pixels stay with the allocator")


@contextmanager
def reserve(cost: int, *, settings: Settings) -> Iterator[None]:
    """Hold `cost` bytes of the process's decode budget for the block, or refuse with 503 and Retry-After."""
    budget = shared(settings.decode_memory_mb * MIB)
    if not budget.acquire(cost, timeout=settings.decode_wait_s):
        raise errors.ServiceUnavailable(
            "photos_en_attente",
            "Le serveur traite beaucoup de photos en ce moment : réessayez dans quelques secondes.",
            retry_after=RETRY_AFTER_S,
        )
    try:
        yield
    finally:
        budget.release(cost)
