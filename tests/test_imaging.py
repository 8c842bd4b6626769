"""Image verification: only real images within the limits pass, typed from their bytes."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from promidata_sync.imaging import InvalidImage, inspect_image


def encode(fmt: str, size=(20, 10), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, fmt)
    return buffer.getvalue()


def noisy_png(size=(64, 64)) -> bytes:
    """A PNG whose compressed data is long enough to cut in the middle."""
    buffer = io.BytesIO()
    noise = random.Random(1).randbytes(size[0] * size[1] * 3)  # incompressible
    Image.frombytes("RGB", size, noise).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("GIF", "image/gif", "gif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_real_images_are_described_from_their_bytes(fmt, content_type, extension):
    data = encode(fmt)
    info = inspect_image(data, max_bytes=10**6, max_pixels=10**6)
    assert (info.content_type, info.extension, info.width, info.height) == (
        content_type,
        extension,
        20,
        10,
    )
    assert info.size == len(data)
    assert len(info.sha256) == 64


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty body"),
        (b"<html>not found</html>", "not an image"),
        (noisy_png()[:2000], "corrupt"),
    ],
)
def test_non_images_and_truncated_images_are_rejected(data, message):
    with pytest.raises(InvalidImage, match=message):
        inspect_image(data, max_bytes=10**6, max_pixels=10**6)


def test_byte_and_pixel_limits():
    data = encode("PNG", size=(200, 200))
    with pytest.raises(InvalidImage, match=r"bytes, over the limit of 100$"):
        inspect_image(data, max_bytes=100, max_pixels=10**6)
    with pytest.raises(InvalidImage, match="200x200 pixels, over the limit"):
        inspect_image(data, max_bytes=10**6, max_pixels=10_000)


def test_unsupported_formats_are_rejected():
    with pytest.raises(InvalidImage, match="unsupported image format BMP"):
        inspect_image(encode("BMP"), max_bytes=10**6, max_pixels=10**6)
