"""The change feed (api/catalog/changes/) across real syncs of the loopback feed into
PostgreSQL: creations, updates, deactivations after two publications, reactivations; a
poller that follows ``next`` sees each change once, in commit order."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import CatalogChange, Product
from promidata_sync.services.changes import changes_record
from promidata_sync.services.direct import sync_direct
from tests.feedpaths import import_path

pytestmark = pytest.mark.django_db


class Poller:
    """A shop that polls the feed: remembers the cursor, collects what it is told."""

    def __init__(self, client, limit: int = 3):
        self.client, self.limit, self.cursor, self.seen = client, limit, 0, []

    def poll(self) -> list[tuple[str, str]]:
        news = []
        while True:
            response = self.client.get(
                f"/api/catalog/changes/?since={self.cursor}&limit={self.limit}"
            )
            assert response.status_code == 200, response.content
            body = response.json()
            news += [(c["kind"], c["sku"]) for c in body["results"]]
            self.seen += [c["cursor"] for c in body["results"]]
            assert body["next"] >= self.cursor
            self.cursor = body["next"]
            if not body["has_more"]:
                return news


def test_a_poller_sees_creations_updates_deactivations_and_reactivations_once(
    reader, feed, feed_server, sync_config
):
    poller = Poller(reader)
    assert sync_direct(config=sync_config).ok
    first_import = poller.poll()
    skus = set(Product.objects.values_list("sku", flat=True))
    created = [sku for kind, sku in first_import if kind == "created"]
    assert sorted(created) == sorted(skus)
    # Images arrive after their family's rows: each arrival is an update of the product.
    assert {kind for kind, _ in first_import} == {"created", "updated"}
    assert {sku for kind, sku in first_import if kind == "updated"} == skus
    assert poller.poll() == []  # nothing new: nothing repeated

    # An update: one price changes.
    feed.set_price("A100-F00001", 0, Decimal("9.99"))
    assert sync_direct(config=sync_config).ok
    assert poller.poll() == [("updated", "A100-F00001")]

    # A withdrawal: deactivated at the second complete publication without the family.
    full_index = feed.import_txt(feed_server.base_url)
    feed.withdraw_family("A100-F00002")
    assert sync_direct(config=sync_config).ok
    assert poller.poll() == []
    republished = feed.import_txt(feed_server.base_url) + b"\n"
    feed_server.replace(import_path(feed_server), republished, "text/plain")
    assert sync_direct(config=sync_config).ok
    assert poller.poll() == [("deactivated", "A100-F00002")]
    body = reader.get(f"/api/catalog/changes/?since={poller.seen[-1] - 1}").json()
    assert body["results"][0]["is_active"] is False

    # It returns.
    feed_server.replace(import_path(feed_server), full_index, "text/plain")
    assert sync_direct(config=sync_config).ok
    assert poller.poll() == [("reactivated", "A100-F00002")]

    assert poller.seen == sorted(set(poller.seen))  # ascending, no repeats
    assert poller.seen == list(CatalogChange.objects.values_list("seq", flat=True))


def test_an_unchanged_resync_adds_no_change(reader, feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    before = CatalogChange.objects.count()
    assert sync_direct(config=sync_config).ok
    assert CatalogChange.objects.count() == before


def test_a_change_is_never_visible_before_an_earlier_one(transactional_db):
    """Two writers: the first draws its cursor and holds its transaction open; the second
    must wait for it, so a reader can never see cursor 2 while cursor 1 is uncommitted."""
    from catalog.models import Supplier

    supplier = Supplier.objects.create(code="A1")
    first, second = (Product.objects.create(supplier=supplier, sku=f"A1-{n}") for n in (1, 2))
    CatalogChange.objects.all().delete()
    drawn, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        from django.db import transaction

        with transaction.atomic():
            changes_record([first.pk], "updated")
            drawn.set()
            release.wait(10)
        connection.close()

    def fast_writer():
        changes_record([second.pk], "updated")
        done.set()
        connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert drawn.wait(10)
    fast = threading.Thread(target=fast_writer)
    fast.start()
    assert not done.wait(0.5)  # blocked behind the open transaction...
    assert list(CatalogChange.objects.values_list("product_id", flat=True)) == []
    release.set()
    slow.join(10)
    fast.join(10)
    assert list(CatalogChange.objects.order_by("seq").values_list("product_id", flat=True)) == [
        first.pk,
        second.pk,
    ]


@pytest.mark.parametrize("query", ["since=-1", "since=abc", "limit=0", "limit=100000"])
def test_bad_change_parameters_are_json_400(reader, query):
    response = reader.get(f"/api/catalog/changes/?{query}")
    assert response.status_code == 400 and set(response.json()) == {"error"}
