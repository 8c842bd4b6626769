"""The hostile and broken inputs the sync must contain, one per supplier of the test feed.

Each ``Case`` poisons the first family of its own supplier, in one of three ways: it rewrites
the family's JSON (``body``), it makes the loopback server misbehave for that family
(``server``), or it adds lines to Import.txt (``index_lines``). ``expect`` says what a user
must then find:

- ``"failed"``: the family is not in the catalog at all (nothing half-written) and its item
  failed with an error containing ``says``;
- ``"warned"``: the family is in the catalog without the offending value, and its item's
  warnings contain ``says``; ``check`` looks at the stored product;
- ``"image_failed"``: the family is stored, and an image item of the run failed with an
  error containing ``says``;
- ``"index"``: the supplier's run carries ``says`` among its index warnings; the supplier's
  good families are all stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# A brand that a database trigger refuses (``dbtool.py install-trigger``): an error no code
# path foresees, raised by the database itself.
POISON_BRAND = "POISON-TRIGGER"


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # "failed" | "warned" | "image_failed" | "index"
    says: str  # a fragment of the recorded error or warning
    body: Callable[[dict], bytes] | None = None
    server: Callable[..., None] | None = None  # (feed_server, family path, family body)
    index_lines: Callable[[str, str], list[str]] | None = None  # (base_url, code)
    check: Callable[[dict], bool] = field(default=lambda product: True)


def _dumps(body: dict) -> bytes:
    return json.dumps(body).encode()


def _child(body: dict, index: int = 0) -> dict:
    return body["ChildProducts"][index]


def _nld(body: dict, index: int | None = None) -> dict:
    holder = body if index is None else _child(body, index)
    return holder["NonLanguageDependedProductDetails"]


def _euro(body: dict, index: int = 0) -> dict:
    return _child(body, index)["ProductPriceCountryBased"]["EURO"]


def _first_image(body: dict, index: int = 0) -> dict:
    details = _child(body, index)["ProductDetails"]
    return next(iter(details.values()))["Image"]


def _profile_folder(body: dict) -> str:
    """The profile's own folder (``…/Profiles/Live/<GUID>``), from a served image's URL."""
    return _first_image(body)["Url"].rsplit("/Images/", 1)[0]


def _image_path(body: dict) -> str:
    return urlsplit(_first_image(body)["Url"]).path


def _set_image_url(body: dict, url: str) -> bytes:
    for block in _child(body)["ProductDetails"].values():
        block["Image"] = {"Url": url, "FileName": "x.png"}
    return _dumps(body)


def _with(body: dict, change: Callable[[dict], object]) -> bytes:
    change(body)
    return _dumps(body)


def _replace_number(body: dict, placeholder: float, text: str) -> bytes:
    """Serialise with a number the json module would never write (huge, NaN...)."""
    _nld(body, 0)["Weight"] = placeholder
    return _dumps(body).replace(json.dumps(placeholder).encode(), text.encode(), 1)


CASES: list[Case] = [
    # --- the family file itself is unusable: the family fails, nothing of it is stored ---
    Case("broken_json", "failed", "broken JSON", body=lambda b: _dumps(b)[:-40]),
    Case("not_utf8", "failed", "not valid UTF-8", body=lambda b: b"\xff\xfe" + _dumps(b)),
    Case("top_level_array", "failed", "object at the top level", body=lambda b: b"[1, 2]"),
    Case(
        "number_of_5000_digits",
        "failed",
        "broken JSON",
        body=lambda b: _replace_number(b, 123.25, "9" * 5000),
    ),
    Case("nested_100000_deep", "failed", "nested too deeply", body=lambda b: b"[" * 100_000),
    Case(
        "json_bomb_18mb_of_empty_children",
        "failed",
        "more than the limit",
        body=lambda b: b'{"Sku": "x", "ChildProducts": [' + b"{}," * 6_000_000 + b"{}]}",
    ),
    Case(
        "too_many_children",
        "failed",
        "more than the limit of 1,000",
        body=lambda b: _with(
            b,
            lambda b: b.__setitem__(
                "ChildProducts",
                [{**_child(b), "Sku": f"{_child(b)['Sku']}-{i}"} for i in range(1001)],
            ),
        ),
    ),
    Case(
        "a_database_error_nobody_foresaw",
        "failed",
        "internal error",
        body=lambda b: _with(b, lambda b: _nld(b).__setitem__("Brand", POISON_BRAND)),
    ),
    Case(
        "family_404",
        "failed",
        "HTTP 404",
        server=lambda server, path, body: server.fail(path, 404),
    ),
    Case(
        "redirect_to_the_metadata_address",
        "failed",
        "PROMIDATA_ALLOWED_HOSTS",
        server=lambda server, path, body: server.fail(
            path, 302, headers={"Location": "http://169.254.169.254/latest/meta-data/x.json"}
        ),
    ),
    Case(
        "server_dribbling_a_byte_at_a_time",
        "failed",
        "deadline",
        server=lambda server, path, body: server.dribble(path, 0.05, chunk_bytes=1),
    ),
    # --- one value does not fit: dropped with a warning, the family is stored ---
    Case(
        "child_sku_of_300_characters",
        "warned",
        "SKU is 300 characters long",
        body=lambda b: _with(b, lambda b: _child(b, 1).__setitem__("Sku", "S" * 300)),
        check=lambda p: len(p["variants"]) == 1,
    ),
    Case(
        "brand_of_300_characters",
        "warned",
        "brand of 300 characters dropped",
        body=lambda b: _with(b, lambda b: _nld(b).__setitem__("Brand", "B" * 300)),
        check=lambda p: p["brand"] == "",
    ),
    Case(
        "supplier_sku_of_300_characters",
        "warned",
        "SupplierSku of 300 characters dropped",
        body=lambda b: _with(b, lambda b: b.__setitem__("SupplierSku", "X" * 300)),
    ),
    Case(
        "image_url_of_2100_characters",
        "warned",
        "over the limit of 2,000",
        body=lambda b: _set_image_url(b, "http://127.0.0.1/" + "i" * 2100 + ".png"),
    ),
    Case(
        "image_url_with_port_99999",
        "warned",
        "invalid port",
        body=lambda b: _set_image_url(b, "http://127.0.0.1:99999/x.png"),
    ),
    Case(
        "image_url_with_port_abc",
        "warned",
        "invalid port",
        body=lambda b: _set_image_url(b, "http://127.0.0.1:abc/x.png"),
    ),
    Case(
        "image_url_with_a_backslash_in_the_host",
        "warned",
        "backslash",
        body=lambda b: _set_image_url(b, "http://evil.example\\.127.0.0.1/x.png"),
    ),
    # --- an image cannot be had: that image fails, its family is stored ---
    Case(
        "image_file_url_with_a_nul",
        "image_failed",
        "file URL",
        body=lambda b: _set_image_url(b, "file:///tmp/%00/x.png"),
    ),
    Case(
        "image_404",
        "image_failed",
        "HTTP 404",
        server=lambda server, path, body: server.fail(_image_path(body), 404),
    ),
    Case(
        "image_that_is_not_an_image",
        "image_failed",
        "not an image",
        server=lambda server, path, body: server.replace(_image_path(body), b"<html>hi</html>"),
    ),
    Case(
        "image_right_in_the_profile_folder",  # masked, its last two segments are GUID/file
        "image_failed",
        "HTTP 404",
        body=lambda b: _set_image_url(
            b, _first_image(b)["Url"].rsplit("/Images/", 1)[0] + "/x.png"
        ),
    ),
    Case(
        "image_url_of_1000_chinese_characters",  # 3,000 bytes: over PostgreSQL's index limit
        "warned",
        "bytes long in UTF-8",
        body=lambda b: _set_image_url(b, "http://127.0.0.1/Images/" + "漢" * 1000 + ".png"),
    ),
    Case(
        "image_host_resolving_to_a_private_address",
        "image_failed",
        "not a public address",
        body=lambda b: _set_image_url(b, "http://127.0.0.2:9/x.png"),
    ),
    Case(
        "tier_quantity_over_the_integer_range",
        "warned",
        "unusable Quantity",
        body=lambda b: _with(
            b, lambda b: _euro(b)["RecommendedSellingPrice"][1].__setitem__("Quantity", 3 * 10**9)
        ),
    ),
    Case(
        "minimum_order_quantity_over_the_integer_range",
        "warned",
        "MinimumOrderQuantity",
        body=lambda b: _with(b, lambda b: _euro(b).__setitem__("MinimumOrderQuantity", 10**12)),
    ),
    Case(
        "weight_over_the_decimal_digits",
        "warned",
        "Weight",
        body=lambda b: _with(b, lambda b: _nld(b, 0).__setitem__("Weight", "12345678901234")),
    ),
    Case(
        "price_that_rounds_to_eleven_digits",
        "warned",
        "too large",
        body=lambda b: _with(
            b,
            lambda b: _euro(b)["RecommendedSellingPrice"][0].__setitem__(
                "Price", "9999999999.99995"
            ),
        ),
    ),
    Case(
        "nan_price",
        "warned",
        "NaN or Infinity",
        body=lambda b: _dumps(b).replace(b'"Price": ', b'"Price": NaN, "Was": ', 1),
    ),
    Case(
        "nul_and_control_characters_in_texts",
        "warned",
        "NUL or control characters removed",
        body=lambda b: _with(
            b,
            lambda b: [
                block.__setitem__("Name", "Tasche\x00 mit \x07Glocke")
                for block in _child(b)["ProductDetails"].values()
            ],
        ),
    ),
    Case(
        "lone_surrogate_in_a_description",
        "warned",
        "NUL or control characters removed",
        body=lambda b: _dumps(b).replace(b'"Description": "', b'"Description": "\\ud800', 1),
    ),
    Case(
        "category_path_10000_levels_deep",
        "warned",
        "stored without a category",
        body=lambda b: _with(
            b,
            lambda b: (
                [_nld(b).__setitem__("Category", "a/" * 10_000)]
                + [_nld(b, i).__setitem__("Category", "a/" * 10_000) for i in range(2)]
            ),
        ),
        check=lambda p: p["category"] is None,
    ),
    # --- Import.txt lines the catalog cannot hold: malformed, the rest of the index goes on ---
    Case(
        "index_hash_of_200_characters",
        "index",
        "hash is 200 characters long",
        index_lines=lambda base, code: [f"{base}/{code}/{code}-LONGHASH.json|{'H' * 200}"],
    ),
    Case(
        "index_sku_with_a_nul",
        "index",
        "control or format characters",
        index_lines=lambda base, code: [f"{base}/{code}/{code}-%00X.json|ABCDEF"],
    ),
    Case(
        "index_url_with_port_99999",
        "index",
        "invalid port",
        index_lines=lambda base, code: [f"http://127.0.0.1:99999/{code}/{code}-P.json|ABCDEF"],
    ),
]

# Lines no supplier can be blamed for: they are malformed, and nothing else changes.
UNATTRIBUTED_INDEX_LINES = [
    "http://127.0.0.1/" + "A" * 40 + "/A1-1.json|ABCDEF",  # a supplier folder of 40 characters
    "http://127.0.0.1/A9/" + "x" * 10_000_000 + ".json|ABCDEF",  # a 10 MB line
    "\x00\x01\x02 garbage",
]
