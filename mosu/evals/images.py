"""Images of vision-language tasks (图文任务): checked on load, sent as ``image_url`` parts.

An image is checked before any request is sent: its format is sniffed from its bytes (JPEG,
PNG or WebP, whatever its file name says), its size and pixel count are within
:data:`MAX_BYTES` and :data:`MAX_PIXELS`, and it decodes. The pixel count is read from the
header before any pixel is decoded, so a decompression bomb (a small file declaring a huge
picture) is refused without the memory it would take; Pillow's own guard,
``Image.MAX_IMAGE_PIXELS``, is set to the same limit. An image whose EXIF orientation turns it,
or that carries EXIF location data, is re-encoded upright and without its EXIF, so a model
sees what a person sees and no location leaves the machine; any other image is sent as its
bytes are.

A prompt carries an image as an OpenAI-style content part, ``{"type": "image_url",
"image_url": {"url": "data:image/png;base64,..."}}``: base64 in the request, never at a URL
(a platform stage may send a signed link instead, made as the request goes out:
:mod:`mosu.evals.image_links`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mosu.evals.errors import DataError

if TYPE_CHECKING:
    import aiohttp
    from PIL import Image

MAX_BYTES = 20 * 1024 * 1024
"""Largest image file accepted (OpenAI's own limit per image)."""
MAX_PIXELS = 32 * 1024 * 1024
"""Most pixels an image may have (about 5,800 × 5,800): decoded as RGBA at most 128 MiB.
Pillow's ``Image.MAX_IMAGE_PIXELS`` is set to it whenever an image is checked (Pillow is
imported then, not with the engine)."""

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825
_DATA_URL = re.compile(r"data:(image/(?:jpeg|png|webp));base64,([A-Za-z0-9+/=\s]*)\Z")


class ImageError(DataError):
    """An image that is not a JPEG, PNG or WebP within the limits, or does not decode."""


@dataclass(frozen=True, slots=True)
class ImageData:
    """A checked image: the bytes sent (upright, without EXIF location), their format and
    size. ``sha256`` is the hash of those bytes, by which the fake server's answer key and
    tests name the image."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    sha256: str

    @property
    def mime(self) -> str:
        return MIME[self.format]

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def part(self) -> dict[str, Any]:
        """The image as an OpenAI chat content part."""
        return {"type": "image_url", "image_url": {"url": self.data_url()}}


def sniff(data: bytes) -> str | None:
    """The format the bytes begin with: ``JPEG``, ``PNG``, ``WEBP`` or ``None``."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _open(data: bytes, kind: str, where: str) -> Image.Image:
    """The image decoded, refused with a clear reason before decoding when too large."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        # Pillow warns between MAX_PIXELS and twice that, and raises above: both refuse here
        # (two threads checking at once may leave this filter in place, which is harmless)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(
            f"{where}: more than {MAX_PIXELS:,} pixels: refused as a decompression bomb"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{where}: not a readable {kind} image ({exc})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ImageError(
            f"{where}: {width} × {height} pixels, over the limit of {MAX_PIXELS:,}: refused "
            "as a decompression bomb"
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{where}: the {kind} image does not decode ({exc})") from None
    return image


def check_image(data: bytes, *, where: str = "image") -> ImageData:
    """``data`` checked as an image (see the module's docstring); raises :class:`ImageError`
    naming ``where`` and the reason."""
    if len(data) > MAX_BYTES:
        raise ImageError(f"{where}: {len(data):,} bytes, over the limit of {MAX_BYTES:,}")
    kind = sniff(data)
    if kind is None:
        raise ImageError(f"{where}: not a JPEG, PNG or WebP image (by its first bytes)")
    from PIL import ImageOps

    image = _open(data, kind, where)
    exif = image.getexif()
    if exif.get(_ORIENTATION, 1) not in (0, 1) or _GPS_IFD in exif:
        upright = ImageOps.exif_transpose(image)
        buffer = io.BytesIO()
        options: dict[str, Any] = {"quality": 95} if kind in ("JPEG", "WEBP") else {}
        if kind == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(buffer, kind, **options)
        data = buffer.getvalue()
    width, height = _upright_size(image, exif)
    return ImageData(data, kind, width, height, hashlib.sha256(data).hexdigest())


def _upright_size(image: Image.Image, exif: Image.Exif) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if exif.get(_ORIENTATION, 1) in (5, 6, 7, 8) else (width, height)


def read_image(value: Any, *, base: Path | None, where: str) -> ImageData:
    """An image field's value checked: bytes, or a path (relative to ``base``) to a file."""
    if isinstance(value, ImageData):
        return value
    if isinstance(value, bytes | bytearray):
        return check_image(bytes(value), where=where)
    if not isinstance(value, str) or not value.strip():
        raise ImageError(f"{where}: expected an image path or bytes, got {value!r}")
    path = Path(value.strip()).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        size = path.stat().st_size
    except OSError:
        raise ImageError(f"{where}: image file not found: {path}") from None
    if size > MAX_BYTES:
        raise ImageError(f"{where}: {path}: {size:,} bytes, over the limit of {MAX_BYTES:,}")
    return check_image(path.read_bytes(), where=f"{where}: {path.name}")


def decode_data_url(url: Any) -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL; :class:`ImageError` if it is not one
    (a JPEG, PNG or WebP type and valid base64) or its bytes are not of that type."""
    match = _DATA_URL.match(url) if isinstance(url, str) else None
    if match is None:
        raise ImageError("image_url.url is not a data:image/(jpeg|png|webp);base64 URL")
    try:
        data = base64.b64decode("".join(match[2].split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("image_url.url: invalid base64") from None
    if MIME.get(sniff(data) or "") != match[1]:
        raise ImageError(f"image_url.url: the bytes are not {match[1]}")
    return data


def read_content(content: Any) -> tuple[str, list[str]]:
    """A chat message's text and the sha256 of each image it carries (of the bytes its data
    URL decodes to), as a server receiving it reads them: ``content`` a string, or a list of
    ``text`` and ``image_url`` parts. :class:`ImageError` for a malformed part or image."""
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise ImageError("content must be a string or a list of parts")
    texts: list[str] = []
    digests: list[str] = []
    for number, part in enumerate(content, start=1):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            try:
                data = decode_data_url(part["image_url"].get("url"))
                check_image(data, where="image")
            except ImageError as exc:
                raise ImageError(f"content part {number}: {exc}") from None
            digests.append(hashlib.sha256(data).hexdigest())
        else:
            raise ImageError(f"content part {number} is not a text or image_url part")
    return "".join(texts), digests


def _link(part: Any) -> str | None:
    """The ``http(s)`` address of an ``image_url`` part, else ``None``."""
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return None
    url = part["image_url"].get("url") if isinstance(part.get("image_url"), dict) else None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def linked_images(content: Any) -> list[str]:
    """The ``http(s)`` addresses of the image parts of a message's content."""
    if not isinstance(content, list):
        return []
    return [url for part in content if (url := _link(part)) is not None]


async def fetch_linked_images(
    client: aiohttp.ClientSession, content: list[Any]
) -> tuple[list[Any], int]:
    """``content`` with each linked image fetched (as an endpoint reading ``image_url`` links
    does) and put in as a ``data:`` URL, and how many were fetched; :class:`ImageError` for a
    link that does not answer 200 with a JPEG, PNG or WebP of at most :data:`MAX_BYTES`."""
    import aiohttp

    out: list[Any] = []
    fetched = 0
    for part in content:
        url = _link(part)
        if url is None:
            out.append(part)
            continue
        try:
            async with client.get(url) as response:
                data = await response.content.read(MAX_BYTES + 1)
                status = response.status
        except aiohttp.ClientError as exc:
            raise ImageError(f"image link {url}: {exc}") from None
        if status != 200:
            raise ImageError(f"image link answered HTTP {status}")
        if len(data) > MAX_BYTES:
            raise ImageError(f"image link: over {MAX_BYTES:,} bytes")
        kind = sniff(data)
        if kind is None:
            raise ImageError("image link: not a JPEG, PNG or WebP image")
        fetched += 1
        encoded = base64.b64encode(data).decode("ascii")
        out.append({**part, "image_url": {"url": f"data:{MIME[kind]};base64,{encoded}"}})
    return out, fetched
