"""Two workers storing the same bytes at the same moment: one object, one row, one upload."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from storages.backends.s3 import S3Storage

from catalog.models import Media
from promidata_sync.imaging import inspect_image
from promidata_sync.models import ImageSource
from promidata_sync.services.media import DownloadedImage, media_store
from tests.storage.conftest import encode_image

UPLOAD_DELAY_SECONDS = 0.3  # holds the first worker's insert open while the second arrives


@pytest.mark.django_db(transaction=True)
def test_same_bytes_stored_from_two_threads_end_as_one_row_and_one_object(
    bucket, s3_calls, monkeypatch
):
    content = encode_image("PNG", (32, 32), seed=3)
    info = inspect_image(content, max_bytes=10**6, max_pixels=10**6)
    images = [
        DownloadedImage(f"https://images.example.test/{code}/Shared.png", content, info)
        for code in ("A100", "A200")
    ]
    slow_save = S3Storage._save

    def delayed_save(storage, name, file):
        time.sleep(UPLOAD_DELAY_SECONDS)
        return slow_save(storage, name, file)

    monkeypatch.setattr(S3Storage, "_save", delayed_save)
    inserts = []
    real_save = Media.save

    def counted_save(media, *args, **kwargs):
        inserts.append(threading.current_thread().name)
        return real_save(media, *args, **kwargs)

    monkeypatch.setattr(Media, "save", counted_save)
    start = threading.Barrier(2)
    results, errors = {}, []

    def worker(image):
        try:
            start.wait()
            results[image.url] = media_store(image)
        except Exception as exc:  # reported below, with the thread's own traceback lost
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own database connection

    threads = [threading.Thread(target=worker, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(inserts) == 2, "both workers should have found no row and tried to insert one"
    assert sorted(r.uploaded for r in results.values()) == [False, True]
    assert Media.objects.count() == 1
    media = Media.objects.get()
    assert {r.media.pk for r in results.values()} == {media.pk}
    assert bucket.keys() == {media.storage_key()}
    assert s3_calls.uploads(bucket) == [media.storage_key()]
    assert set(ImageSource.objects.values_list("url", "media_id")) == {
        (image.url, media.pk) for image in images
    }
