"""A hostile-input sweep of the HTTP API: odd query parameters, paths, headers, cursors,
sessions, quote data, and the two admin pages that hold secrets (API keys, webhooks).

The standard: bad input gets ``{"error": ...}`` with a 4xx status (never a 500, an HTML page,
a traceback or a secret), and odd-but-valid input is answered correctly. The tests under
"Bugs" are the ones the first sweep found failing; they guard the fixes.

The catalog is built with the ORM (``quote_factories``): no feed is synced, except the one
loopback feed server that answers 403 for Import.txt.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from catalog.models import PriceTier, PrintCost, PrintOptionTier, Product, Supplier
from devtools.feedserver import FAKE_PROFILE_GUID
from promidata_sync.log_format import RedactingFormatter
from promidata_sync.models import ApiKey, WebhookDelivery, WebhookEndpoint
from promidata_sync.services import webhooks
from promidata_sync.services.changes import changes_record
from tests.api.quote_factories import OPTION, SELL, VARIANT_SKU, make_quotable_variant

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/catalog/products/"
CHANGES = "/api/catalog/changes/"
QUOTE = "/api/catalog/quote/"
CATEGORIES = "/api/catalog/categories/"
FAMILY = "A23-1234"
QUOTABLE = f"variant={VARIANT_SKU}&region=EURO"
TOKEN = "legacy-shared-token-for-hostile-tests"
SECRET = "whsec-hostile-7d3e9a1c5b2f8e4d"
IMPORT_URL = f"https://promi-dl.de/Profiles/Live/{FAKE_PROFILE_GUID}/Import/Import.txt"


# --- helpers ---------------------------------------------------------------------------------
def assert_json_error(response, status: int, text: str = "") -> str:
    """``response`` is ``{"error": ...}`` with ``status``, no traceback; return the message."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert set(body) == {"error"}, body
    assert text in body["error"], body
    assert "Traceback" not in body["error"]
    return body["error"]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def skus(reader, **params) -> list[str]:
    response = reader.get(PRODUCTS, params)
    assert response.status_code == 200, response.content[:300]
    return [row["sku"] for row in response.json()["results"]]


@pytest.fixture
def catalog(db):
    """Four families of supplier A23: A23-1234 with the quotable variant A23-1234-01
    (``quote_factories``), returned, and A23-2001..2003 without variants."""
    variant = make_quotable_variant()
    supplier = variant.product.supplier
    for family in ("2001", "2002", "2003"):
        Product.objects.create(supplier=supplier, sku=f"A23-{family}", names={"en": "Mug"})
    return variant


