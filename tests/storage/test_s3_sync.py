"""Direct syncs into a real S3 API (moto on loopback) through django-storages."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from catalog.models import Media, VariantMedia
from devtools.feedgen import FeedSpec
from promidata_sync.models import ImageSource, SyncItem, VariantImage
from promidata_sync.services.direct import sync_direct
from tests.catalog_state import assert_images_linked_and_stored, catalog_as_feed, normalise_expected
from tests.storage.conftest import encode_image

pytestmark = pytest.mark.django_db


def image_urls(feed, family_sku: str | None = None) -> set[str]:
    """Distinct image URLs the feed declares (of one family, or of all)."""
    return {
        url
        for families in feed.expected().values()
        for sku, family in families.items()
        if family_sku in (None, sku)
        for variant in family["variants"].values()
        for url in variant["images"]
    }


def image_requests(feed_server):
    return [r for r in feed_server.requests if "/Images/" in r.path]


def test_full_sync_stores_exactly_one_object_per_distinct_image(
    feed, feed_server, sync_config, bucket, s3_calls
):
    report = sync_direct(config=sync_config)

    assert report.ok, report
    urls = image_urls(feed)
    keys = bucket.keys()
    assert len(keys) == len(urls) == Media.objects.count()
    assert sorted(s3_calls.uploads(bucket)) == sorted(keys)  # each object written once
    assert_images_linked_and_stored()  # read back through django-storages from the bucket
    # URLs are kept exactly as declared (case included), keys exactly as content-addressed.
    assert set(ImageSource.objects.values_list("url", flat=True)) == urls
    for media in Media.objects.all():
        head = bucket.head(media.file.name)
        assert head["ContentType"] == media.content_type == "image/png"
        assert head["ContentLength"] == media.size
        assert head["CacheControl"] == "public, max-age=31536000, immutable"


# Images drawn from a pool of 5 repeat across families and suppliers.
@pytest.mark.parametrize(
    "feed_spec",
    [FeedSpec(suppliers=2, families_per_supplier=6, images_per_variant=2, image_pool=5)],
)
def test_two_suppliers_sharing_an_image_share_one_object(
    feed_server, sync_config, bucket, s3_calls
):
    report = sync_direct(config=sync_config)

    assert report.ok, report
    suppliers_of: dict[int, set[str]] = {}
    for media_id, code in VariantMedia.objects.values_list(
        "media_id", "variant__product__supplier__code"
    ):
        suppliers_of.setdefault(media_id, set()).add(code)
    assert any(len(codes) == 2 for codes in suppliers_of.values()), "no image is shared"
    distinct_urls = set(VariantImage.objects.values_list("url", flat=True))
    assert len(bucket.keys()) == len(distinct_urls) == Media.objects.count() <= 5
    assert sorted(s3_calls.uploads(bucket)) == sorted(bucket.keys())
    assert_images_linked_and_stored()


def test_unchanged_resync_downloads_nothing_and_uploads_nothing(
    feed_server, sync_config, bucket, s3_calls
):
    assert sync_direct(config=sync_config).ok
    before = bucket.objects()
    feed_server.reset_counts()
    s3_calls.reset()

    report = sync_direct(config=sync_config)

    assert report.ok
    assert feed_server.count("image") == 0
    assert feed_server.count("family") == 0
    assert s3_calls.uploads(bucket) == []
    assert bucket.objects() == before  # same keys, same ETags, same LastModified


def test_changed_family_only_revalidates_its_images_and_uploads_nothing(
    feed, feed_server, sync_config, bucket, s3_calls
):
    assert sync_direct(config=sync_config).ok
    before = bucket.objects()
    stored_etags = dict(ImageSource.objects.values_list("url", "etag"))
    links_before = set(VariantMedia.objects.values_list("variant_id", "media_id", "position"))
    feed.set_price("A100-F00001", 0, Decimal("9.99"))  # the family changes, its images do not
    feed_server.reset_counts()
    s3_calls.reset()

    report = sync_direct(config=sync_config)

    assert report.ok
    assert feed_server.count("family") == 1
    known = image_urls(feed, "A100-F00001")
    requests = image_requests(feed_server)
    assert {r.path for r in requests} == {urlsplit(u).path for u in known}
    assert len(requests) == len(known)
    by_path = {urlsplit(u).path: u for u in known}
    for request in requests:
        assert request.headers.get("If-None-Match") == stored_etags[by_path[request.path]]
        assert request.status == 304
    assert s3_calls.uploads(bucket) == []
    assert bucket.objects() == before
    run = {r.supplier.code: r for r in report.runs}["A100"]
    assert (run.images_total, run.images_done, run.images_failed) == (len(known), len(known), 0)
    assert (run.images_reused, run.images_downloaded) == (len(known), 0)
    assert set(VariantMedia.objects.values_list("variant_id", "media_id", "position")) == (
        links_before
    )
    assert catalog_as_feed() == normalise_expected(feed.expected())


def test_known_url_with_new_bytes_is_stored_anew_and_its_links_move(
    feed, feed_server, sync_config, bucket, s3_calls
):
    assert sync_direct(config=sync_config).ok
    url = sorted(image_urls(feed, "A100-F00001"))[0]
    old = ImageSource.objects.get(url=url).media
    new_bytes = encode_image("PNG", (24, 24), seed=99)
    feed_server.replace(urlsplit(url).path, new_bytes, "image/png")
    feed.set_price("A100-F00001", 0, Decimal("9.99"))
    s3_calls.reset()

    report = sync_direct(config=sync_config)

    assert report.ok
    source = ImageSource.objects.get(url=url)
    assert source.media_id != old.pk
    assert (source.media.width, source.media.size) == (24, len(new_bytes))
    assert s3_calls.uploads(bucket) == [source.media.storage_key()]
    declaring = set(VariantImage.objects.filter(url=url).values_list("variant_id", flat=True))
    assert set(
        VariantMedia.objects.filter(media=source.media).values_list("variant_id", flat=True)
    ) == (declaring)
    assert not VariantMedia.objects.filter(media=old).exists()  # now an orphan, kept until pruned
    assert_images_linked_and_stored()


@pytest.mark.parametrize(
    ("body", "limits", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n but then garbage", {}, "not an image"),
        (
            encode_image("PNG", (64, 64), noise=True),
            {"max_image_bytes": 4_000},
            "over the limit of 4,000",
        ),
        (encode_image("PNG", (64, 64)), {"max_image_pixels": 1_000}, "64x64 pixels, over the"),
    ],
    ids=["corrupt", "too-many-bytes", "too-many-pixels"],
)
def test_unusable_image_is_rejected_and_recorded(
    feed, feed_server, sync_config, bucket, s3_calls, body, limits, reason
):
    url = sorted(image_urls(feed, "A101-F00002"))[0]
    feed_server.replace(urlsplit(url).path, body, "image/png")

    report = sync_direct(config=replace(sync_config, **limits))

    run = {r.supplier.code: r for r in report.runs}["A101"]
    assert run.images_failed == 1
    item = SyncItem.objects.get(run=run, kind=SyncItem.Kind.IMAGE, key=url)
    assert item.state == SyncItem.State.FAILED
    assert reason in item.error
    assert reason in ImageSource.objects.get(url=url).last_error
    assert not Media.objects.filter(source_url=url).exists()
    assert len(bucket.keys()) == len(image_urls(feed)) - 1
    assert len(s3_calls.uploads(bucket)) == len(image_urls(feed)) - 1


def test_stored_content_type_is_the_one_of_the_bytes(feed, feed_server, sync_config, bucket):
    url = sorted(image_urls(feed, "A100-F00003"))[0]
    # JPEG bytes behind a .png URL that the server declares as image/png.
    feed_server.replace(urlsplit(url).path, encode_image("JPEG", (20, 10)), "image/png")

    assert sync_direct(config=sync_config).ok

    media = ImageSource.objects.get(url=url).media
    assert (media.content_type, media.extension, media.width, media.height) == (
        "image/jpeg",
        "jpg",
        20,
        10,
    )
    assert media.file.name.endswith(".jpg")
    assert bucket.head(media.file.name)["ContentType"] == "image/jpeg"


def test_repointed_url_keeps_the_old_link_a_variant_still_owes_to_another_url(
    feed, feed_server, sync_config, bucket
):
    first, second = feed.expected()["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]["images"]
    # The variant's second URL serves the same bytes as its first: one media, one link.
    feed_server.replace(urlsplit(second).path, feed.image_png(Path(first).stem), "image/png")
    assert sync_direct(config=sync_config).ok
    old = ImageSource.objects.get(url=first).media
    assert ImageSource.objects.get(url=second).media == old
    feed_server.replace(urlsplit(first).path, encode_image("PNG", (24, 24), seed=11))
    feed.set_price("A100-F00001", 0, Decimal("9.99"))

    assert sync_direct(config=sync_config).ok

    new = ImageSource.objects.get(url=first).media
    assert new != old
    links = VariantMedia.objects.filter(variant__sku="A100-F00001-01")
    assert dict(links.values_list("media_id", "position")) == {new.pk: 0, old.pk: 1}
    assert_images_linked_and_stored()
