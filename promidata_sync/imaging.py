"""Checking that downloaded bytes are an image we are willing to store (pure; Pillow only)."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Formats a shop can show; the stored content type and extension come from the bytes.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}


class InvalidImage(ValueError):
    """The bytes are not an acceptable image; the message says why."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    sha256: str
    size: int
    content_type: str
    extension: str
    width: int
    height: int


def inspect_image(content: bytes, *, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Decode ``content`` fully and describe it; raise ``InvalidImage`` if it is not acceptable.

    The content type is taken from the decoded format, never from a server's header. The pixel
    limit is checked from the header before decoding, so a decompression bomb is refused cheaply.
    """
    if not content:
        raise InvalidImage("empty body")
    if len(content) > max_bytes:
        raise InvalidImage(f"{len(content):,} bytes, over the limit of {max_bytes:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                fmt = img.format or ""
                width, height = img.size
                if width * height > max_pixels:
                    raise InvalidImage(f"{width}x{height} pixels, over the limit of {max_pixels:,}")
                if fmt not in FORMATS:
                    raise InvalidImage(f"unsupported image format {fmt or 'unknown'}")
                img.load()  # full decode: catches truncated and corrupt data
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("not an image (Pillow cannot identify it)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"corrupt image data: {exc}") from None
    content_type, extension = FORMATS[fmt]
    return ImageInfo(
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
    )
