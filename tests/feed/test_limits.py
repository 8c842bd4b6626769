"""Validation at the edge: what the catalog cannot hold never leaves the parsers.

The limits must match the columns they protect (checked against the models here), and each
parser turns a value that does not fit into a warning, a skipped child, a malformed line or an
invalid family, as its docstring says. No database is needed: the guarantee is the parser's.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection

from catalog.models import Category, PriceTier, Product, Supplier, Variant
from promidata_sync.feed import (
    FeedDataError,
    limits,
    parse_categories,
    parse_family,
    parse_import_index,
)
from promidata_sync.models import SyncItem, VariantImage

from .family_factory import SOURCE_URL, make_child, make_family

BASE = "https://promi-dl.de/Profiles/Live/guid"


def parse(raw, **kwargs):
    data = raw if isinstance(raw, bytes | str) else json.dumps(raw)
    return parse_family(data, family_sku="A23-100804", source_url=SOURCE_URL, **kwargs)


def field_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def test_the_limits_are_the_columns_they_protect():
    assert limits.SKU_CHARS == field_length(Product, "sku") == field_length(Variant, "sku")
    assert field_length(Variant, "supplier_sku") == limits.SKU_CHARS
    assert limits.TEXT_CHARS == field_length(Product, "brand") == field_length(Variant, "color")
    assert field_length(Supplier, "name") == limits.TEXT_CHARS
    assert field_length(Supplier, "code") == limits.SUPPLIER_CODE_CHARS
    assert field_length(Product, "promidata_hash") == limits.HASH_CHARS
    assert field_length(SyncItem, "token") == limits.HASH_CHARS
    assert field_length(Product, "source_url") == limits.URL_CHARS
    assert field_length(VariantImage, "url") == limits.URL_CHARS
    assert field_length(Variant, "ean") == limits.EAN_CHARS
    assert field_length(Variant, "customs_tariff_number") == limits.TARIFF_CHARS
    assert field_length(Variant, "country_of_origin") == limits.RAW_COUNTRY_CHARS
    assert field_length(Variant, "search_color") == limits.SEARCH_COLOR_CHARS
    assert field_length(PriceTier, "region") == limits.REGION_CHARS
    assert field_length(VariantImage, "file_name") == limits.FILE_NAME_CHARS
    assert field_length(Category, "key") == limits.CATEGORY_KEY_CHARS
    assert field_length(Category, "icon") == limits.CATEGORY_ASSET_CHARS
    assert field_length(Category, "image") == limits.CATEGORY_ASSET_CHARS
    assert field_length(Variant, "size") == limits.TEXT_CHARS
    assert field_length(SyncItem, "key") == limits.URL_CHARS
    assert connection.ops.integer_field_range("PositiveIntegerField") == (0, limits.MAX_INT)
    price = PriceTier._meta.get_field("price")
    assert Decimal(10) ** (price.max_digits - price.decimal_places) == limits.PRICE_LIMIT
    weight = Variant._meta.get_field("weight_g")
    assert Decimal(10) ** (weight.max_digits - weight.decimal_places) == limits.MEASURE_LIMIT


# --- family files that cannot be used at all -------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('{"Sku": "x", "Weight": ' + "9" * 5000 + "}", "broken JSON"),
        ("[" * 100_000, "nested too deeply"),
        ('{"ChildProducts": [' + "{}," * 1_000_001 + "{}]}", "more than the limit"),
    ],
    ids=["5000-digit number", "nested 100000 deep", "a million objects"],
)
def test_files_python_or_memory_refuse_are_invalid_families(raw, says):
    with pytest.raises(FeedDataError, match=says):
        parse(raw)


def test_a_family_with_more_children_than_the_limit_is_invalid():
    children = [make_child(f"A23-100804-{i:04}") for i in range(11)]
    with pytest.raises(FeedDataError, match="11 children, more than the limit of 10"):
        parse(make_family(children=children), max_children=10)
    assert len(parse(make_family(children=children), max_children=11).variants) == 11


# --- values that do not fit: dropped with a warning -----------------------------------------
def test_a_child_whose_sku_does_not_fit_is_skipped_with_a_warning():
    record = parse(make_family(children=[make_child(), make_child("A23-" + "S" * 252)]))

    assert [v.sku for v in record.variants] == ["A23-100804-001"]
    assert any("SKU is 256 characters long" in w for w in record.warnings)


def test_texts_that_do_not_fit_their_column_are_dropped_never_cut():
    raw = make_family()
    raw["NonLanguageDependedProductDetails"]["Brand"] = "B" * 256
    raw["SupplierSku"] = "X" * 256
    child = raw["ChildProducts"][0]
    child["Ean"] = "1" * 33
    child["NonLanguageDependedProductDetails"]["CustomsTariffNumber"] = "4" * 33
    child["NonLanguageDependedProductDetails"]["SearchColor"] = "c" * 65

    record = parse(raw)
    variant = record.variants[0]

    assert (record.brand, record.supplier_sku) == ("", "")
    assert (variant.ean, variant.customs_tariff_number, variant.search_color) == ("", "", "")
    assert record.variants[1].ean == "8714612345678"  # the other child keeps its values
    for fragment in ["brand of 256", "SupplierSku of 256", "Ean of 33", "SearchColor of 65"]:
        assert any(fragment in w for w in record.warnings), fragment


def test_numbers_that_do_not_fit_are_dropped_with_a_warning():
    child = make_child(
        sell=[(1, "9999999999.99995"), (100, 14.5), (3 * 10**9, 13.0), (250, "9999999999.9999")]
    )
    child["ProductPriceCountryBased"]["BENELUX"]["MinimumOrderQuantity"] = 10**12
    child["NonLanguageDependedProductDetails"]["Weight"] = "12345678901234"
    child["NonLanguageDependedProductDetails"]["DimensionsLength"] = "0.0004"

    record = parse(make_family(children=[child]))
    (variant,) = record.variants

    sell = {t.min_quantity: t.price for t in variant.price_tiers if t.kind == "sell"}
    # Rounded to the column's 4 places first: 9,999,999,999.99995 would need 11 digits.
    assert sell == {100: Decimal("14.5000"), 250: Decimal("9999999999.9999")}
    assert variant.minimum_order_quantity is None
    assert variant.weight_g is None
    assert variant.length_mm == Decimal("0.000")  # rounded like the database would, half up
    for fragment in ["too large; dropped", "unusable Quantity", "MinimumOrderQuantity", "Weight"]:
        assert any(fragment in w for w in record.warnings), fragment


def test_nul_control_characters_and_lone_surrogates_are_removed_from_every_text():
    raw = make_family()
    raw["ProductDetails"]["en"]["Name"] = "Tote\x00 with \x07bell\ttab"
    raw["ChildProducts"][0]["ProductDetails"]["de"]["ConfigurationFields"][0][
        "ConfigurationValue"
    ] = "schwarz\x00"
    text = json.dumps(raw).replace('"Description": "', '"Description": "\\ud800', 1)

    record = parse(text)

    assert record.names["en"] == "Tote with bell\ttab"
    assert record.variants[0].attributes["Color"]["value"]["de"] == "schwarz"
    assert "\ud800" not in json.dumps(record.descriptions, ensure_ascii=False)
    assert any("NUL or control characters removed from 3" in w for w in record.warnings)


def test_nan_and_infinity_read_as_null():
    child = make_child(sell=[(1, 15.95), (100, 14.5)])
    text = json.dumps(make_family(children=[child])).replace('"Price": 14.5', '"Price": NaN')

    record = parse(text.replace('"Weight": 175', '"Weight": Infinity'))

    assert [t.min_quantity for t in record.variants[0].price_tiers if t.kind == "sell"] == [1]
    assert record.variants[0].weight_g is None
    assert any("2 NaN or Infinity value(s) read as null" in w for w in record.warnings)


@pytest.mark.parametrize(
    "key",
    ["a/" * 10_000, "A/" * 10 + "B", "X" * 256, "BAGS//TOTES"],
    ids=["deep", "11", "long", "empty"],
)
def test_a_category_the_catalog_cannot_hold_is_dropped(key):
    raw = make_family()
    for holder in [raw, *raw["ChildProducts"]]:
        holder["NonLanguageDependedProductDetails"]["Category"] = key

    record = parse(raw)

    assert record.category_key == ""
    assert any("stored without a category" in w for w in record.warnings)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://images.promi-dl.de:99999/x.jpg", "invalid port"),
        ("http://images.promi-dl.de:abc/x.jpg", "invalid port"),
        ("http://evil.example\\.promi-dl.de/x.jpg", "backslash"),
        ("http://evil.example%2f.promi-dl.de/x.jpg", "percent"),
        ("javascript:alert(1)", "scheme"),
        ("https://images.promi-dl.de/" + "x" * 2000 + ".jpg", "over the limit of 2,000"),
    ],
)
def test_image_urls_the_catalog_cannot_store_or_fetch_are_dropped(url, says):
    child = make_child()
    for block in child["ProductDetails"].values():
        block["Image"]["Url"] = url
        block["MediaGalleryImages"] = None

    record = parse(make_family(children=[child]))

    # The child falls back to the family's main image, as a child without images does.
    assert url not in [image.url for image in record.variants[0].images]
    assert any(says in w for w in record.warnings), record.warnings


def test_warnings_are_capped_and_counted():
    child = make_child(sell=[(q, "junk") for q in range(1, 81)])

    record = parse(make_family(children=[child]))

    assert len(record.warnings) == limits.WARNINGS_KEPT
    assert record.warning_count >= 80


def test_warnings_quote_a_short_part_of_a_huge_value():
    child = make_child(sell=[(1, "x" * 1_000_000)])

    record = parse(make_family(children=[child]))

    assert max(len(w) for w in record.warnings) < 300


# --- Import.txt lines ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "says", "blamed"),
    [
        (f"{BASE}/A23/A23-1.json|{'H' * 129}", "hash is 129 characters long", "A23"),
        (f"{BASE}/{'A' * 33}/A1-1.json|ABC", "supplier folder is 33 characters", None),
        (f"{BASE}/A..B%2F/A1-1.json|ABC", "not a supplier code", None),
        (f"{BASE}/A23/A23-%00X.json|ABC", "control or format characters", "A23"),
        (f"{BASE}/A23/{'S' * 256}.json|ABC", "SKU is 256 characters long", "A23"),
        ("http://promi-dl.de:99999/A23/A23-1.json|ABC", "invalid port", "A23"),
        ("http://promi-dl.de\\.x/A23/A23-1.json|ABC", "backslash", "A23"),
        (f"{BASE}/A23/" + "x" * 5000 + ".json|ABC", "characters long; not read", None),
    ],
)
def test_index_lines_the_catalog_cannot_hold_are_malformed(line, says, blamed):
    index = parse_import_index(
        f"{BASE}/CAT.csv\n{line}\n{BASE}/A23/A23-2.json|ABC\n", base_url=BASE
    )

    (malformed,) = index.malformed
    assert says in malformed.reason
    assert malformed.supplier_code == blamed
    assert len(malformed.text) <= 200 and "\x00" not in malformed.text
    assert [e.family_sku for e in index.entries] == ["A23-2"]


def test_a_categories_line_with_a_bad_port_is_malformed_and_the_index_goes_on():
    index = parse_import_index(
        f"http://promi-dl.de:99999/CAT.csv\n{BASE}/A23/A23-2.json|ABC\n", base_url=BASE
    )

    assert index.categories_url is None
    assert "unusable categories URL" in index.malformed[0].reason
    assert [e.family_sku for e in index.entries] == ["A23-2"]


def test_categories_too_deep_or_too_long_are_malformed_rows():
    deep = "/".join(["A"] * 11)
    text = f"KEY;DE\nBAGS;Taschen\n{deep};Tief\n{'K' * 256};Lang\nBAGS/TOTES;Taschen / Tote\n"

    parsed = parse_categories(text)

    assert [c.key for c in parsed.categories] == ["BAGS", "BAGS/TOTES"]
    reasons = [m.reason for m in parsed.malformed]
    assert any("11 levels deep" in r for r in reasons)
    assert any("256 characters long" in r for r in reasons)


@pytest.mark.parametrize("bad", ["\t", "\n", "\u202e", "\u200b", "\x00"])
def test_skus_with_control_or_format_characters_are_refused(bad):
    index = parse_import_index(
        f"{BASE}/CAT.csv\n{BASE}/A23/A23-1{quote(bad)}2.json|ABC\n", base_url=BASE
    )
    record = parse(make_family(children=[make_child(), make_child(f"A23-100804-9{bad}9")]))

    assert index.entries == () and "control or format" in index.malformed[0].reason
    # In a family file a NUL is removed from every text first (A23-100804-99 is a good SKU);
    # whatever is left that no SKU may hold skips the child.
    assert len(record.variants) == (2 if bad == "\x00" else 1)


def test_a_number_of_a_million_digits_costs_no_time():
    child = make_child(sell=[(1, 15.95), ("9" * 1_000_000, 12.0)])

    started = time.perf_counter()
    record = parse(make_family(children=[child]))

    assert time.perf_counter() - started < 2
    assert any("unusable Quantity" in w for w in record.warnings)


def test_a_cut_warning_never_shows_part_of_the_profile_guid(settings):
    guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    feed = f"https://promi-dl.de/Profiles/Live/{guid}"
    settings.PROMIDATA_IMPORT_URL = f"{feed}/Import/Import.txt"
    child = make_child()
    for block in child["ProductDetails"].values():
        block["Image"]["Url"] = "x" * 2000  # relative: resolved against the family's URL
        block["MediaGalleryImages"] = None

    record = parse_family(
        json.dumps(make_family(children=[child])),
        family_sku="A23-100804",
        source_url=f"{feed}/A23/A23-100804.json",
    )

    warning = next(w for w in record.warnings if "dropped" in w and "image" in w)
    assert guid[:8] not in warning


def test_category_file_headers_are_cleaned_like_its_cells():
    parsed = parse_categories("KEY;de\x00;" + "X" * 40 + "\nBAGS;Taschen;ignored\n")

    assert parsed.categories[0].names == {"de": "Taschen"}


def test_a_small_file_cannot_declare_millions_of_images():
    raw = make_family(children=[make_child(f"A23-100804-{i:03}", images=[]) for i in range(200)])
    raw["ProductDetails"] = {
        f"x{i}": {"Name": "n", "Image": {"Url": f"https://images.promi-dl.de/i/{i}.jpg"}}
        for i in range(2000)
    }

    started = time.perf_counter()
    record = parse(raw)

    assert time.perf_counter() - started < 5
    assert all(len(v.images) <= limits.IMAGES_PER_VARIANT for v in record.variants)
    assert any(f"only the first {limits.LANGUAGES_KEPT} read" in w for w in record.warnings)


def test_an_image_url_too_long_in_bytes_for_the_index_is_dropped():
    child = make_child()
    url = "https://images.promi-dl.de/" + "漢" * 1000 + ".jpg"  # 1,031 characters, 3,031 bytes
    for block in child["ProductDetails"].values():
        block["Image"]["Url"] = url

    record = parse(make_family(children=[child]))

    assert url not in [image.url for image in record.variants[0].images]
    assert any("bytes long in UTF-8" in w for w in record.warnings)


def test_one_huge_category_cell_costs_its_name_not_the_file():
    parsed = parse_categories("KEY;DE\nBAGS;" + "T" * 200_000 + "\nBAGS/TOTES;Taschen / Tote\n")

    assert [c.key for c in parsed.categories] == ["BAGS", "BAGS/TOTES"]
    assert parsed.categories[0].names == {}
    assert any("name of 200,000 characters dropped" in w for w in parsed.warnings)


def test_index_lines_glued_with_bytes_order_marks_still_parse():
    text = f"\ufeff{BASE}/CAT.csv\n\ufeff{BASE}/A23/A23-1.json|ABC\n"

    index = parse_import_index(text, base_url=f"{BASE}/Import/Import.txt")

    assert [e.family_sku for e in index.entries] == ["A23-1"]


@pytest.mark.parametrize("line", ["x.json|ABC", "../../z.json|ABC", "/y.json|ABC"])
def test_a_relative_line_never_borrows_a_folder_of_the_index_url(line):
    index = parse_import_index(f"{BASE}/CAT.csv\n{line}\n", base_url=f"{BASE}/Import/Import.txt")

    assert index.entries == ()
    assert index.malformed[0].supplier_code is None
