"""Reading an upload: the real type sniffed from the bytes, bombs refused from the header, one decode.

Everything here reads attacker-controlled bytes through C decoders; every failure becomes a
domain error ("photo_illisible", "photo_trop_grande"…), never a 500.
"""

from __future__ import annotations

import io
import logging
import math
import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

from PIL import Image, ImageFile

from gusp import errors
from gusp.config import Settings
from gusp.photos import jpeg_scaled, resize

log = logging.getLogger(__name__)

# Major brands of HEIF files whose images pillow-heif decodes (HEVC stills and sequences,
# generic HEIF); the same list as pillow-heif's own opener, AVIF ("avif", "avis") excluded.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

_EXIF_ORIENTATION = 0x0112


def sniff(data: bytes) -> str | None:
    """The format the bytes really are (magic numbers), whatever the file name or declared type says."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        box_size = int.from_bytes(data[0:4], "big")
        compatible = {data[i : i + 4] for i in range(16, min(box_size, 64), 4)}
        if compatible.isdisjoint(_AVIF_BRANDS):  # an AV1 image in a "mif1" file is AVIF, not HEIC
            return "HEIF"
    return None


def read_bounded(fileobj: BinaryIO, *, limit: int) -> bytes:
    """Read at most limit + 1 bytes: one more than allowed is enough to know the file is too big."""
    data = fileobj.read(limit + 1)
    while 0 < len(data) <= limit:  # a raw stream may return less than asked before its end
        more = fileobj.read(limit + 1 - len(data))
        if not more:
            break
        data += more
    return data


def human_size(size: int) -> str:
    """Bytes as a French figure: "15 Mo", "1,5 Mo", "500 Ko"."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            figure = f"{size / factor:.1f}".removesuffix(".0").replace(".", ",")
            return f"{figure} {unit}"
    return f"{size} octets"


@dataclass(frozen=True)
class Header:
    """What the file says of itself before any pixel is decoded: enough to refuse it or budget its decode."""

    image: Image.Image  # opened, not decoded; a JPEG is already set to decode at a reduced size
    source_format: str
    width: int  # as stored in the file, before any reduced decode
    height: int
    data: bytes = dataclasses.field(repr=False)
    target: int = 0  # the display size the decode aims at
    scaled_size: tuple[int, int] | None = None  # a JPEG decoded at M/8 by jpeg_scaled

    @property
    def compressed_bytes(self) -> int:
        return len(self.data)

    @property
    def decoded_size(self) -> tuple[int, int]:
        """The size of the pixels the decode will give."""
        return self.scaled_size or self.image.size


def open_header(data: bytes, source_format: str, *, settings: Settings, field: str) -> Header:
    """Parse the header only, refusing bombs from it; JPEGs are set to decode at the smallest useful scale.

    Everything here reads attacker-controlled bytes through C decoders and plugins that raise
    many exception types (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError,
    pillow-heif's RuntimeError…), so any exception becomes "photo_illisible", never a 500.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # somebody turned it on: truncated uploads would be stored grey-padded
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for uploaded photos")
    if source_format == "JPEG" and not _jpeg_has_end(data):
        raise _unreadable(field)
    if source_format == "HEIF":
        _register_heif_opener()
    try:
        image = Image.open(io.BytesIO(data), formats=[source_format])
        width, height = image.size
        if width * height > settings.max_image_pixels:
            raise too_big(field, settings.max_image_pixels)
        if width < 1 or height < 1:
            raise _unreadable(field)
        scaled = None
        if source_format == "JPEG":
            scaled = jpeg_scaled.scaled_size(data, (width, height), settings.display_max_px)
            if scaled is None:
                _draft(image, settings.display_max_px)
    except errors.GuspError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit (MAX_IMAGE_PIXELS) may be lower than ours; its warning is an
        # exception only where warnings are turned into errors, as under `pytest -W error`.
        raise too_big(field, settings.max_image_pixels) from exc
    except Exception as exc:
        log.info("unreadable %s upload: %r", source_format, exc)
        raise _unreadable(field) from exc
    return Header(image, source_format, width, height, data, settings.display_max_px, scaled)


def decode(header: Header, *, field: str) -> tuple[Image.Image, int, bytes | None]:
    """Decode the pixels once; returns them, the EXIF orientation and the ICC profile."""
    image = header.image
    try:
        if header.scaled_size:
            pixels = jpeg_scaled.decode(header.data, (header.width, header.height), header.target)
        else:
            image.load()
            pixels = image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _unreadable(field) from exc  # the header passed the limits: a lying file
    except Exception as exc:
        log.info("unreadable %s upload: %r", header.source_format, exc)
        raise _unreadable(field) from exc
    if header.scaled_size and pixels.size != header.scaled_size:
        raise _unreadable(field)
    orientation = _orientation(image)  # read from the header, whichever library decoded the pixels
    icc = image.info.get("icc_profile") or None
    fp = getattr(image, "fp", None)
    if fp is not None:  # the image keeps a reference to its file; the pixels no longer need it
        fp.close()
    return pixels, orientation, icc


def load(data: bytes, source_format: str, *, settings: Settings, field: str) -> tuple[Image.Image, int, bytes | None]:
    """Header checks then decode, without the memory budget (pipeline.process takes it)."""
    return decode(open_header(data, source_format, settings=settings, field=field), field=field)


def too_big(field: str, max_pixels: int) -> errors.Unprocessable:
    return errors.Unprocessable(
        "photo_trop_grande",
        "Cette image est trop grande pour être traitée.",
        field=field,
        max_pixels=max_pixels,
    )


def _unreadable(field: str) -> errors.Unprocessable:
    return errors.Unprocessable("photo_illisible", "Cette photo est illisible ou incomplète.", field=field)


def _jpeg_has_end(data: bytes) -> bool:
    """Whether the image's scan data is followed by an EOI marker.

    libjpeg conceals damaged or missing scan data (grey or noisy blocks, a warning Pillow never
    shows) and Pillow stops once every row is decoded, so a cut or garbage-filled JPEG can decode
    "fine". Entropy-coded data cannot contain FF D9, so the first one after the image's own SOS
    (not one inside an EXIF thumbnail) ends the image; bytes after it are allowed and ignored.
    Looked for from the end (the same answer: is there one after the SOS?): the EOI of a sound file
    is in its last bytes, where a forward search read the whole scan first (2-3.5 ms for 5-9 MP).
    """
    position, end = 2, len(data) - 3
    while position < end:
        if data[position] != 0xFF:  # junk between segments, which Pillow skips too
            position += 1
            continue
        marker = data[position + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:  # fill byte, standalone markers
            position += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:
            return False
        segment_end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            return data.rfind(b"\xff\xd9", segment_end) != -1
        position = segment_end
    return False


@cache
def _register_heif_opener() -> None:
    """Let Pillow open HEIC (iPhones' default) on the first HEIF upload, not at import."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _draft(image: Image.Image, target: int) -> None:
    """Ask libjpeg for the smallest 1/s decode that still (nearly) fills the display size."""
    width, height = image.size
    long_side = max(width, height)
    for scale in (8, 4, 2):
        if math.ceil(long_side / scale) >= target * resize.MIN_FILL and min(width, height) >= scale:
            # Pillow picks min(width // w, height // h) as its scale; these sizes make it `scale`.
            image.draft(None, (width // scale, height // scale))
            return


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, read before the metadata is thrown away; a broken EXIF counts as upright.

    pillow-heif applies HEIF's own rotation while decoding and resets this tag to 1 itself.
    """
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # malformed EXIF: the pixels are fine, only the tag is lost
        return 1
    return value if isinstance(value, int) else 1


