"""Image declarations: the ``{Url, Description, FileName}`` objects of variants and print
positions, resolved, checked and de-duplicated by URL. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

from . import limits
from .coerce import as_dict, as_list, as_str
from .context import Context, show
from .records import ImageRecord


def variant_images(
    blocks: dict[str, dict], root_blocks: dict[str, dict], sku: str, context: Context
) -> tuple[ImageRecord, ...]:
    """Main images of every language, then every language's gallery, de-duplicated by URL.

    Falls back to the root's main image(s) when the child has none at all. At most
    ``limits.IMAGES_PER_VARIANT`` (real variants have up to nine), the rest dropped with a
    warning: a small file must not declare millions of images.
    """
    candidates = [block.get("Image") for block in blocks.values()]
    for block in blocks.values():
        candidates.extend(as_list(block.get("MediaGalleryImages")))
    images = images_from(candidates, sku, context)
    if not images:
        images = images_from((block.get("Image") for block in root_blocks.values()), sku, context)
    return _capped(images, sku, context)


def position_images(
    location_texts: dict[str, dict], owner: str, context: Context
) -> tuple[ImageRecord, ...]:
    """The images of a print position, from every language's ``Images`` list."""
    candidates = [
        image for block in location_texts.values() for image in as_list(block.get("Images"))
    ]
    return _capped(images_from(candidates, owner, context), owner, context)


def images_from(candidates: Iterable[Any], owner: str, context: Context) -> tuple[ImageRecord, ...]:
    """Image objects as records in order, de-duplicated by URL; an unusable URL is dropped
    with a warning (quoting it redacted and shortened)."""
    images: list[ImageRecord] = []
    seen: set[str] = set()
    for candidate in candidates:
        image = as_dict(candidate)
        url = _resolve(image.get("Url"), context.source_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        problem = limits.url_problem(url)
        if problem:
            context.warn(f"{owner}: image {show(url)} dropped: {problem}")
            continue
        file_name = context.fit(
            as_str(image.get("FileName")), limits.FILE_NAME_CHARS, "image FileName", owner
        )
        images.append(ImageRecord(url=url, file_name=file_name, position=len(images)))
    return tuple(images)


def _capped(images: tuple[ImageRecord, ...], owner: str, context: Context):
    if len(images) > limits.IMAGES_PER_VARIANT:
        context.warn(
            f"{owner}: {len(images):,} images; only the first {limits.IMAGES_PER_VARIANT} kept"
        )
        images = images[: limits.IMAGES_PER_VARIANT]
    return images


def _resolve(raw_url: Any, source_url: str) -> str | None:
    """Absolute URL for an image ``Url`` string; None when missing or unusable."""
    if not isinstance(raw_url, str) or not raw_url.strip():
        return None
    try:
        return urljoin(source_url, raw_url.strip())
    except ValueError:
        return None