@pytest.fixture
def admin_client(django_user_model):
    """pytest-django's admin client without the password hashing (0.5 s a test)."""
    user = django_user_model.objects.create_superuser("root", email=None, password=None)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def logged():
    """What the log handlers would write (redacting formatter), for every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("promidata_sync")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


# =============================================================================================
# Bugs: these fail until fixed
# =============================================================================================


# Bug 1: an empty variant is a 500 (quote_view passes None on to find_variant).
@pytest.mark.parametrize("variant", ["", "%20", "%09"])
def test_an_empty_variant_is_a_json_400_not_a_500(reader, catalog, variant):
    response = reader.get(f"{QUOTE}?variant={variant}&quantity=100&region=EURO")
    assert_json_error(response, 400, "variant")


# Bug 2: product_find's "supplier code prefixes the SKU" is a bare startswith: A2 wins A23-….
def test_a_sku_prefers_the_supplier_whose_code_and_a_dash_start_it(reader, db):
    other = Supplier.objects.create(code="A2", name="Other")
    right = Supplier.objects.create(code="A23", name="Right")
    Product.objects.create(supplier=other, sku=FAMILY, names={"en": "Bag"})  # the older id
    Product.objects.create(supplier=right, sku=FAMILY, names={"en": "Mug"})

    body = reader.get(f"{PRODUCTS}{FAMILY}/").json()

    assert (body["supplier"], body["names"]) == ("A23", {"en": "Mug"})


# Bug 3: q is matched against names cast to JSON text: keys and JSON syntax match, escaped
# characters do not.
@pytest.mark.parametrize("q", ["en", '"', ":", "{"])
def test_q_does_not_match_the_json_around_the_names(reader, catalog, q):
    assert skus(reader, q=q) == []  # the names are {"en": "Mug"}; no SKU holds these


def test_q_finds_names_holding_a_double_quote_or_a_backslash(reader, db):
    supplier = Supplier.objects.create(code="A5")
    Product.objects.create(supplier=supplier, sku="A5-1", names={"en": '17" laptop sleeve'})
    Product.objects.create(supplier=supplier, sku="A5-2", names={"en": "C:\\ drive bag"})

    assert skus(reader, q='17" laptop') == ["A5-1"]
    assert skus(reader, q="C:\\ drive") == ["A5-2"]


# Bug 4: updated_since goes to datetime.fromisoformat, which reads garbage as a time.
@pytest.mark.parametrize("value", ["1" * 10_000, "2026-12-01X08:00:00"])
def test_updated_since_that_is_not_an_iso_time_is_a_400(reader, catalog, value):
    response = reader.get(PRODUCTS, {"updated_since": value})
    assert_json_error(response, 400, "updated_since")


# Bug 5: HEAD is a 405 on every GET endpoint (ninja registers GET only).
@pytest.mark.parametrize(
    "url",
    [PRODUCTS, f"{PRODUCTS}{FAMILY}/", CATEGORIES, CHANGES, f"{QUOTE}?{QUOTABLE}&quantity=100"],
)
def test_head_answers_like_get(reader, catalog, url):
    got, head = reader.get(url), reader.head(url)
    assert got.status_code == 200
    assert head.status_code == 200, head.status_code
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]


def test_a_staff_session_may_head_the_catalog(viewer_client, catalog):
    assert viewer_client.get(PRODUCTS).status_code == 200
    assert viewer_client.head(PRODUCTS).status_code == 200


# Bug 6: a 401 for a malformed Authorization header has no WWW-Authenticate.
@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer\tpds_x"])
def test_a_malformed_authorization_401_says_how_to_authenticate(client, db, header):
    response = client.get(CATEGORIES, HTTP_AUTHORIZATION=header)
    assert_json_error(response, 401, "malformed")
    assert response.get("WWW-Authenticate", "").startswith("Bearer")


# Bug 7: answers under /api/ that Django makes before (or around) ninja are HTML pages.
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/nothing"),
        ("delete", "/api/catalog/nothing"),
        ("post", "/api/sync/extra"),
        ("post", "/api/schema/"),
        ("put", "/api/docs/"),
    ],
)
def test_unsafe_methods_outside_the_endpoints_answer_json(operate_key, method, url):
    keyed = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {operate_key}")
    response = getattr(keyed, method)(url)
    assert response.status_code in (404, 405), response.status_code
    assert response["Content-Type"] == "application/json", response.content[:120]


def test_too_many_query_parameters_is_a_json_400(reader, db):
    response = reader.get(PRODUCTS + "?" + "&".join(["x=1"] * 1001))
    assert_json_error(response, 400)


def test_a_host_outside_allowed_hosts_is_a_json_400(reader, db):
    assert_json_error(reader.get(PRODUCTS, HTTP_HOST="evil.example"), 400)


# Bug 8: docs/api.md says "Slashes at the end are optional everywhere".
@pytest.mark.parametrize("url", ["/api/docs", "/api/schema"])
def test_docs_and_schema_answer_without_the_trailing_slash(client, db, url):
    assert client.get(url, follow=True).status_code == 200


# Bug 9: editing an endpoint that has no secret, Secret left blank, generates one that nobody
# is ever shown (only response_add shows it).
def test_a_secret_generated_on_an_edit_is_shown_once_or_refused(admin_client):
    endpoint = WebhookEndpoint.objects.create(
        name="shop", url="https://hooks.example.com/x", secret="", events=["run.finished"]
    )
    form = {"name": "shop", "url": "https://hooks.example.com/x", "events": ["run.finished"]}
    form |= {"is_active": "on", "new_secret": ""}

    response = admin_client.post(
        reverse("admin:promidata_sync_webhookendpoint_change", args=[endpoint.pk]),
        form,
        follow=True,
    )

    endpoint.refresh_from_db()
    # Either the blank field is refused, or the new secret is on the page that answers.
    assert not endpoint.secret or endpoint.secret in response.content.decode()


# =============================================================================================
# Hostile input handled correctly
# =============================================================================================

BAD_PARAMETERS = [
    (PRODUCTS, "limit=1" + "0" * 30, "limit"),
    (PRODUCTS, "limit=1e3", "limit"),
    (PRODUCTS, "limit=", "limit"),
    (PRODUCTS, "limit=0", "limit"),
    (PRODUCTS, "limit=true", "limit"),
    (PRODUCTS, "active=maybe", "active"),
    (PRODUCTS, "active=", "active"),
    (PRODUCTS, "q=" + "x" * 10_000, "q is longer"),
    (PRODUCTS, "supplier=" + "s" * 10_000, "supplier is longer"),
    (PRODUCTS, "category=" + "c" * 10_000, "category is longer"),
    (PRODUCTS, "category=%E2%80%8F", "unknown category"),
    (PRODUCTS, "category=%F0%9F%98%80", "unknown category"),
    (PRODUCTS, "q=a%00b", "NUL"),
    (PRODUCTS, "supplier=%00", "NUL"),
    (PRODUCTS, "updated_since=2026-13-01", "updated_since"),
    (PRODUCTS, "updated_since=2026-12-01T00:00:00%2B99:00", "updated_since"),
    (PRODUCTS, "updated_since=2026-12-01T25:00", "updated_since"),
    (PRODUCTS, "updated_since=99999-01-01", "updated_since"),
    (PRODUCTS, "updated_since=%ff", "updated_since"),
    (PRODUCTS, "cursor=%25%25", "cursor"),
    (PRODUCTS, "cursor=%ff", "cursor"),
    (PRODUCTS, "cursor=" + "A" * 10_000, "cursor"),
    (PRODUCTS, "cursor=" + b64("id:-1"), "cursor"),
    (PRODUCTS, "cursor=" + b64("id:abc"), "cursor"),
    (PRODUCTS, "cursor=" + b64("id:" + "9" * 30), "cursor"),
    (PRODUCTS, "cursor=" + b64("pk:5"), "cursor"),
    (PRODUCTS, "cursor=" + b64("id:\u00b2"), "cursor"),  # isdigit() but not int()
    (PRODUCTS, "cursor=" + b64("id:1 OR 1=1"), "cursor"),
    (CHANGES, "since=1" + "0" * 30, "since"),
    (CHANGES, "since=-1", "since"),
    (CHANGES, "since=1e3", "since"),
    (CHANGES, "since=", "since"),
    (CHANGES, "since=%00", "NUL"),
    (CHANGES, "limit=5001", "limit"),
    (QUOTE, "", "is required"),
    (QUOTE, f"{QUOTABLE}&quantity=1" + "0" * 30, "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=" + "9" * 5000, "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=1e3", "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=true", "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=0", "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=-5", "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=%ff", "quantity"),
    (QUOTE, f"{QUOTABLE}&quantity=", "quantity"),
    (QUOTE, f"variant={VARIANT_SKU}&quantity=100&region=", "region: is required"),
    (QUOTE, f"variant={VARIANT_SKU}&quantity=100&region=%F0%9F%98%80", "no prices in region"),
    (QUOTE, f"{QUOTABLE}&quantity=100&position=FRONT", "without an option"),
    (QUOTE, f"{QUOTABLE}&quantity=100&position=FRONT&option=%20", "without an option"),
    (QUOTE, f"{QUOTABLE}&quantity=100&option=" + "o" * 201, "longer than"),
    (QUOTE, f"variant={'v' * 10_000}&quantity=100&region=EURO", "variant is longer"),
]


@pytest.mark.parametrize(
    ("url", "query", "text"), BAD_PARAMETERS, ids=lambda value: str(value)[:40]
)
def test_bad_parameters_are_json_400s(reader, catalog, url, query, text):
    assert_json_error(reader.get(f"{url}?{query}"), 400, text)


ODD_BUT_VALID = [
    "q=%25",
    "q=_",
    "q=%5C",
    "q='",
    "q=%27%3B%20DROP%20TABLE%20catalog_product%3B--",
    "q=%E2%80%8F",
    "q=%E2%80%AEguM",
    "q=%F0%9F%98%80",
    "q=%ff",
    "q=",
    "q=%20%20",
    "supplier=",
    "supplier=%F0%9F%98%80",
    "category=",
    "updated_since=",
    "cursor=",
    "updated_since=2026-12-01",
    "updated_since=2026-12-01T08:00:00Z",
    "updated_since=2026-12-01T08:00:00%2B05:30",
    "updated_since=0001-01-01T00:00:00%2B14:00",
    "updated_since=9999-12-31T23:59:59-14:00",
    "updated_since=0001-01-01",
    "active=true&active=false",
    "limit=1&limit=2",
    "%ff=1",
    "unknown=" + "u" * 10_000,
]


@pytest.mark.parametrize("query", ODD_BUT_VALID, ids=lambda value: value[:40])
def test_odd_but_valid_list_parameters_answer_a_page(reader, catalog, query):
    response = reader.get(f"{PRODUCTS}?{query}")
    assert response.status_code == 200, response.content[:300]
    assert set(response.json()) == {"results", "next"}


def test_like_metacharacters_in_q_are_literal(reader, db):
    supplier = Supplier.objects.create(code="A5")
    Product.objects.create(supplier=supplier, sku="A5-1", names={"en": "100% cotton"})
    Product.objects.create(supplier=supplier, sku="A5-2", names={"en": "snake_case"})
    Product.objects.create(supplier=supplier, sku="A5-3", names={"en": "plain"})

    assert skus(reader, q="%") == ["A5-1"]
    assert skus(reader, q="_") == ["A5-2"]
    assert skus(reader, q="0% c") == ["A5-1"]
    assert skus(reader, q="'") == []


def test_the_time_zone_of_updated_since_is_applied(reader, catalog):
    Product.objects.filter(sku=FAMILY).update(updated_at="2026-06-01T12:00:00Z")
    Product.objects.exclude(sku=FAMILY).update(updated_at="2026-01-01T00:00:00Z")

    assert skus(reader, updated_since="2026-06-01T13:30:00+02:00") == [FAMILY]  # 11:30 UTC
    assert skus(reader, updated_since="2026-06-01T12:30:00+00:00") == []
    assert skus(reader, updated_since="2026-06-01T12:00:00") == [FAMILY]  # naive: UTC


def test_repeated_parameters_apply_the_last_and_next_carries_it(reader, catalog):
    body = reader.get(f"{PRODUCTS}?limit=1&limit=2").json()

    assert len(body["results"]) == 2
    assert parse_qs(urlsplit(body["next"]).query)["limit"] == ["2"]


def test_a_walk_with_a_unicode_filter_sees_every_match_once(reader, catalog):
    Product.objects.filter(sku__in=["A23-2001", "A23-2003"]).update(names={"en": "Tässe ☕"})
    seen, url = [], f"{PRODUCTS}?limit=1&q=%E2%98%95"
    while url:
        body = reader.get(url).json()
        seen += [row["sku"] for row in body["results"]]
        url = body["next"]
        assert url is None or urlsplit(url).netloc == "testserver"
    assert seen == ["A23-2001", "A23-2003"]


def test_a_foreign_host_never_reaches_absolute_urls(reader, catalog):
    response = reader.get(f"{PRODUCTS}?limit=1", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"evil.example" not in response.content
    forwarded = reader.get(f"{PRODUCTS}?limit=1", HTTP_X_FORWARDED_HOST="evil.example").json()
    assert "evil.example" not in forwarded["next"] + forwarded["results"][0]["url"]


# --- paths ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{PRODUCTS}{FAMILY}//", 404),
        (f"{PRODUCTS}A23%2F1234/", 404),
        (f"{PRODUCTS}../categories/", 404),
        (f"{PRODUCTS}%ff/", 404),
        (f"{PRODUCTS}{'x' * 5000}/", 404),
        (f"{PRODUCTS}%F0%9F%98%80/", 404),
        (f"{PRODUCTS}%E2%80%AE{FAMILY}/", 404),
        (f"{PRODUCTS}a%20b/", 404),
        (f"{PRODUCTS}/", 404),
        (f"{PRODUCTS}A23%001234/", 400),
        ("/api/catalog//products/", 404),
        ("/api/catalog/categories//", 404),
        ("/api/runs/1%2F2", 404),
        ("/api/" + "z" * 5000, 404),
    ],
    ids=lambda value: str(value)[:50],
)
def test_odd_paths_are_json_errors(reader, catalog, path, status):
    assert_json_error(reader.get(path), status)


def test_odd_skus_round_trip_through_their_urls(reader, db):
    supplier = Supplier.objects.create(code="A5")
    odd = ["A5-12/34", "A5 56", "A5-ü", "A5-?#%&=", "A5-9/", " A5-lead", "A5-☕"]
    for sku in odd:
        Product.objects.create(supplier=supplier, sku=sku, names={"en": "odd"})

    rows = reader.get(PRODUCTS).json()["results"]

    assert [row["sku"] for row in rows] == odd
    for row in rows:
        response = reader.get(row["url"])
        assert response.status_code == 200, (row["sku"], row["url"])
        assert response.json()["sku"] == row["sku"]


@pytest.mark.parametrize("method", ["options", "put", "delete", "patch", "post", "trace"])
def test_other_methods_are_json_405s_with_allow(reader, catalog, method):
    response = getattr(reader, method)(f"{PRODUCTS}{FAMILY}/")
    assert_json_error(response, 405, method.upper())
    assert "GET" in response["Allow"]


# --- headers -------------------------------------------------------------------------------
def test_authorization_variants(client, catalog_key, db, settings):
    settings.PROMIDATA_API_TOKEN = TOKEN

    def status(header: str) -> int:
        response = client.get(CATEGORIES, HTTP_AUTHORIZATION=header)
        if response.status_code != 200:
            message = assert_json_error(response, 401)
            assert catalog_key not in message and TOKEN not in message
        return response.status_code

    for header in (f"bearer {catalog_key}", f"BEARER   {catalog_key}  ", f"Bearer {TOKEN}"):
        assert status(header) == 200, header
    refused = [
        f"Bearer {catalog_key}x",
        f"Bearer {catalog_key[:-1]}",
        f"Bearer {catalog_key} extra",
        f"Bearer\t{catalog_key}",
        "Bearer " + "x" * 100_000,
        "Bearer pds_" + "x" * 100_000,
        "Bearer pds_" + "é" * 43,
        "Bearer légacy-shared-token",
        "Bearer pds_\x00abc",
        "Bearer  ",
        catalog_key,
    ]
    for header in refused:
        assert status(header) == 401, header[:40]


def test_if_none_match_variants(reader, catalog):
    url = f"{PRODUCTS}{FAMILY}/"
    etag = reader.get(url)["ETag"]
    strong = etag.removeprefix("W/")

    def status(header: str) -> int:
        return reader.get(url, HTTP_IF_NONE_MATCH=header).status_code

    for header in (etag, strong, f'"nope", {etag}', "*", f"  {etag}  ", f'{strong},"x"'):
        assert status(header) == 304, header
    for header in ("garbage", '"' + "a" * 10_000 + '"', strong.strip('"'), '"nope"', ",", '""'):
        assert status(header) == 200, header[:40]
    assert status(f'"x", {etag}' + ", " * 5000) == 304  # a long list still matches


def test_an_etag_is_stable_and_follows_the_product(reader, catalog):
    url = f"{PRODUCTS}{FAMILY}/"
    first, again = reader.get(url), reader.get(url)
    other = reader.get(f"{PRODUCTS}A23-2001/")

    assert first["ETag"] == again["ETag"] != other["ETag"]
    assert first.content == again.content

    product = Product.objects.get(sku=FAMILY)
    product.brand = "Renamed"
    product.save()  # as every writer does, this moves updated_at
    changed = reader.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert changed.json()["brand"] == "Renamed"
    assert reader.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304
    elsewhere = reader.get(url, HTTP_IF_NONE_MATCH=changed["ETag"], HTTP_HOST="localhost")
    assert elsewhere.status_code == 200  # absolute URLs differ by host: so does the tag


# --- the change feed -----------------------------------------------------------------------
def test_the_change_feed_cursor(reader, catalog):
    assert reader.get(CHANGES).json() | {"next_url": ""} == {
        "results": [],
        "next": 0,
        "has_more": False,
        "next_url": "",
    }
    ids = list(Product.objects.order_by("id").values_list("id", flat=True))
    changes_record(ids, "created")

    first = reader.get(f"{CHANGES}?since=0&limit=3").json()
    rest = reader.get(first["next_url"]).json()
    empty = reader.get(f"{CHANGES}?since={rest['next']}").json()
    beyond = reader.get(f"{CHANGES}?since={10**18}").json()

    assert len(first["results"]) == 3 and first["has_more"]
    assert first["next"] == first["results"][-1]["cursor"]
    assert len(rest["results"]) == 1 and not rest["has_more"]
    assert (empty["results"], empty["next"], empty["has_more"]) == ([], rest["next"], False)
    assert (beyond["results"], beyond["next"]) == ([], 10**18)
    cursors = [c["cursor"] for c in first["results"] + rest["results"]]
    assert cursors == sorted(set(cursors))


# --- sessions ------------------------------------------------------------------------------
def test_a_session_post_without_the_csrf_token_is_a_json_403(operator, catalog):
    session = Client(enforce_csrf_checks=True)
    session.force_login(operator)

    response = session.post("/api/sync", "{}", content_type="application/json")

    assert_json_error(response, 403, "CSRF")
    assert session.get(PRODUCTS).status_code == 200


# --- quotes --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "status", "text"),
    [
        ({"option": f"{OPTION}\u200f", "position": "FRONT"}, 404, "has no option"),
        ({"option": "\U0001f600", "position": "\u202eFRONT"}, 404, "no print position"),
        ({"option": "\U0001f600"}, 404, "no print option"),
        ({"option": OPTION, "position": "p" * 201}, 400, "longer than"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_odd_print_choices_are_json_errors(reader, catalog, extra, status, text):
    params = {"variant": VARIANT_SKU, "quantity": 100, "region": "EURO", **extra}
    assert_json_error(reader.get(QUOTE, params), status, text)


@pytest.mark.parametrize("quantity", ["%205", "5%20", "5.0", "+5", "05"])
def test_lax_but_unambiguous_quantities_mean_what_they_say(reader, catalog, quantity):
    response = reader.get(f"{QUOTE}?{QUOTABLE}&quantity={quantity}")
    assert response.status_code in (200, 400), response.content[:200]
    if response.status_code == 200:
        assert response.json()["quantity"] == 5
    else:
        assert_json_error(response, 400, "quantity")


def test_weird_tiers_are_priced_exactly(reader, catalog):
    PriceTier.objects.filter(variant=catalog, region="EURO").delete()
    PriceTier.objects.bulk_create(
        [
            PriceTier(
                variant=catalog, region="EURO", kind=SELL, min_quantity=0, price=0, currency="EUR"
            ),
            PriceTier(
                variant=catalog,
                region="EURO",
                kind=SELL,
                min_quantity=10,
                price=Decimal("9999999999.9999"),
                currency="EUR",
            ),
        ],
    )

    one = reader.get(QUOTE, {"variant": VARIANT_SKU, "quantity": 1, "region": "EURO"}).json()
    most = reader.get(QUOTE, {"variant": VARIANT_SKU, "quantity": 10**9, "region": "EURO"})

    assert one["article"] == {"unit_price": "0.00", "min_quantity": 0, "total": "0.00"}
    assert one["total"] == "0.00" and not one["on_request"]
    assert most.json()["article"]["total"] == "9999999999999900000.00"
    assert most.json()["total"] == "9999999999999900000.00"


def test_null_and_huge_calculation_amounts(reader, catalog):
    costs = PrintCost.objects.filter(option__position__variant=catalog)
    costs.filter(sku="SETUP-2C").update(calculation_amount=None)
    costs.filter(sku="HANDLING").update(calculation_amount=Decimal("9999999999.9999"))

    body = reader.get(f"{QUOTE}?{QUOTABLE}&quantity=999&option={OPTION}").json()

    setup, handling = body["print"]["costs"]
    assert (setup["calculation_amount"], setup["total"]) == (None, "35.00")  # null counts 1
    exact = Decimal("0.035") * Decimal("9999999999.9999") * 999
    assert handling["calculation_amount"] == "9999999999.9999"
    assert Decimal(handling["total"]) == exact.quantize(Decimal("0.01"))
    expected_total = Decimal("1.90") * 999 + Decimal("0.375") * 999 + 35 + exact
    assert Decimal(body["total"]) == expected_total.quantize(Decimal("0.01"))


def test_an_option_priced_in_another_currency_is_a_422(reader, catalog):
    PrintOptionTier.objects.filter(option__sku=OPTION, region="EURO").update(currency="USD")
    response = reader.get(f"{QUOTE}?{QUOTABLE}&quantity=100&option={OPTION}")
    assert_json_error(response, 422, "does not convert currencies")


# --- throttling ----------------------------------------------------------------------------
def test_a_failing_cache_lets_requests_through(reader, catalog, monkeypatch, settings):
    settings.PROMIDATA_API_REQUESTS_PER_MINUTE = 1

    class BrokenCache:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache down")

        incr = add

    monkeypatch.setattr("promidata_sync.http.auth.cache", BrokenCache())
    assert [reader.get(CATEGORIES).status_code for _ in range(3)] == [200, 200, 200]


def test_the_throttle_counts_per_key_per_minute(client, db):
    from promidata_sync.services.api_keys import create_key

    _key, greedy = create_key("greedy", ["catalog:read"], requests_per_minute=2)
    _other, patient = create_key("patient", ["catalog:read"])
    statuses = [client.get(CATEGORIES, HTTP_AUTHORIZATION=f"Bearer {greedy}") for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert_json_error(statuses[-1], 429, "2 requests per minute")
    assert 1 <= int(statuses[-1]["Retry-After"]) <= 61
    assert client.get(CATEGORIES, HTTP_AUTHORIZATION=f"Bearer {patient}").status_code == 200


# --- secrets in answers and logs -----------------------------------------------------------
def test_docs_and_schema_expose_no_data_and_no_secret(client, catalog_key, settings):
    settings.PROMIDATA_API_TOKEN = TOKEN
    settings.PROMIDATA_IMPORT_URL = IMPORT_URL
    supplier = Supplier.objects.create(code="A77", name="Zebrafish Ltd")
    Product.objects.create(supplier=supplier, sku="A77-UNIQUE-4242", names={"en": "Zebrafish"})

    for url in ("/api/docs/", "/api/schema/"):
        response = client.get(url)
        text = response.content.decode()
        assert response.status_code == 200
        for secret in (catalog_key, catalog_key[:12], TOKEN, FAKE_PROFILE_GUID):
            assert secret not in text, (url, secret[:12])
        assert "A77-UNIQUE-4242" not in text and "Zebrafish" not in text
    assert client.get("/api/schema/").json()["servers"] == []


def test_an_unexpected_error_shows_no_traceback_and_logs_no_guid(
    reader, catalog, monkeypatch, settings, logged
):
    settings.PROMIDATA_IMPORT_URL = IMPORT_URL

    def boom(*args, **kwargs):
        raise RuntimeError(f"cannot read {IMPORT_URL}")

    monkeypatch.setattr("promidata_sync.http.catalog.product_page", boom)
    response = reader.get(PRODUCTS)

    message = assert_json_error(response, 500, "internal error")
    assert "RuntimeError" not in message and FAKE_PROFILE_GUID not in message
    assert "RuntimeError" in logged.getvalue()
    assert FAKE_PROFILE_GUID not in logged.getvalue()


def test_an_unreadable_feed_is_a_502_naming_no_profile_guid(
    client, feed_server, sync_config, no_in_process_worker, settings, logged
):
    settings.PROMIDATA_API_TOKEN = TOKEN
    feed_server.fail(urlsplit(feed_server.import_url).path, 403)

    response = client.post(
        "/api/sync", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )

    message = assert_json_error(response, 502, "feed unreadable")
    assert FAKE_PROFILE_GUID not in message and "403" in message
    assert FAKE_PROFILE_GUID not in logged.getvalue() and TOKEN not in logged.getvalue()


# --- the API key admin ---------------------------------------------------------------------
def test_a_new_api_key_is_shown_once_and_kept_nowhere(admin_client, logged):
    response = admin_client.post(
        reverse("admin:promidata_sync_apikey_add"),
        {"name": "shop", "scopes": ["catalog:read"], "requests_per_minute": ""},
    )
    html = response.content.decode()
    plain = re.search(r"pds_[A-Za-z0-9_-]{43}", html).group(0)
    key = ApiKey.objects.get()

    assert html.count(plain) == 1 and "no-store" in response["Cache-Control"]
    assert plain not in logged.getvalue()
    assert plain not in str(dict(admin_client.session.items()))
    assert all(plain not in str(m) for m in get_messages(response.wsgi_request))
    for entry in LogEntry.objects.all():
        assert plain not in entry.change_message and plain not in entry.object_repr
    assert plain not in (key.name, key.prefix, key.key_hash) and key.prefix == plain[:12]
    for url in (
        reverse("admin:promidata_sync_apikey_changelist"),
        reverse("admin:promidata_sync_apikey_change", args=[key.pk]),
        reverse("admin:index"),
    ):
        assert plain not in admin_client.get(url).content.decode(), url

    admin_client.post(
        reverse("admin:promidata_sync_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert Client().get(CATEGORIES, HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401


# --- the webhook admin ---------------------------------------------------------------------
def webhook_form(url: str) -> dict:
    return {"name": "hook", "url": url, "events": ["run.finished"], "is_active": "on"} | {
        "new_secret": ""
    }


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("javascript:alert(1)", "valid URL"),
        ("file:///etc/passwd", "valid URL"),
        ("https://user:pa55word@hooks.example.com/x", "credentials"),
        ("ftp://hooks.example.com/", "https://"),
        ("https://hooks.example.com:99999/", "port"),
        ("https://hooks.exa%6dple.com/", "valid URL"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_the_webhook_form_refuses_bad_urls(admin_client, url, text):
    response = admin_client.post(
        reverse("admin:promidata_sync_webhookendpoint_add"), webhook_form(url)
    )
    assert response.status_code == 200 and text in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_password_in_an_old_endpoint_url_is_shown_in_no_list_log_or_error(admin_client, logged):
    endpoint = WebhookEndpoint.objects.create(
        name="legacy",
        url="https://user:pa55word@203.0.113.9/hook/t0ken",
        secret=SECRET,
        events=["run.finished"],
    )
    delivery = webhooks.delivery_ping(endpoint)

    outcome = webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert outcome.state == "failed" and "credentials" in delivery.last_error
    pages = [
        reverse("admin:promidata_sync_webhookendpoint_changelist"),
        reverse("admin:promidata_sync_webhookdelivery_changelist"),
        reverse("admin:promidata_sync_webhookdelivery_change", args=[delivery.pk]),
    ]
    shown = [admin_client.get(url).content.decode() for url in pages]
    for text in [delivery.last_error, logged.getvalue(), *shown]:
        for secret in ("pa55word", "t0ken", SECRET):
            assert secret not in text


def test_a_link_local_webhook_url_is_never_posted_to(admin_client, logged):
    url = "http://169.254.169.254/latest/meta-data/"
    admin_client.post(reverse("admin:promidata_sync_webhookendpoint_add"), webhook_form(url))
    endpoint = WebhookEndpoint.objects.get()  # accepted by the form: refused when sent
    delivery = webhooks.delivery_ping(endpoint)

    outcome = webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert (outcome.state, delivery.state) == ("failed", WebhookDelivery.State.FAILED)
    assert "not a public address" in delivery.last_error
    assert "meta-data" not in delivery.last_error and "meta-data" not in logged.getvalue()
    assert endpoint.secret not in logged.getvalue()
