"""SyntheticFeed with the whole feed switched on: regions, print data, rich fields, sizes.

The oracle (``expected()``) is checked against an independent reader below, written from the
format notes (/work/shared/promidata-format.md 2.6, 2.6a, 2.7), not from the generator.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from decimal import Decimal

import pytest
from PIL import Image

from devtools.feedgen import (
    NINE_LOCALE_REGIONS,
    WHOLE_FEED,
    FeedSpec,
    SyntheticFeed,
)

BASE = "http://feed.test/Profiles/Live/guid"
CURRENCIES = {"EURO": "EUR", "CHF": "CHF", "GBP": "GBP", "SEK": "SEK"}
ALPHA3 = {"CHN": "CN", "DEU": "DE", "ITA": "IT", "BGD": "BD", "TUR": "TR", "PRT": "PT"}
# Top-level child keys of the format notes' key tree (2.2); anything else is unknown.
KNOWN_CHILD_KEYS = {
    "Sku", "SupplierSku", "ANumber", "Ean", "VideoUrl", "ProductDetails",
    "NonLanguageDependedProductDetails", "ProductPriceCountryBased", "ProductPriceRegionBased",
    "SamplePriceCountryBased", "ProductCosts", "ImprintPositions", "BatteryInformation",
    "ProductCertificates", "RequiredCertificates", "ForbiddenRegions",
    "UnstructuredInformation", "Errors", "Warnings",
}  # fmt: skip


def whole(**overrides) -> FeedSpec:
    options = {
        "suppliers": 1,
        "families_per_supplier": 10,
        "regions": NINE_LOCALE_REGIONS,
        "print_positions": 2,
        "print_options": 3,
        "print_costs": 2,
        "print_shape": "mixed",
        "rich": True,
    }
    return FeedSpec(**{**options, **overrides})


def _doc(feed: SyntheticFeed, sku: str) -> dict:
    body = feed.family_json(sku.split("-")[0], sku, BASE)
    assert body is not None
    return json.loads(body)


def _hashes(feed: SyntheticFeed) -> dict[str, str]:
    lines = feed.import_txt(BASE).decode().splitlines()[1:]
    return {line.split("|")[0].rsplit("/", 1)[1][:-5]: line.split("|")[1] for line in lines}


# ---------------------------------------------------------------------- a reference reader


def _number(value):
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _regions(prices: dict) -> dict:
    def tiers(entries):
        return sorted(
            (t["Quantity"], Decimal("0") if t["OnRequest"] else Decimal(repr(t["Price"])))
            for t in entries
        )

    result = {}
    for region, block in prices.items():
        valutas = {t["Valuta"] for t in block["RecommendedSellingPrice"]}
        assert len(valutas) == 1
        result[region] = {
            "currency": CURRENCIES[valutas.pop()],
            "sell": tiers(block["RecommendedSellingPrice"]),
            "buy": tiers(block["GeneralBuyingPrice"]),
            "minimum_order_quantity": block["MinimumOrderQuantity"],
            "quantity_increment": block["QuantityIncrements"],
            "vat_percentage": _number(block["VatPercentage"]),
            "vat_setting_id": block["VatSettingId"],
        }
    return result


def _texts(blocks: dict, key: str) -> dict:
    return {lang: b[key] for lang, b in blocks.items() if b.get(key)}


def _option(raw: dict) -> dict:
    info = raw["UnstructuredInformation"]
    default = info.get("IsDefault")
    return {
        "sku": raw["Sku"],
        "supplier_sku": raw["SupplierSku"],
        "print_code": raw["SupplierPrintCode"],
        "names": _texts(raw["ImprintTexts"], "Name"),
        "descriptions": _texts(raw["ImprintTexts"], "Description"),
        "print_colors": raw["PrintColor"] or None,  # 0 states no colour count
        "print_color_text": raw["PrintColorAsText"],
        "dimension": raw["Dimension"],
        "imprint_type": raw["ImprintType"],
        "active_regions": raw["IsActiveCountryBased"],
        "max_colors": int(info["MaxColors"]) if "MaxColors" in info else None,
        "is_default": None if default is None else default == "True",
        "regions": _regions(raw["ProductPriceCountryBased"]),
        "costs": [
            {
                "sku": cost["Sku"],
                "names": _texts(cost["Texts"], "Name"),
                "calculation_type": cost["CalculationType"],
                "calculation_amount": _number(cost["CalculationAmount"]),
                "requirement": cost["Requirement"],
                "regions": _regions(cost["ProductPriceCountryBased"]),
            }
            for cost in raw["ImprintCosts"]
        ],
    }


def _print(child: dict, references: dict | None, warnings: list) -> list:
    result, seen = [], set()
    for position in child["ImprintPositions"] or []:
        if position["PositionCode"] in seen:
            warnings.append(f"duplicate {position['PositionCode']}")
            continue
        seen.add(position["PositionCode"])
        if "ImprintOptionsReferences" in position:
            options = []
            for digest in position["ImprintOptionsReferences"]:
                if digest in references:
                    options.append(references[digest])
                else:
                    warnings.append(f"unknown reference {digest}")
        else:
            options = position["ImprintOptions"]
        texts = position["ImprintLocationTexts"]
        images = [i["Url"] for block in texts.values() for i in block["Images"] or []]
        result.append(
            {
                "code": position["PositionCode"],
                "supplier_code": position["SupplierPositionCode"],
                "names": _texts(texts, "Name"),
                "descriptions": _texts(texts, "Description"),
                "max_print_area": position["UnstructuredInformation"]["MaxPrintArea"],
                "images": list(dict.fromkeys(images)),
                "options": [_option(o) for o in options],
            }
        )
    return result


def _release(value: str | None) -> str | None:
    if value is None:
        return None
    if "." in value:
        day, month, year = value.split(".")
        return f"{year}-{month}-{day}"
    return value


def _rich(child: dict) -> dict:
    nld = child["NonLanguageDependedProductDetails"]
    videos = child["VideoUrl"]
    if isinstance(videos, str):
        videos = [{"url": videos, "description": "", "file_name": ""}]
    else:
        videos = [
            {
                "url": v["Url"],
                "description": v["Description"] or "",
                "file_name": v["FileName"] or "",
            }
            for v in videos or []
        ]
    hexes = [nld["HexColor"], (child["UnstructuredInformation"] or {}).get("HexColor")]
    hexes += [
        b["UnstructuredInformation"].get("HexColor") for b in child["ProductDetails"].values()
    ]
    hexes = {h for h in hexes if h}
    assert len(hexes) <= 1
    origin = nld["CountryOfOrigin"]
    carton = {
        "length_cm": _number(nld.get("OuterCartonLengthCM")),
        "width_cm": _number(nld.get("OuterCartonWidthCM")),
        "height_cm": _number(nld.get("OuterCartonHeightCM")),
        "weight_net_kg": _number(nld.get("OuterCartonWeightNetKG")),
        "weight_gross_kg": _number(nld.get("OuterCartonWeightGrossKG")),
        "quantity": nld.get("OuterCartonQuantityPerCarton"),
    }
    return {
        "videos": videos,
        "release_date": _release(child["UnstructuredInformation"].get("ReleaseDate")),
        "country_of_origin": ALPHA3.get(origin, origin),
        "carton": carton,
        "hex_color": f"#{hexes.pop().upper()}" if hexes else "",
        "filters": nld["ProductFiltersByGroup"],
        "extra_keys": sorted(set(child) - KNOWN_CHILD_KEYS),
    }


def read_family(doc: dict, spec: FeedSpec, warnings: list | None = None) -> dict:
    """What an importer following the format notes would store, in expected() shape."""
    warnings = [] if warnings is None else warnings
    first = spec.regions[0][0]
    variants = {}
    for child in doc["ChildProducts"]:
        details = next(iter(child["ProductDetails"].values()))
        images = [details["Image"]["Url"]] if details["Image"] else []
        images += [g["Url"] for g in details["MediaGalleryImages"] or []]
        prices = child["ProductPriceCountryBased"]

        def tiers(entries):
            return [
                (t["Quantity"], Decimal("0") if t["OnRequest"] else Decimal(repr(t["Price"])))
                for t in entries
            ]

        entry = {
            "sell": tiers(prices[first]["RecommendedSellingPrice"]),
            "buy": tiers(prices[first]["GeneralBuyingPrice"]),
            "images": images,
            "regions": _regions(prices),
            "print": _print(child, doc["ImprintReferences"], warnings),
        }
        if spec.rich:
            entry.update(_rich(child))
        variants[child["Sku"]] = entry
    return {
        "variants": variants,
        "category": doc["NonLanguageDependedProductDetails"]["Category"],
        "names": {lang: d["Name"] for lang, d in doc["ProductDetails"].items()},
    }


# ---------------------------------------------------------------------- the oracle


@pytest.mark.parametrize("shape", ["inline", "referenced", "mixed"])
def test_expected_matches_what_an_importer_reads(shape):
    spec = whole(print_shape=shape, variants_per_family=3)
    feed = SyntheticFeed(spec)
    expected = feed.expected(BASE)["A100"]
    warnings: list[str] = []
    for sku, family in expected.items():
        assert family == read_family(_doc(feed, sku), spec, warnings), sku
    # Family 1 repeats a PositionCode; referenced family 2 references a missing hash.
    assert any(w.startswith("duplicate") for w in warnings)
    assert any(w.startswith("unknown reference") for w in warnings) == (shape != "inline")


def test_both_shapes_state_the_same_expectations():
    inline = SyntheticFeed(whole(print_shape="inline"))
    referenced = SyntheticFeed(whole(print_shape="referenced"))
    assert inline.expected(BASE) == referenced.expected(BASE)
    assert inline.import_txt(BASE) != referenced.import_txt(BASE)


def test_whole_feed_is_deterministic():
    spec = FeedSpec(suppliers=2, families_per_supplier=4, **{**WHOLE_FEED, "heavy_every": None})
    one, two = SyntheticFeed(spec), SyntheticFeed(FeedSpec(**vars(spec)))
    assert one.import_txt(BASE) == two.import_txt(BASE)
    assert one.expected(BASE) == two.expected(BASE)
    other = SyntheticFeed(FeedSpec(**{**vars(spec), "seed": 2}))
    assert other.import_txt(BASE) != one.import_txt(BASE)


# ---------------------------------------------------------------------- regions


def test_every_child_option_and_cost_has_every_region():
    feed = SyntheticFeed(whole())
    keys = [key for key, _ in NINE_LOCALE_REGIONS]
    for sku in feed.family_skus("A100"):
        doc = _doc(feed, sku)
        assert list(doc["ProductPriceCountryBased"]) == keys
        for region in doc["ProductPriceCountryBased"].values():
            assert len(region["RecommendedSellingPrice"]) == 1  # the root is a summary
        assert set(doc["DefaultProducts"]) == set(keys)
        options = list((doc["ImprintReferences"] or {}).values())
        for child in doc["ChildProducts"]:
            assert list(child["ProductPriceCountryBased"]) == keys
            for position in child["ImprintPositions"]:
                options += position.get("ImprintOptions", [])
        for option in options:
            assert list(option["ProductPriceCountryBased"]) == keys
            for cost in option["ImprintCosts"]:
                assert list(cost["ProductPriceCountryBased"]) == keys


def test_regions_differ_in_currency_price_and_settings():
    feed = SyntheticFeed(whole(families_per_supplier=12))
    variants = [v for f in feed.expected(BASE)["A100"].values() for v in f["variants"].values()]
    blocks = [(region, block) for v in variants for region, block in v["regions"].items()]
    currencies = {region: block["currency"] for region, block in blocks}
    assert currencies == {key: CURRENCIES[valuta] for key, valuta in NINE_LOCALE_REGIONS}
    for v in variants:
        assert v["sell"] == [t for t in v["regions"]["nl-NL"]["sell"]]
        assert v["regions"]["sv-SE"]["sell"][0][1] > 4 * v["regions"]["nl-NL"]["sell"][0][1]
        assert len({b["sell"][0][1] for b in v["regions"].values()}) > 3
    settings = {
        (b["minimum_order_quantity"], b["quantity_increment"], b["vat_percentage"])
        for _, b in blocks
    }
    assert (1, 1, Decimal(0)) in settings and (None, None, None) in settings
    assert {moq for moq, _, _ in settings} >= {1, 50, 100, None}
    assert Decimal("8.1") in {vat for _, _, vat in settings}  # de-CH gross, as a float


def test_price_traps_on_request_zero_and_unsorted_tiers():
    feed = SyntheticFeed(whole(families_per_supplier=5, print_positions=0))
    docs = {sku: _doc(feed, sku) for sku in feed.family_skus("A100")}
    expected = feed.expected(BASE)["A100"]

    def block(sku: str, region: str, child: int = 0) -> dict:
        return docs[sku]["ChildProducts"][child]["ProductPriceCountryBased"][region]

    on_request = {"Price": 0.0, "Quantity": 10000, "OnRequest": True, "Valuta": "EURO"}
    assert on_request in block("A100-F00002", "nl-NL")["RecommendedSellingPrice"]
    assert expected["A100-F00002"]["variants"]["A100-F00002-01"]["sell"][-1] == (10000, 0)
    free = {"Price": 0.0, "Quantity": 5000, "OnRequest": False, "Valuta": "EURO"}
    assert free in block("A100-F00003", "nl-BE")["RecommendedSellingPrice"]
    descending = [t["Quantity"] for t in block("A100-F00004", "de-DE")["RecommendedSellingPrice"]]
    assert descending == sorted(descending, reverse=True)
    regions = expected["A100-F00004"]["variants"]["A100-F00004-01"]["regions"]
    assert [q for q, _ in regions["de-DE"]["sell"]] == sorted(descending)
    # Only the first child carries traps; the root summary ignores them.
    assert on_request not in block("A100-F00002", "nl-NL", child=1)["RecommendedSellingPrice"]
    root = docs["A100-F00002"]["ProductPriceCountryBased"]["nl-NL"]["RecommendedSellingPrice"]
    assert root[0]["Price"] > 0 and root[0]["Quantity"] == 500


def test_a_single_region_in_another_currency():
    feed = SyntheticFeed(
        FeedSpec(suppliers=1, families_per_supplier=1, regions=(("sv-SE", "SEK"),))
    )
    assert feed.spec.region == "sv-SE"
    doc = _doc(feed, "A100-F00001")
    block = doc["ChildProducts"][0]["ProductPriceCountryBased"]["sv-SE"]
    assert {t["Valuta"] for t in block["RecommendedSellingPrice"]} == {"SEK"}
    variant = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]
    assert variant["regions"]["sv-SE"]["currency"] == "SEK"


# ---------------------------------------------------------------------- print data


def test_inline_positions_carry_everything():
    feed = SyntheticFeed(whole(print_shape="inline", print_positions=3, print_options=4))
    doc = _doc(feed, "A100-F00003")
    assert doc["ImprintReferences"] is None
    child = doc["ChildProducts"][0]
    assert [p["PositionCode"] for p in child["ImprintPositions"]] == ["FRONT", "BACK", "LEFT"]
    position = child["ImprintPositions"][0]
    assert position["UnstructuredInformation"]["MaxPrintArea"].endswith(" mm")
    assert set(position["PositionInformation"]) == {"MaxWidth", "MaxHeigth"}
    assert set(position["ImprintLocationTexts"]) == {"de", "en", "nl", "fr"}
    assert len(position["ImprintOptions"]) == 4
    option = position["ImprintOptions"][0]
    for key in (
        "Sku", "SupplierSku", "SupplierPrintCode", "ImprintTexts", "PrintColor",
        "PrintColorAsText", "FastEditorNumberOfColors", "Dimension", "DimensionsWidth",
        "DimensionsHeight", "DimensionsDepth", "DimensionsDiameter", "ImprintType",
        "IsActiveCountryBased", "UnstructuredInformation", "ProductPriceCountryBased",
        "ImprintCosts",
    ):  # fmt: skip
        assert key in option
    assert isinstance(option["FastEditorNumberOfColors"], str)
    cost = option["ImprintCosts"][0]
    assert {"Sku", "SupplierSku", "Texts", "CalculationType", "CalculationAmount",
            "Requirement", "IsActiveCountryBased"} <= set(cost)  # fmt: skip
    types = {
        c["CalculationType"]
        for p in child["ImprintPositions"]
        for o in p["ImprintOptions"]
        for c in o["ImprintCosts"]
    }
    assert {"Unique", "Multiplied"} <= types <= {"Unique", "Multiplied", "PerColor"}
    file_names = {
        i["FileName"]
        for p in child["ImprintPositions"]
        for block in p["ImprintLocationTexts"].values()
        for i in block["Images"]
    }
    assert None in file_names and len(file_names) > 1


def test_calculation_types_include_one_kept_as_sent():
    feed = SyntheticFeed(whole(print_positions=2, print_options=4, print_costs=3))
    types = {
        cost["calculation_type"]
        for family in feed.expected(BASE)["A100"].values()
        for v in family["variants"].values()
        for p in v["print"]
        for o in p["options"]
        for cost in o["costs"]
    }
    assert types == {"Unique", "Multiplied", "PerColor"}


def test_referenced_shape_holds_shared_options_once():
    feed = SyntheticFeed(whole(print_shape="referenced", variants_per_family=3))
    doc = _doc(feed, "A100-F00004")
    references = doc["ImprintReferences"]
    used = [
        digest
        for child in doc["ChildProducts"]
        for position in child["ImprintPositions"]
        for digest in position["ImprintOptionsReferences"]
    ]
    assert set(used) == set(references)
    assert len(used) > len(references)  # children share options
    for child in doc["ChildProducts"]:
        for position in child["ImprintPositions"]:
            assert "ImprintOptions" not in position
            for digest, value in position["ImprintOptionsReferences"].items():
                assert value == {"Sku": references[digest]["Sku"]}
    # Family 2's first child references a hash the root does not hold.
    doc = _doc(feed, "A100-F00002")
    first = doc["ChildProducts"][0]["ImprintPositions"][0]["ImprintOptionsReferences"]
    assert len(set(first) - set(doc["ImprintReferences"])) == 1


def test_duplicate_position_code_is_in_the_file_but_not_expected():
    for shape in ("inline", "referenced"):
        feed = SyntheticFeed(whole(print_shape=shape))
        child = _doc(feed, "A100-F00001")["ChildProducts"][0]
        codes = [p["PositionCode"] for p in child["ImprintPositions"]]
        assert codes[0] == codes[1] and len(set(codes)) == len(codes) - 1
        expected = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]
        assert [p["code"] for p in expected["print"]] == codes[:1] + codes[2:]
        assert (
            expected["print"][0]["names"]["en"]
            == child["ImprintPositions"][0]["ImprintLocationTexts"]["en"]["Name"]
        )


def test_position_and_document_images_are_real_pngs():
    feed = SyntheticFeed(whole())
    variant = feed.expected(BASE)["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]
    doc = _doc(feed, "A100-F00001")
    drawing = doc["ChildProducts"][0]["ProductDetails"]["de"]["InformationFiles"][0]["Url"]
    for url in [*variant["print"][0]["images"], drawing]:
        assert url.startswith(f"{BASE}/Images/")
        data = feed.image_png(url.rsplit("/", 1)[1].removesuffix(".png"))
        assert Image.open(io.BytesIO(data)).format == "PNG"
    assert feed.image_png("A100-00001-P02-0") is None  # only two positions
    assert feed.image_png("A100-00001-P00-1") is None  # one image per position
    assert SyntheticFeed(FeedSpec()).image_png("A100-00001-D0") is None  # not rich


# ---------------------------------------------------------------------- rich fields


def test_rich_fields_in_their_real_forms():
    feed = SyntheticFeed(whole(families_per_supplier=10))
    docs = {sku: _doc(feed, sku) for sku in feed.family_skus("A100")}
    expected = feed.expected(BASE)["A100"]
    children = {sku: doc["ChildProducts"][0] for sku, doc in docs.items()}
    first = {sku: next(iter(f["variants"].values())) for sku, f in expected.items()}

    assert isinstance(children["A100-F00003"]["VideoUrl"], str)
    assert first["A100-F00003"]["videos"] == [
        {"url": children["A100-F00003"]["VideoUrl"], "description": "", "file_name": ""}
    ]
    assert isinstance(children["A100-F00004"]["VideoUrl"], list)
    assert len(first["A100-F00004"]["videos"]) == 2
    assert children["A100-F00005"]["VideoUrl"] is None and first["A100-F00005"]["videos"] == []

    sent = {sku: c["UnstructuredInformation"].get("ReleaseDate") for sku, c in children.items()}
    assert sent["A100-F00002"].count("-") == 2 and sent["A100-F00001"].count(".") == 2
    assert sent["A100-F00008"] is None and first["A100-F00008"]["release_date"] is None
    assert first["A100-F00001"]["release_date"] == _release(sent["A100-F00001"])

    origins = {c["NonLanguageDependedProductDetails"]["CountryOfOrigin"] for c in children.values()}
    assert "Germany" in origins and any(len(o) == 3 for o in origins)
    assert any(len(o) == 2 for o in origins)
    assert first["A100-F00003"]["country_of_origin"] == "Germany"
    assert all(len(f["country_of_origin"]) == 2 for s, f in first.items() if s != "A100-F00003")
    assert any(
        " " in c["NonLanguageDependedProductDetails"]["CustomsTariffNumber"]
        for c in children.values()
    )

    nld = children["A100-F00001"]["NonLanguageDependedProductDetails"]
    strings = children["A100-F00001"]["ProductDetails"]["de"]["UnstructuredInformation"]
    assert isinstance(nld["OuterCartonWeightNetKG"], float)
    assert strings["OuterCartonWeightNetKG"] == f"{nld['OuterCartonWeightNetKG']:g}".replace(
        ".", ","
    )
    assert "," in strings["ItemWeightWithAccessoriesKG"] and "NeedBatteries" in strings
    assert first["A100-F00001"]["carton"]["weight_net_kg"] == Decimal(
        repr(nld["OuterCartonWeightNetKG"])
    )
    assert set(first["A100-F00004"]["carton"].values()) == {None}  # no carton data sent

    hexes = {f["hex_color"] for f in first.values()}
    assert "" in hexes and all(h == "" or (h[0] == "#" and len(h) == 7) for h in hexes)
    assert all(
        not (c["NonLanguageDependedProductDetails"]["HexColor"] or "").startswith("#")
        for c in children.values()
    )
    filters = children["A100-F00001"]["NonLanguageDependedProductDetails"]["ProductFiltersByGroup"]
    assert set(filters.values()) <= {"True", "False"}
    extra = {key for f in first.values() for key in f["extra_keys"]}
    assert extra == {"V1Sku", "GatewayInformation", "WEEE", "TexodataCategory"}
    details = children["A100-F00001"]["ProductDetails"]["en"]
    assert details["ShortDescription"] and details["MetaKeywords"].count(",") >= 1
    assert len(details["WebShopInformation"]) >= 3
    assert children["A100-F00001"]["NonLanguageDependedProductDetails"]["SecondaryCategories"]


# ---------------------------------------------------------------------- sizes and speed


def test_family_kb_pads_families_to_about_that_size():
    feed = SyntheticFeed(whole(family_kb=100, print_positions=0, print_costs=0))
    sizes = [len(feed.family_json("A100", sku, BASE)) for sku in feed.family_skus("A100")]
    assert all(75 * 1024 <= size <= 130 * 1024 for size in sizes), sizes
    expected = feed.expected(BASE)["A100"]
    variant = next(iter(expected["A100-F00002"]["variants"].values()))
    assert variant["print"] and len(variant["images"]) >= 4  # real weight, not a padding field


def test_every_nth_family_is_a_heavy_one():
    feed = SyntheticFeed(
        FeedSpec(suppliers=1, families_per_supplier=4, heavy_every=4, heavy_kb=3072)
    )
    sizes = [len(feed.family_json("A100", sku, BASE)) for sku in feed.family_skus("A100")]
    assert max(sizes[:3]) < 20 * 1024
    assert 2 * 1024 * 1024 <= sizes[3] <= 4 * 1024 * 1024
    doc = _doc(feed, "A100-F00004")
    positions = doc["ChildProducts"][0]["ImprintPositions"]
    assert len(positions) >= 6 and all(len(p["ImprintOptions"]) >= 8 for p in positions)


def test_a_240_kb_family_renders_fast():
    spec = whole(print_positions=3, print_options=4, print_costs=2, variants_per_family=2)
    feed = SyntheticFeed(spec)
    skus = feed.family_skus("A100")
    sizes = [len(feed.family_json("A100", sku, BASE)) for sku in skus]
    assert 150 * 1024 < sum(sizes) / len(sizes) < 350 * 1024
    started = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for sku in skus:
            feed.family_json("A100", sku, BASE)
    per_family = (time.perf_counter() - started) / (rounds * len(skus))
    assert per_family < 0.020, f"{per_family * 1000:.1f} ms per family"  # ~4 ms here


# ---------------------------------------------------------------------- mutations


def test_set_option_price_changes_every_child_that_has_the_option():
    feed = SyntheticFeed(whole(print_shape="referenced", variants_per_family=3))
    before, old = _hashes(feed), feed.expected(BASE)["A100"]["A100-F00004"]
    feed.set_option_price("A100-F00004", 1, 0, 1, Decimal("0.77"))
    after, new = _hashes(feed), feed.expected(BASE)["A100"]["A100-F00004"]
    assert {sku for sku in before if before[sku] != after[sku]} == {"A100-F00004"}
    for sku, variant in new["variants"].items():
        option = variant["print"][0]["options"][1]
        was = old["variants"][sku]["print"][0]["options"][1]
        assert option["regions"]["nl-NL"]["sell"][0] == (50, Decimal("0.77"))
        assert option["regions"]["nl-NL"]["sell"][1:] == was["regions"]["nl-NL"]["sell"][1:]
        assert option["regions"]["nl-BE"] == was["regions"]["nl-BE"]
    assert new == read_family(_doc(feed, "A100-F00004"), feed.spec)
    # Setting the same price again changes nothing.
    feed.set_option_price("A100-F00004", 0, 0, 1, Decimal("0.77"))
    assert _hashes(feed) == after


def test_remove_option_drops_it_from_one_child_only():
    for shape in ("inline", "referenced"):
        feed = SyntheticFeed(whole(print_shape=shape))
        before = _hashes(feed)
        old = feed.expected(BASE)["A100"]["A100-F00003"]["variants"]
        feed.remove_option("A100-F00003", 0, 1, 0)
        new = feed.expected(BASE)["A100"]["A100-F00003"]["variants"]
        first, second = list(new)
        assert new[first]["print"][1]["options"] == old[first]["print"][1]["options"][1:]
        assert new[second] == old[second]
        after = _hashes(feed)
        assert {sku for sku in before if before[sku] != after[sku]} == {"A100-F00003"}
        assert feed.expected(BASE)["A100"]["A100-F00003"] == read_family(
            _doc(feed, "A100-F00003"), feed.spec
        )
        for _ in range(2):
            feed.remove_option("A100-F00003", 0, 1, 0)
        assert (
            feed.expected(BASE)["A100"]["A100-F00003"]["variants"][first]["print"][1]["options"]
            == []
        )
        with pytest.raises(IndexError):
            feed.remove_option("A100-F00003", 0, 1, 0)


def test_option_mutations_need_print_data():
    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1))
    with pytest.raises(ValueError):
        feed.set_option_price("A100-F00001", 0, 0, 0, Decimal(1))
    feed = SyntheticFeed(whole())
    with pytest.raises(IndexError):
        feed.set_option_price("A100-F00001", 0, 5, 0, Decimal(1))
    with pytest.raises(KeyError):
        feed.remove_option("A100-F09999", 0, 0, 0)


def test_other_mutations_keep_working_with_the_whole_feed():
    feed = SyntheticFeed(whole(variants_per_family=3))
    feed.set_price("A100-F00006", 0, Decimal("9.99"))
    feed.remove_variant("A100-F00006", 1)
    new_sku = feed.add_variant("A100-F00006")
    feed.withdraw_family("A100-F00007")
    added = feed.add_family("A100")
    expected = feed.expected(BASE)["A100"]
    assert "A100-F00007" not in expected and added in expected
    family = expected["A100-F00006"]
    assert list(family["variants"]) == ["A100-F00006-01", "A100-F00006-03", new_sku]
    assert family["variants"]["A100-F00006-01"]["sell"][0] == (1, Decimal("9.99"))
    assert family["variants"]["A100-F00006-01"]["regions"]["nl-NL"]["sell"][0] == (
        1,
        Decimal("9.99"),
    )
    for sku in expected:
        assert expected[sku] == read_family(_doc(feed, sku), feed.spec), sku


# ---------------------------------------------------------------------- validation


def test_new_spec_options_are_validated():
    with pytest.raises(ValueError):
        FeedSpec(print_shape="sideways")
    with pytest.raises(ValueError):
        FeedSpec(print_positions=-1)
    with pytest.raises(ValueError):
        FeedSpec(regions=())
    with pytest.raises(ValueError):
        FeedSpec(regions=(("nl-NL", "EURO"), ("nl-NL", "EURO")))
    with pytest.raises(ValueError):
        FeedSpec(region="BENELUX", regions=NINE_LOCALE_REGIONS)
    with pytest.raises(ValueError):
        FeedSpec(family_kb=0)
    assert FeedSpec(regions=NINE_LOCALE_REGIONS).region == "nl-NL"
    assert FeedSpec(region="BENELUX").regions == (("BENELUX", "EURO"),)


# ---------------------------------------------------------------------- the default feed


# sha256 of Import.txt (which holds every family's SHA-1) for specs of the existing suite,
# recorded before regions, print data and rich fields existed.
DEFAULT_FEEDS = {
    "default": (
        {},
        "6d068f98f674ba871fde888cc78e00d3cc43597fdcbd96ce10e6884323c6f7fa",
    ),
    "pool": (
        {"suppliers": 3, "families_per_supplier": 7, "variants_per_family": 3, "image_pool": 5,
         "seed": 7},
        "3f4e5974eda6fef83824df8872cc57bb863ed5d7ef6a56339579d1f15993bf65",
    ),
    "single": (
        {"suppliers": 1, "families_per_supplier": 4, "variants_per_family": 1,
         "images_per_variant": 0, "languages": ("nl",), "region": "BENELUX"},
        "4e2917cc41c4af43d4390ccaf6d0c91412095027dc6b1f4bfe644bbf224c35fd",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", DEFAULT_FEEDS)
def test_default_specs_render_exactly_as_before(name):
    options, digest = DEFAULT_FEEDS[name]
    feed = SyntheticFeed(FeedSpec(**options))
    body = feed.import_txt("http://feed.test/Profiles/Live/guid")
    assert hashlib.sha256(body).hexdigest() == digest


def test_default_family_and_mutations_render_exactly_as_before():
    base = "http://feed.test/Profiles/Live/guid"
    feed = SyntheticFeed(FeedSpec())
    family = feed.family_json("A100", "A100-F00003", base)
    assert hashlib.sha256(family).hexdigest() == (
        "6cdc66e0aa36b9e656d9a39aa43829897296ab067d115fbedc902ed8339f2db1"
    )
    feed.set_price("A100-F00003", 1, Decimal("1.23"))
    feed.remove_variant("A100-F00002", 0)
    feed.add_variant("A101-F00004")
    feed.withdraw_family("A101-F00001")
    feed.add_family("A100")
    assert hashlib.sha256(feed.import_txt(base)).hexdigest() == (
        "528793a470f59c991604644935b87ebc7500b232bcef741d2fddf3082495a738"
    )
