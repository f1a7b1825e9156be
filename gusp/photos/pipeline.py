"""Photo pipeline: from an uploaded file to two stored JPEGs that carry nothing but pixels.

Residents' photos come from phones and carry their home's GPS position, the phone's serial
number and sometimes an appended payload. So the real type is sniffed from the bytes, the file
is decoded once (at a reduced size when the JPEG allows it), oriented, converted to sRGB and
re-encoded from pixels only: nothing of the original file survives but the picture.

Faces are blurred in every public rendition before anything is stored (gusp.photos.faces finds
them, gusp.photos.blur smears them); the unblurred display-size picture is kept apart as the
`original`, for staff only, so that a coordinator can blur more or less later. A photo whose
faces could not be looked for is refused: it is never stored unblurred.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from gusp import errors
from gusp.config import Settings
from gusp.ops import metrics
from gusp.photos import blur, budget, decode, faces, resize

log = logging.getLogger(__name__)

# EXIF orientation -> the transposition that shows the photo upright (as ImageOps.exif_transpose).
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Rendition:
    key: str  # "<sha256 hex of data>.jpg" — named by content hash
    data: bytes  # the encoded JPEG
    width: int
    height: int
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class ProcessedPhoto:
    display: Rendition  # long side <= settings.display_max_px (never upscaled); faces blurred
    thumbnail: Rendition  # long side <= settings.thumbnail_max_px; faces blurred
    source_format: str  # "JPEG" | "PNG" | "WEBP" | "HEIF"
    original: Rendition | None = None  # the display unblurred, if anything was blurred: staff only, never public
    regions: tuple[blur.Region, ...] = ()  # what was blurred, in the display's pixels


def process(fileobj: BinaryIO, *, settings: Settings, field: str = "photos") -> ProcessedPhoto:
    """Turn an uploaded photo into a display and a thumbnail JPEG, or refuse it with a domain error."""
    started = time.perf_counter()
    processed = _process(fileobj, settings=settings, field=field)
    metrics.PHOTO_SECONDS.observe(time.perf_counter() - started)
    metrics.PHOTOS_PROCESSED.labels(processed.source_format).inc()
    return processed


def _process(fileobj: BinaryIO, *, settings: Settings, field: str) -> ProcessedPhoto:
    data = decode.read_bounded(fileobj, limit=settings.max_photo_bytes)
    if len(data) > settings.max_photo_bytes:
        raise errors.PayloadTooLarge(
            "photo_trop_lourde",
            f"Cette photo dépasse la taille maximale de {decode.human_size(settings.max_photo_bytes)}.",
            field=field,
            max_bytes=settings.max_photo_bytes,
        )
    source_format = decode.sniff(data)
    if source_format is None:
        raise errors.UnsupportedMediaType(
            "type_photo_non_supporte",
            "Cette photo n'est pas dans un format accepté (JPEG, PNG, WebP ou HEIC).",
            field=field,
        )
    header = decode.open_header(data, source_format, settings=settings, field=field)
    del data  # the header holds the bytes as long as the decoder needs them
    cost = budget.estimate(header, settings=settings)
    budget.admissible(header, cost, settings=settings, field=field)
    # The face detector's activations live while the display copies do: they are held from the same
    # budget (beyond the pixel limit, which depends on the decode alone; a share larger than the
    # budget waits for all of it).
    detection = faces.working_bytes(resize.fit((header.width, header.height), settings.display_max_px),
                                    settings.face_detection_px)
    with budget.reserve(cost + detection, settings=settings):
        return _renditions(header, settings=settings, field=field)


def _renditions(header: decode.Header, *, settings: Settings, field: str) -> ProcessedPhoto:
    """Decode, bring to the display size (flattened, sRGB, upright), then the thumbnail from the display."""
    image, orientation, icc = decode.decode(header, field=field)
    target = settings.display_max_px
    image = resize.shrink(resize.flatten(image, reduce_by=resize.reduce_factor(image.size, target)), target)
    image = resize.to_srgb(image, icc)
    if orientation in _ORIENTATIONS:
        image = image.transpose(_ORIENTATIONS[orientation])
    # Most photos of a street have no face: their renditions are made while the detector looks, on
    # the other core. If it finds one, that display becomes the staff-only original and only the
    # unblurred thumbnail is thrown away (never stored).
    plain_display = resize.in_background(_encode, image, quality=settings.jpeg_quality)
    plain_thumbnail = resize.in_background(_thumbnail, image, settings=settings)
    try:
        boxes = find_faces(image, settings=settings, field=field)
    except BaseException:
        plain_thumbnail.cancel()
        raise
    if not boxes:
        return ProcessedPhoto(display=plain_display.result(), thumbnail=plain_thumbnail.result(),
                              source_format=header.source_format)
    plain_thumbnail.cancel()
    regions = tuple(blur.face_region(b.x, b.y, b.w, b.h) for b in boxes)
    display, thumbnail = public_renditions(image, regions, settings=settings)
    return ProcessedPhoto(display=display, thumbnail=thumbnail, source_format=header.source_format,
                          original=plain_display.result(), regions=regions)


def find_faces(image: Image.Image, *, settings: Settings, field: str) -> list[faces.Box]:
    """The faces of a display image, or a refusal: a photo is never published without being looked at."""
    try:
        return faces.detect(image, model=settings.face_model_file, working_px=settings.face_detection_px)
    except faces.ModelUnavailable as exc:
        log.error("face model unavailable: %s", exc)
        raise errors.ServiceUnavailable(
            "floutage_indisponible",
            "Le floutage automatique des visages est momentanément indisponible : la photo n'a pas été "
            "enregistrée. Réessayez plus tard.",
            field=field,
        ) from exc
    except faces.DetectionFailed as exc:
        log.warning("face detection failed: %s", exc)
        raise errors.Unprocessable(
            "photo_non_analysable",
            "Cette photo n'a pas pu être analysée pour flouter les visages ; elle n'a pas été enregistrée. "
            "Essayez avec une autre photo.",
            field=field,
        ) from exc


def public_renditions(
    image: Image.Image, regions: Sequence[blur.Region], *, settings: Settings
) -> tuple[Rendition, Rendition]:
    """The display and the thumbnail of an upright sRGB display image, with `regions` blurred in both."""
    image = blur.apply(image, regions)
    display = resize.in_background(_encode, image, quality=settings.jpeg_quality)  # while the thumbnail is made
    return display.result(), _thumbnail(image, settings=settings)


def _thumbnail(image: Image.Image, *, settings: Settings) -> Rendition:
    thumb = image.resize(
        resize.fit(image.size, settings.thumbnail_max_px), Image.Resampling.LANCZOS,
        reducing_gap=resize.THUMBNAIL_REDUCING_GAP,
    )
    return _encode(thumb, quality=settings.jpeg_quality)


def remake(original: bytes, regions: Sequence[blur.Region], *, settings: Settings) -> tuple[Rendition, Rendition]:
    """New public renditions from a stored original (a JPEG this pipeline wrote) and the regions to blur."""
    with Image.open(io.BytesIO(original)) as stored:
        image = stored.convert("RGB")
    return public_renditions(image, regions, settings=settings)


def _encode(image: Image.Image, *, quality: int) -> Rendition:
    """Encode pixels only: no EXIF, XMP, ICC or comment is passed, and info is emptied because
    Pillow's JPEG writer copies im.info["comment"] on its own."""
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    return Rendition(
        key=f"{hashlib.sha256(data).hexdigest()}.jpg", data=data, width=image.width, height=image.height
    )


