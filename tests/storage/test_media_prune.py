"""``promidata_media_prune``: removes media nothing refers to, from the bucket and the table."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from catalog.models import Media, Variant, VariantMedia
from promidata_sync.imaging import inspect_image
from promidata_sync.models import ImageSource, VariantImage
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.media import DownloadedImage, media_store
from tests.catalog_state import assert_images_linked_and_stored
from tests.storage.conftest import encode_image
from tests.storage.test_s3_sync import image_urls

pytestmark = pytest.mark.django_db


def prune(*args: str) -> str:
    out = StringIO()
    call_command("promidata_media_prune", *args, stdout=out)
    return out.getvalue().strip()


def test_prune_removes_only_orphans_and_dry_run_removes_nothing(
    feed, feed_server, sync_config, bucket
):
    assert sync_direct(config=sync_config).ok
    # Orphan 1: the old bytes of a URL that now serves other bytes.
    repointed = sorted(image_urls(feed, "A100-F00001"))[0]
    replaced = ImageSource.objects.get(url=repointed).media
    feed_server.replace(urlsplit(repointed).path, encode_image("PNG", (24, 24), seed=5))
    feed.set_price("A100-F00001", 0, Decimal("9.99"))
    # Kept: the images of a variant that left its family (deactivated; it may come back).
    feed.remove_variant("A100-F00002", 1)
    assert sync_direct(config=sync_config).ok
    gone_variant = Variant.objects.get(sku="A100-F00002-02")
    assert not gone_variant.is_active
    kept_inactive = set(gone_variant.media_links.values_list("media_id", flat=True))
    assert kept_inactive
    # Orphan 2: bytes stored from a URL no variant declares.
    content = encode_image("PNG", (12, 12), seed=8)
    info = inspect_image(content, max_bytes=10**6, max_pixels=10**6)
    unused = media_store(DownloadedImage("https://images.example.test/Unused.png", content, info))
    # Kept: a declared URL whose variant link is missing for the moment.
    declared = VariantImage.objects.filter(variant__sku="A101-F00001-01").first()
    unlinked = ImageSource.objects.get(url=declared.url).media
    VariantMedia.objects.filter(media=unlinked).delete()

    orphans = {replaced.pk: replaced, unused.media.pk: unused.media}
    media_before, keys_before = set(Media.objects.values_list("pk", flat=True)), bucket.keys()
    orphan_bytes = sum(m.size for m in orphans.values())

    assert prune("--dry-run") == (
        f"would delete 2 media ({orphan_bytes:,} bytes) and 1 image source(s)"
    )
    assert set(Media.objects.values_list("pk", flat=True)) == media_before
    assert bucket.keys() == keys_before

    assert prune() == f"deleted 2 media ({orphan_bytes:,} bytes) and 1 image source(s)"
    assert set(Media.objects.values_list("pk", flat=True)) == media_before - orphans.keys()
    assert bucket.keys() == keys_before - {m.file.name for m in orphans.values()}
    assert not ImageSource.objects.filter(url="https://images.example.test/Unused.png").exists()
    assert ImageSource.objects.get(url=repointed).media_id not in orphans
    assert kept_inactive <= set(Media.objects.values_list("pk", flat=True))
    assert Media.objects.filter(pk=unlinked.pk).exists()

    assert prune() == "deleted 0 media (0 bytes) and 0 image source(s)"
    VariantMedia.objects.create(variant=declared.variant, media=unlinked, position=0)
    assert_images_linked_and_stored()
