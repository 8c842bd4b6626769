"""SyntheticFeed: determinism, real format, hashes, mutations and expected()."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from decimal import Decimal

import pytest
from PIL import Image

from devtools.feedgen import CATEGORY_HEADER, FeedSpec, SyntheticFeed, ean13

BASE = "http://feed.test/Profiles/Live/guid"


def _hashes(feed: SyntheticFeed, base: str = BASE) -> dict[str, str]:
    """Import.txt as {family sku: HASH}."""
    lines = feed.import_txt(base).decode("utf-8").splitlines()
    result = {}
    for line in lines[1:]:
        url, digest = line.split("|")
        result[url.rsplit("/", 1)[1].removesuffix(".json")] = digest
    return result


def _doc(feed: SyntheticFeed, sku: str) -> dict:
    body = feed.family_json(sku.split("-")[0], sku, BASE)
    assert body is not None
    return json.loads(body)


LEGACY_KEYS = ("sell", "buy", "images")


def _legacy(expected_family: dict) -> dict:
    """An expected() family with only the variant keys that predate regions and print data."""
    variants = {
        sku: {key: v[key] for key in LEGACY_KEYS} for sku, v in expected_family["variants"].items()
    }
    return {**expected_family, "variants": variants}


def _as_expected(doc: dict, region: str) -> dict:
    """What an importer would extract from one family JSON, in expected() shape (the keys
    that predate regions and print data; test_feedgen_whole.py checks the rest)."""

    def tiers(entries):
        return [(t["Quantity"], Decimal(repr(t["Price"]))) for t in entries]

    variants = {}
    for child in doc["ChildProducts"]:
        details = next(iter(child["ProductDetails"].values()))
        images = [details["Image"]["Url"]] if details["Image"] else []
        images += [g["Url"] for g in details["MediaGalleryImages"] or []]
        prices = child["ProductPriceCountryBased"][region]
        variants[child["Sku"]] = {
            "sell": tiers(prices["RecommendedSellingPrice"]),
            "buy": tiers(prices["GeneralBuyingPrice"]),
            "images": images,
        }
    return {
        "variants": variants,
        "category": doc["NonLanguageDependedProductDetails"]["Category"],
        "names": {lang: d["Name"] for lang, d in doc["ProductDetails"].items()},
    }


# ---------------------------------------------------------------------- determinism


def test_same_spec_renders_identical_bytes():
    spec = FeedSpec(suppliers=2, families_per_supplier=5, image_pool=4, seed=7)
    one, two = SyntheticFeed(spec), SyntheticFeed(FeedSpec(**vars(spec)))
    assert one.import_txt(BASE) == two.import_txt(BASE)
    assert one.categories_csv() == two.categories_csv()
    for code in one.supplier_codes:
        for sku in one.family_skus(code):
            assert one.family_json(code, sku, BASE) == two.family_json(code, sku, BASE)
    assert one.image_png("P000003") == two.image_png("P000003")


def test_other_seed_renders_other_content():
    one = SyntheticFeed(FeedSpec(seed=1))
    two = SyntheticFeed(FeedSpec(seed=2))
    assert one.import_txt(BASE) != two.import_txt(BASE)


def test_listing_names():
    feed = SyntheticFeed(FeedSpec(suppliers=3, families_per_supplier=2))
    assert feed.supplier_codes == ["A100", "A101", "A102"]
    assert feed.family_skus("A101") == ["A101-F00001", "A101-F00002"]
    with pytest.raises(KeyError):
        feed.family_skus("A999")


# ---------------------------------------------------------------------- Import.txt


def test_import_txt_lines_and_hashes():
    feed = SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=3))
    lines = feed.import_txt(BASE).decode("utf-8").splitlines()
    assert lines[0] == f"{BASE}/CAT.csv"
    assert len(lines) == 1 + 6
    for line in lines[1:]:
        url, digest = line.split("|")
        match = re.fullmatch(rf"{re.escape(BASE)}/(A\d+)/(A\d+-F\d{{5}})\.json", url)
        assert match, url
        assert re.fullmatch(r"[0-9A-F]{40}", digest)
        body = feed.family_json(match[1], match[2], BASE)
        assert hashlib.sha1(body).hexdigest().upper() == digest


def test_hash_depends_on_base_url():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1))
    assert _hashes(feed, "http://a") != _hashes(feed, "http://b")


# ---------------------------------------------------------------------- family JSON


def test_family_json_is_compact_real_format():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1, region="BENELUX"))
    body = feed.family_json("A100", "A100-F00001", BASE)
    doc = json.loads(body)
    # Compact: byte-identical to a compact re-encode.
    assert body == json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

    assert (doc["Sku"], doc["SupplierSku"], doc["ANumber"]) == ("A100-F00001", "F00001", "A100")
    assert set(doc["ProductDetails"]) == {"de", "en", "nl", "fr"}
    root_nl = doc["NonLanguageDependedProductDetails"]
    assert root_nl["SearchColor"] == "Undefined"
    assert root_nl["DimensionsLength"] == root_nl["Weight"] == 0
    root_prices = doc["ProductPriceCountryBased"]["BENELUX"]
    assert len(root_prices["RecommendedSellingPrice"]) == 1
    assert doc["DefaultProducts"] == {"BENELUX": "A100-F00001-01"}

    children = doc["ChildProducts"]
    assert [c["Sku"] for c in children] == ["A100-F00001-01", "A100-F00001-02"]
    for child in children:
        assert child["ANumber"] == "A100"
        assert child["Ean"] == ean13(int(child["Ean"][:12]))
        details = child["ProductDetails"]
        assert set(details) == {"de", "en", "nl", "fr"}
        # The same image URLs repeat in every language, as in real files.
        urls = {(d["Image"]["Url"], d["MediaGalleryImages"][0]["Url"]) for d in details.values()}
        assert len(urls) == 1
        names = [f["ConfigurationName"] for f in details["de"]["ConfigurationFields"]]
        assert names == ["Color", "Size"]
        nl = child["NonLanguageDependedProductDetails"]
        assert nl["SearchColor"] != "Undefined" and nl["Weight"] > 0
        assert {"CountryOfOrigin", "CustomsTariffNumber", "DimensionsHeight"} <= set(nl)
        block = child["ProductPriceCountryBased"]["BENELUX"]
        assert [t["Quantity"] for t in block["RecommendedSellingPrice"]] == [1, 100, 500]
        assert len(block["GeneralBuyingPrice"]) == 2
        tiers = block["RecommendedSellingPrice"] + block["GeneralBuyingPrice"]
        assert all(t["Valuta"] == "EURO" and isinstance(t["Price"], float) for t in tiers)
        assert (block["VatPercentage"], block["VatSettingId"]) == (0, 1)
    assert doc["ProductDetails"]["de"]["Image"] == children[0]["ProductDetails"]["de"]["Image"]


def test_single_variant_families_use_pattern_a():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=2, variants_per_family=1))
    doc = _doc(feed, "A100-F00002")
    assert [c["Sku"] for c in doc["ChildProducts"]] == ["A100-F00002"]
    assert list(feed.expected(BASE)["A100"]["A100-F00002"]["variants"]) == ["A100-F00002"]
    assert feed.add_variant("A100-F00002") == "A100-F00002-02"


def test_languages_and_image_counts_follow_spec():
    spec = FeedSpec(suppliers=1, families_per_supplier=1, languages=("nl",), images_per_variant=3)
    doc = _doc(SyntheticFeed(spec), "A100-F00001")
    details = doc["ChildProducts"][0]["ProductDetails"]
    assert list(details) == ["nl"]
    assert len(details["nl"]["MediaGalleryImages"]) == 2


def test_variants_without_images():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1, images_per_variant=0))
    doc = _doc(feed, "A100-F00001")
    assert doc["ProductDetails"]["de"]["Image"] is None
    assert doc["ChildProducts"][0]["ProductDetails"]["de"]["MediaGalleryImages"] is None
    variants = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]
    assert all(v["images"] == [] for v in variants.values())


def test_unknown_families_render_none():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=2))
    assert feed.family_json("A100", "A100-F00003", BASE) is None
    assert feed.family_json("A100", "A100-F0001", BASE) is None  # not canonical
    assert feed.family_json("A101", "A101-F00001", BASE) is None
    assert feed.family_json("A100", "A101-F00001", BASE) is None


def test_expected_agrees_with_rendered_json():
    spec = FeedSpec(suppliers=2, families_per_supplier=4, variants_per_family=3, image_pool=5)
    feed = SyntheticFeed(spec)
    expected = feed.expected(BASE)
    assert set(expected) == {"A100", "A101"}
    for code, families in expected.items():
        assert list(families) == feed.family_skus(code)
        for sku, family in families.items():
            assert _legacy(family) == _as_expected(_doc(feed, sku), spec.region)
            for variant in family["variants"].values():
                assert variant["print"] == []
                assert list(variant["regions"]) == [spec.region]
                assert variant["regions"][spec.region]["sell"] == variant["sell"]
            assert family["category"].count("/") >= 1


def test_expected_uses_server_base_url_or_complains():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1))
    with pytest.raises(ValueError):
        feed.expected()
    feed.base_url = BASE
    assert feed.expected() == feed.expected(BASE)


# ---------------------------------------------------------------------- mutations


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {sku for sku in before.keys() & after.keys() if before[sku] != after[sku]}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f.set_price("A100-F00002", 1, Decimal("1.23")),
        lambda f: f.remove_variant("A100-F00002", 0),
        lambda f: f.add_variant("A100-F00002"),
    ],
    ids=["set_price", "remove_variant", "add_variant"],
)
def test_mutation_changes_exactly_one_hash(mutate):
    feed = SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=3))
    before = _hashes(feed)
    mutate(feed)
    after = _hashes(feed)
    assert before.keys() == after.keys()
    assert _changed(before, after) == {"A100-F00002"}


def test_setting_the_same_price_keeps_the_hash():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=2))
    before = _hashes(feed)
    current = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]["sell"]
    feed.set_price("A100-F00001", 0, current[0][1])
    assert _hashes(feed) == before


def test_set_price_changes_first_sell_tier_only():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1))
    old = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]
    feed.set_price("A100-F00001", 1, Decimal("9.99"))
    new = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]
    assert new["A100-F00001-02"]["sell"] == [
        (1, Decimal("9.99")),
        *old["A100-F00001-02"]["sell"][1:],
    ]
    assert new["A100-F00001-02"]["buy"] == old["A100-F00001-02"]["buy"]
    assert new["A100-F00001-01"] == old["A100-F00001-01"]
    rendered = _as_expected(_doc(feed, "A100-F00001"), "EURO")["variants"]
    assert _legacy({"variants": new})["variants"] == rendered


def test_remove_and_add_variants_keep_other_skus_stable():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1, variants_per_family=3))
    original = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]
    feed.remove_variant("A100-F00001", 1)
    new_sku = feed.add_variant("A100-F00001")
    assert new_sku == "A100-F00001-04"
    variants = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]
    assert list(variants) == ["A100-F00001-01", "A100-F00001-03", "A100-F00001-04"]
    assert variants["A100-F00001-03"] == original["A100-F00001-03"]
    assert [c["Sku"] for c in _doc(feed, "A100-F00001")["ChildProducts"]] == list(variants)
    with pytest.raises(ValueError):
        for _ in range(3):
            feed.remove_variant("A100-F00001", 0)


def test_withdraw_and_add_families():
    feed = SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=2))
    before = _hashes(feed)
    feed.withdraw_family("A100-F00001")
    new_sku = feed.add_family("A101")
    after = _hashes(feed)
    assert new_sku == "A101-F00003"
    assert set(after) == (set(before) - {"A100-F00001"}) | {"A101-F00003"}
    assert _changed(before, after) == set()
    assert feed.family_json("A100", "A100-F00001", BASE) is None
    expected = feed.expected(BASE)
    assert "A100-F00001" not in expected["A100"] and "A101-F00003" in expected["A101"]
    # A family added later renders exactly like in a feed generated with one more family.
    bigger = SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=3))
    assert feed.family_json("A101", new_sku, BASE) == bigger.family_json("A101", new_sku, BASE)
    with pytest.raises(KeyError):
        feed.set_price("A100-F00001", 0, Decimal(1))


# ---------------------------------------------------------------------- images and CSV


def test_image_png_is_a_real_deterministic_png():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1))
    url = _doc(feed, "A100-F00001")["ChildProducts"][0]["ProductDetails"]["de"]["Image"]["Url"]
    image_id = url.removeprefix(f"{BASE}/Images/").removesuffix(".png")
    data = feed.image_png(image_id)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (16, 16))
    assert SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1)).image_png(image_id) == data
    assert feed.image_png("nope") is None
    assert feed.image_png("A999-00001-01-0") is None


def test_image_pool_repeats_images_across_suppliers():
    feed = SyntheticFeed(FeedSpec(suppliers=3, families_per_supplier=10, image_pool=4))
    expected = feed.expected(BASE)
    per_supplier = [
        {url for f in families.values() for v in f["variants"].values() for url in v["images"]}
        for families in expected.values()
    ]
    everything = set().union(*per_supplier)
    assert len(everything) <= 4
    assert set.intersection(*per_supplier)
    for url in everything:
        assert feed.image_png(url.rsplit("/", 1)[1].removesuffix(".png")) is not None
    assert feed.image_png("P000004") is None


def test_categories_csv_covers_every_used_key_and_parents():
    feed = SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=30))
    data = feed.categories_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert tuple(rows[0]) == CATEGORY_HEADER
    keys = {row[0] for row in rows[1:]}
    used = {f["category"] for fams in feed.expected(BASE).values() for f in fams.values()}
    for key in used:
        parts = key.split("/")
        assert {"/".join(parts[: n + 1]) for n in range(len(parts))} <= keys


def test_spec_validation():
    with pytest.raises(ValueError):
        FeedSpec(variants_per_family=0)
    with pytest.raises(ValueError):
        FeedSpec(images_per_variant=3, image_pool=2)
    with pytest.raises(ValueError):
        FeedSpec(languages=())


def test_large_feed_is_lazy():
    started = time.perf_counter()
    feed = SyntheticFeed(FeedSpec(suppliers=40, families_per_supplier=1000, image_pool=500))
    assert len(feed.family_skus("A139")) == 1000
    body = feed.family_json("A139", "A139-F01000", BASE)
    assert json.loads(body)["Sku"] == "A139-F01000"
    assert time.perf_counter() - started < 2  # nothing is rendered up front
