"""Queue mode: a changed family's step returns its known images as follow-ups, and the image
step revalidates them with a conditional GET instead of linking them blindly."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from catalog.models import Supplier
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.steps import family, image
from promidata_sync.services.work import FamilyWork, ImageWork
from tests.feedpaths import index_line
from tests.storage.test_s3_sync import image_requests, image_urls

pytestmark = pytest.mark.django_db


def test_changed_family_in_queue_mode_revalidates_its_images_with_304s(
    feed,
    feed_server,
    sync_config,
    bucket,
    s3_calls,
):
    assert sync_direct(config=sync_config).ok
    feed.set_price("A100-F00001", 0, Decimal("4.20"))
    url, digest = index_line(feed, feed_server, "A100-F00001")
    supplier = Supplier.objects.get(code="A100")
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.QUEUE)
    runs.run_mark_running(run)
    runs.items_plan(run.pk, kind=SyncItem.Kind.FAMILY, items=[("A100-F00001", url, digest)])
    runs.run_set(run.pk, planned_at=run.started_at)
    feed_server.reset_counts()
    s3_calls.reset()

    written = family.sync_family(
        FamilyWork(
            run_id=run.pk, supplier_id=supplier.pk, family_sku="A100-F00001", url=url, hash=digest
        ),
        config=sync_config,
        fetcher=Fetcher(sync_config),
    )
    known = image_urls(feed, "A100-F00001")
    assert written.status == "done"
    assert all(isinstance(w, ImageWork) for w in written.follow_ups)
    assert sorted(url for w in written.follow_ups for url in w.urls) == sorted(known)
    assert feed_server.count("image") == 0  # the family step itself asks for no image

    outcomes = [
        image.sync_images(w, config=sync_config, fetcher=Fetcher(sync_config))
        for w in written.follow_ups
    ]
    runs.run_finish_if_complete(run.pk)

    results = [r for o in outcomes for r in o.result["images"]]
    assert len(results) == len(known)
    assert all(r["not_modified"] and not r["uploaded"] for r in results)
    requests = image_requests(feed_server)
    assert sorted(r.path for r in requests) == sorted(urlsplit(u).path for u in known)
    assert all(r.status == 304 and r.headers.get("If-None-Match") for r in requests)
    assert s3_calls.uploads(bucket) == []
    run.refresh_from_db()
    assert run.state == SyncRun.State.COMPLETED
    assert (run.images_total, run.images_reused, run.images_downloaded) == (
        len(known),
        len(known),
        0,
    )
