"""Photo files built in memory with Pillow, so each test states the bytes it sends.

The images have coloured corner markers (red at the stored top-left, blue at the stored
top-right) so a test can tell where a rotation put them, and the metadata a phone writes:
EXIF orientation and GPS, XMP, a JPEG comment, IPTC.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pillow_heif
from PIL import ExifTags, Image

from gusp import photos
from gusp.config import Settings

RED = (230, 20, 20)
BLUE = (20, 20, 230)
GREY = (128, 128, 128)
COMMENT = b"gusp-secret-comment: 12 rue des Lilas"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4917N"'
    b' exif:GPSLongitude="2,17.6667E"/></rdf:RDF></x:xmpmeta>'
)
IPTC_CAPTION = b"gusp-iptc-caption"
PHP_PAYLOAD = b"<?php system($_GET['c']); ?>"


def marked_image(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Grey with a red block at the top-left and a blue block at the top-right (a quarter each way)."""
    image = Image.new("RGB", (width, height), GREY)
    block_w, block_h = max(1, width // 4), max(1, height // 4)
    image.paste(RED, (0, 0, block_w, block_h))
    image.paste(BLUE, (width - block_w, 0, width, block_h))
    return image.convert(mode) if mode != "RGB" else image


def phone_exif(*, orientation: int | None = None, gps: bool = True) -> Image.Exif:
    """EXIF as a phone writes it: make, model, orientation and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "GuspPhone"
    exif[ExifTags.Base.Model] = "GP-1 serial 0042"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.5),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
            ExifTags.GPS.GPSProcessingMethod: b"ASCII\x00\x00\x00GPS",
        }
    return exif


def iptc_segment(caption: bytes = IPTC_CAPTION) -> bytes:
    """An APP13 "Photoshop 3.0" segment holding an IPTC caption (record 2, dataset 120)."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00" * (len(iptc) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def make_jpeg(
    width: int = 640,
    height: int = 480,
    *,
    orientation: int | None = None,
    gps: bool = True,
    comment: bytes | None = COMMENT,
    xmp: bytes | None = XMP,
    iptc: bool = True,
    icc_profile: bytes | None = None,
    mode: str = "RGB",
    image: Image.Image | None = None,
    quality: int = 92,
) -> bytes:
    """A JPEG with a phone's metadata; `image` replaces the marked grey picture."""
    image = image if image is not None else marked_image(width, height, mode)
    params: dict[str, object] = {"quality": quality, "exif": phone_exif(orientation=orientation, gps=gps).tobytes()}
    if comment is not None:
        params["comment"] = comment
    if xmp is not None:
        params["xmp"] = xmp
    if icc_profile is not None:
        params["icc_profile"] = icc_profile
    if iptc:
        params["extra"] = iptc_segment()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def encode(image: Image.Image, format: str, **params: object) -> bytes:
    """Any Pillow-writable format (PNG, WEBP, GIF, BMP, TIFF…)."""
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def noisy_image(width: int, height: int) -> Image.Image:
    """Marked, with sensor-like noise, so that files compress like photos rather than flat colour."""
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 40) for _ in range(3)])
    return Image.blend(marked_image(width, height), noise, 0.3)


def make_heic(width: int = 320, height: int = 240, *, orientation: int | None = None) -> bytes:
    """A HEIC as an iPhone sends it; pillow-heif turns the EXIF orientation into HEIF's irot box."""
    heif = pillow_heif.from_pillow(marked_image(width, height))
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, exif=phone_exif(orientation=orientation).tobytes())
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming huge dimensions with almost no data: a decompression bomb's header."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def png_bomb(width: int, height: int, *, colour_type: int = 6, depth: int = 8) -> bytes:
    """A real, fully decodable PNG of many pixels in a few hundred kilobytes (rows compressed as they come,
    never all in memory): left half transparent red, right half opaque blue for RGBA (colour type 6)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    sample = depth // 8
    if colour_type == 6:
        left, right = bytes([255, 0, 0, 0]), bytes([0, 0, 200, 255])
    else:
        left, right = bytes([40] * channels), bytes([200] * channels)
    row = b"\x00" + b"".join(bytes(b for b in px for _ in range(sample)) * n
                             for px, n in ((left, width // 2), (right, width - width // 2)))
    compressor = zlib.compressobj(6)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def with_jpeg_dimensions(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF header rewritten to claim other dimensions."""
    position = 2
    while position < len(data):
        marker, length = data[position + 1], struct.unpack(">H", data[position + 2 : position + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            sof = position + 5  # after marker, length and sample precision
            return data[:sof] + struct.pack(">HH", height, width) + data[sof + 4 :]
        position += 2 + length
    raise ValueError("no SOF marker")


def zip_payload() -> bytes:
    """A ZIP holding a PHP web shell, as appended to images to smuggle it past upload checks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shell.php", PHP_PAYLOAD)
    return buffer.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, from SOI up to and including SOS."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, position = [0xD8], 2
    while position < len(data):
        assert data[position] == 0xFF, f"no marker at {position}"
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    raise AssertionError("no SOS marker")


def jpeg_header(data: bytes) -> bytes:
    """A JPEG's bytes up to the start of its compressed image data (after the SOS segment)."""
    start = data.index(b"\xff\xda")
    return data[: start + 2 + struct.unpack(">H", data[start + 2 : start + 4])[0]]


def swapped_primaries_icc() -> bytes:
    """A v2 RGB display profile whose red and blue primaries are swapped (gamma 2.2).

    An image tagged with it shows red where its pixels say blue, so converting it to sRGB
    visibly swaps the channels: proof the profile was applied, not just dropped.
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + s15(x) + s15(y) + s15(z)

    description = b"GUSP swapped primaries"
    desc = (
        b"desc\x00\x00\x00\x00" + struct.pack(">I", len(description) + 1) + description + b"\x00"
        + b"\x00" * 8 + b"\x00\x00\x00" + b"\x00" * 67
    )
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue primary (D50)
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red primary (D50)
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\x00\x00\x00\x00public domain\x00\x00\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"lcms" + b"\x02\x10\x00\x00" + b"mntrRGB XYZ " + b"\x00" * 12 + b"acsp"
        + b"\x00" * 24 + b"\x00\x00\x00\x00" + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\x00" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def photo_settings(**overrides: object) -> Settings:
    """The production defaults, stated here so the environment can't change what a test checks."""
    values: dict[str, object] = {
        "max_photo_bytes": 15 * 1024 * 1024,
        "max_image_pixels": 60_000_000,
        "display_max_px": 2048,
        "thumbnail_max_px": 400,
        "jpeg_quality": 85,
        "decode_memory_mb": 512,
        "decode_wait_s": 20.0,
    }
    return Settings(**{**values, **overrides})


def process(data: bytes, **overrides: object) -> photos.ProcessedPhoto:
    return photos.process(io.BytesIO(data), settings=photo_settings(**overrides))
