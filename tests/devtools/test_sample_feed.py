"""The committed sample_feed/ matches its builder and is internally consistent."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import pytest
from PIL import Image

from devtools import build_sample_feed as builder

ROOT = builder.DEFAULT_OUTPUT
REBUILD_HINT = "sample_feed/ is stale: run `python -m devtools.build_sample_feed`"


def _on_disk(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _family(path: str) -> dict:
    return json.loads((ROOT / path).read_bytes())


def _index_lines() -> list[str]:
    return (ROOT / "Import" / "Import.txt").read_bytes().decode("utf-8-sig").splitlines()


def _resolve(document: str, url: str) -> Path:
    """Resolve ``url`` the way the importer does: urljoin against the document's file URL."""
    joined = urljoin((ROOT / document).resolve().as_uri(), url)
    parts = urlsplit(joined)
    assert parts.scheme == "file", joined
    return Path(url2pathname(unquote(parts.path)))


# ---------------------------------------------------------------------- freshness


def test_committed_files_match_the_builder(tmp_path):
    rebuilt = tmp_path / "sample_feed"
    builder.build(rebuilt)
    committed, fresh = _on_disk(ROOT), _on_disk(rebuilt)
    assert sorted(committed) == sorted(fresh), REBUILD_HINT
    stale = [path for path in fresh if committed[path] != fresh[path]]
    assert not stale, f"{REBUILD_HINT} ({stale})"
    assert fresh == builder.render_files()


def test_build_replaces_a_previous_build_but_not_foreign_folders(tmp_path):
    target = tmp_path / "out"
    builder.build(target)
    (target / "A23" / "leftover.json").write_text("{}")
    builder.build(target)
    assert not (target / "A23" / "leftover.json").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ValueError):
        builder.build(foreign)
    assert (foreign / "keep.txt").read_text() == "mine"


def test_sample_is_small():
    files = _on_disk(ROOT)
    total = sum(len(data) for data in files.values())
    assert total < 8 * 1024 * 1024  # small enough to commit, the 3 MB family included
    plain = [f"{f.supplier}/{f.sku}.json" for f in builder.FAMILIES if f.whole is None]
    assert sum(len(files[path]) for path in plain) < 400 * 1024
    assert len(builder.FAMILIES) in range(25, 40)


# ---------------------------------------------------------------------- Import.txt


def test_import_txt_quirks():
    raw = (ROOT / "Import" / "Import.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n")
    lines = _index_lines()
    assert lines[0] == "../CAT.csv"
    assert lines.count("") == 1
    assert builder.GARBAGE_LINE in lines
    products = [line for line in lines if "|" in line]
    assert len(products) - len(set(products)) == 1  # exactly one exact duplicate
    assert len(set(products)) == len(builder.FAMILIES)


def test_import_hashes_match_file_bytes():
    for line in _index_lines():
        if "|" not in line:
            continue
        url, digest = line.split("|")
        body = _resolve("Import/Import.txt", url).read_bytes()
        assert hashlib.sha1(body).hexdigest().upper() == digest, url


def test_every_relative_url_resolves_inside_the_feed():
    root = ROOT.resolve()
    references = list(builder.iter_relative_urls(_on_disk(ROOT)))
    rows = csv.DictReader(io.StringIO((ROOT / "CAT.csv").read_text("utf-8-sig")), delimiter=";")
    references += [("CAT.csv", row["IMAGE"]) for row in rows if row["IMAGE"]]
    assert len(references) > 100
    for document, url in references:
        assert "://" not in url and not url.startswith("/"), url
        target = _resolve(document, url)
        assert target.is_file(), (document, url)
        assert target.resolve().is_relative_to(root), (document, url)


VIDEO_HOST = "https://video.example.com/"


def test_no_absolute_urls_or_real_profiles():
    for path, data in _on_disk(ROOT).items():
        if path.startswith("Images/"):
            continue
        # Videos are links to a video platform, on a reserved domain (and only in VideoUrl).
        text = data.decode("utf-8-sig").replace(VIDEO_HOST, "")
        for needle in ("http://", "https://", "promi-dl", "amazonaws", "/Profiles/Live/"):
            assert needle not in text, (path, needle)
    for path in ROOT.glob("A*/*.json"):
        for child in json.loads(path.read_bytes())["ChildProducts"]:
            text = json.dumps({k: v for k, v in child.items() if k != "VideoUrl"})
            assert VIDEO_HOST not in text, path


# ---------------------------------------------------------------------- images


def test_images_are_small_real_images_named_by_content():
    images = sorted((ROOT / "Images").iterdir())
    assert 28 <= len(images) <= 36
    formats = set()
    for path in images:
        data = path.read_bytes()
        assert path.stem == hashlib.sha256(data).hexdigest()
        assert len(data) <= 3 * 1024, path.name
        image = Image.open(io.BytesIO(data))
        image.load()
        formats.add(image.format)
        assert {"png": "PNG", "jpg": "JPEG"}[path.suffix[1:]] == image.format
        assert 48 <= image.width <= 96 and image.width == image.height
    assert formats == {"PNG", "JPEG"}


def test_png_encoder_round_trips_through_pillow():
    spec = next(s for s in builder.IMAGES if s.fmt == "png")
    image = Image.open(io.BytesIO(spec.render())).convert("RGB")
    palette, rows = spec.palette(), spec.pixels()
    for y in range(0, spec.size, 7):
        for x in range(0, spec.size, 5):
            assert image.getpixel((x, y)) == palette[rows[y][x]]


# ---------------------------------------------------------------------- CAT.csv


def test_categories_csv():
    raw = (ROOT / "CAT.csv").read_bytes()
    assert raw.startswith("\ufeffKEY;DE;EN;NL;ICON;IMAGE;FR\r\n".encode())
    text = raw.decode("utf-8-sig")
    assert "ä" in text or "ü" in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert any(";" in row["DE"] for row in rows)
    assert any(row["DE"] == "Taschen / Einkaufstaschen" for row in rows)
    keys = {row["KEY"] for row in rows}
    for path in (ROOT).glob("A*/*.json"):
        key = json.loads(path.read_bytes())["NonLanguageDependedProductDetails"]["Category"]
        parts = key.split("/")
        assert {"/".join(parts[: n + 1]) for n in range(len(parts))} <= keys


# ---------------------------------------------------------------------- tricky cases


def test_file_names_and_stems():
    for name in (
        "A23/A23-P300.18.json",
        "A130/A130-mo1001b.json",
        "A360/A360-CMSOCK_CS01.json",
        "A130/A130-100+1.json",
    ):
        doc = _family(name)
        assert doc["Sku"] == Path(name).name.removesuffix(".json")
    assert any(line.startswith("../A130/A130-100%2B1.json|") for line in _index_lines())


def test_supplier_conventions():
    for path in ROOT.glob("A*/*.json"):
        doc = json.loads(path.read_bytes())
        region = {"A23": "BENELUX", "A130": "EURO", "A360": "DEU"}[doc["ANumber"]]
        whole = builder.WHOLE_FAMILIES.get(doc["Sku"])
        regions = [key for key, _ in whole.regions] if whole and whole.regions else [region]
        region = regions[0]
        assert doc["ANumber"] == path.parent.name
        assert list(doc["ProductPriceCountryBased"]) == regions
        children = doc["ChildProducts"]
        assert 1 <= len(children) <= 4
        for child in children:
            assert list(child["ProductPriceCountryBased"]) == regions
            block = child["ProductPriceCountryBased"][region]
            sell, buy = block["RecommendedSellingPrice"], block["GeneralBuyingPrice"]
            if doc["ANumber"] == "A130":
                assert "fr" not in child["ProductDetails"] and len(buy) != len(sell)
            if doc["ANumber"] == "A360":
                assert len(children) == 1 and child["Sku"] == doc["Sku"]


def test_tricky_content():
    assert _family("A23/A23-100512.json")["ProductDetails"]["de"]["Description"] == []
    pen = _family("A23/A23-200100.json")["ChildProducts"][0]
    tiers = pen["ProductPriceCountryBased"]["BENELUX"]["RecommendedSellingPrice"]
    assert {"Price": 0.0, "Quantity": 10000, "OnRequest": True, "Valuta": "EURO"} in tiers
    mug = _family("A23/A23-200200.json")
    assert mug["ChildProducts"][1]["ProductDetails"]["de"]["Image"] is None
    assert mug["ProductDetails"]["de"]["Image"]["Url"]
    assert _family("A23/A23-300300.json")["ChildHasErrors"] is True
    socks = _family("A23/A23-600600.json")
    assert socks["ChildProducts"][0]["ProductDetails"]["de"]["IsActive"] == "True"
    on_request = socks["ChildProducts"][0]["ProductPriceCountryBased"]["BENELUX"]
    assert on_request["RecommendedSellingPrice"][0]["OnRequest"] == "False"
    jacket = _family("A23/A23-500500.json")["ChildProducts"][0]
    assert jacket["NonLanguageDependedProductDetails"]["OuterCartonWeightNetKG"] == "15,8"
    web_shop = _family("A23/A23-100804.json")["ChildProducts"][0][
        "NonLanguageDependedProductDetails"
    ]["WebShopInformation"]
    assert web_shop["OuterCartonWeightNetKG"] == "15,8"
    tee = _family("A23/A23-400410.json")["ChildProducts"]
    assert set(tee[0]["ProductDetails"]) == {"de", "en", "fr", "nl"}
    assert set(tee[2]["ProductDetails"]) == {"de", "en"}
    assert _family("A130/A130-893750.json")["ChildProducts"][0]["Ean"] is None
    assert _family("A130/A130-893730.json")["ChildProducts"][-1]["Ean"] == ""


def test_images_repeat_where_real_feeds_repeat_them():
    bag = _family("A23/A23-100804.json")
    first = bag["ChildProducts"][0]["ProductDetails"]
    assert len({json.dumps(d["Image"]) for d in first.values()}) == 1
    assert bag["ProductDetails"]["en"]["Image"] == first["en"]["Image"]
    a23 = _family("A23/A23-110100.json")["ChildProducts"][0]["ProductDetails"]["de"]["Image"]
    a130 = _family("A130/A130-110100.json")["ChildProducts"][0]["ProductDetails"]["de"]["Image"]
    assert a23["Url"] == a130["Url"]
    jumbo = _family("A360/A360-3300300.json")["ChildProducts"][0]["ProductDetails"]["de"]
    assert jumbo["MediaGalleryImages"][0]["Url"] == jumbo["Image"]["Url"]


def test_readme_lists_every_tricky_case():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "build_sample_feed" in readme
    for what, family in builder.TRICKY_CASES:
        assert f"{what}: {family}" in readme


# ---------------------------------------------------------------------- the whole feed

NINE = ["nl-NL", "nl-BE", "de-DE", "de-CH", "fr-BE", "fr-FR", "es-ES", "en-GB", "sv-SE"]


def _options(doc: dict) -> list[dict]:
    options = list((doc.get("ImprintReferences") or {}).values())
    for child in doc["ChildProducts"]:
        for position in child["ImprintPositions"] or []:
            options += position.get("ImprintOptions") or []
    return options


def test_whole_feed_families_and_sizes():
    assert set(builder.WHOLE_FAMILIES) == {"A23-700100", "A23-700200", "A23-700300", "A130-900100"}
    sizes = {
        sku: (ROOT / sku.split("-")[0] / f"{sku}.json").stat().st_size
        for sku in builder.WHOLE_FAMILIES
    }
    assert 60 * 1024 < sizes["A23-700100"] < 200 * 1024
    assert 60 * 1024 < sizes["A23-700200"] < 200 * 1024
    assert 2 * 1024 * 1024 < sizes["A23-700300"] < 4 * 1024 * 1024
    heavy = _family("A23/A23-700300.json")
    assert len(heavy["ChildProducts"]) == 4
    for child in heavy["ChildProducts"]:
        assert len(child["ImprintPositions"]) == 8
        assert all(len(p["ImprintOptions"]) == 7 for p in child["ImprintPositions"])


def test_nine_regions_with_their_currencies_everywhere():
    for name in ("A23/A23-700100.json", "A23/A23-700200.json", "A23/A23-700300.json"):
        doc = _family(name)
        assert list(doc["ProductPriceCountryBased"]) == NINE
        assert set(doc["DefaultProducts"]) == set(NINE)
        blocks = [child["ProductPriceCountryBased"] for child in doc["ChildProducts"]]
        for option in _options(doc):
            blocks.append(option["ProductPriceCountryBased"])
            blocks += [cost["ProductPriceCountryBased"] for cost in option["ImprintCosts"]]
        for prices in blocks:
            assert list(prices) == NINE
            valuta = {
                r: {t["Valuta"] for t in b["RecommendedSellingPrice"]} for r, b in prices.items()
            }
            assert valuta["de-CH"] == {"CHF"} and valuta["en-GB"] == {"GBP"}
            assert valuta["sv-SE"] == {"SEK"} and valuta["nl-NL"] == {"EURO"}
    child = _family("A23/A23-700100.json")["ChildProducts"][0]["ProductPriceCountryBased"]
    assert child["de-CH"]["VatPercentage"] == 8.1 and child["de-CH"]["VatSettingId"] == 2
    assert (
        child["fr-FR"]["MinimumOrderQuantity"] is None and child["fr-FR"]["VatPercentage"] is None
    )
    assert child["de-DE"]["MinimumOrderQuantity"] == 50 == child["de-DE"]["QuantityIncrements"]


def test_price_traps_in_the_first_child():
    first, second = _family("A23/A23-700100.json")["ChildProducts"][:2]
    prices = first["ProductPriceCountryBased"]
    assert {"Price": 0.0, "Quantity": 10000, "OnRequest": True, "Valuta": "GBP"} in prices["en-GB"][
        "RecommendedSellingPrice"
    ]
    assert {"Price": 0.0, "Quantity": 5000, "OnRequest": False, "Valuta": "SEK"} in prices["sv-SE"][
        "RecommendedSellingPrice"
    ]
    quantities = [t["Quantity"] for t in prices["de-CH"]["RecommendedSellingPrice"]]
    assert quantities == sorted(quantities, reverse=True) and len(quantities) > 1
    plain = second["ProductPriceCountryBased"]["de-CH"]["RecommendedSellingPrice"]
    assert [t["Quantity"] for t in plain] == sorted(quantities)


def test_print_data_inline():
    doc = _family("A23/A23-700100.json")
    assert doc["ImprintReferences"] is None
    position = doc["ChildProducts"][0]["ImprintPositions"][0]
    assert position["PositionCode"] == "FRONT"
    assert position["UnstructuredInformation"]["MaxPrintArea"] == "80 x 40 mm"
    assert position["PositionInformation"] == {"MaxWidth": 80, "MaxHeigth": 40}
    assert set(position["ImprintLocationTexts"]) == {"de", "en", "fr", "nl"}
    option = position["ImprintOptions"][0]
    assert isinstance(option["FastEditorNumberOfColors"], str)
    assert set(option["IsActiveCountryBased"]) == {"NL", "BE", "DE", "CH", "FR", "ES", "GB", "SE"}
    assert option["ImprintCosts"][0]["Requirement"] == {"Operator": "Always", "Amount": 0}
    names = [
        image["FileName"]
        for p in doc["ChildProducts"][0]["ImprintPositions"]
        for block in p["ImprintLocationTexts"].values()
        for image in block["Images"]
    ]
    assert None in names and any(names)
    pen = _family("A130/A130-900100.json")
    assert list(_options(pen)[0]["ProductPriceCountryBased"]) == ["EURO"]


def test_print_data_referenced_with_a_dangling_reference_and_a_repeated_position():
    doc = _family("A23/A23-700200.json")
    references = doc["ImprintReferences"]
    used = []
    for child in doc["ChildProducts"]:
        for position in child["ImprintPositions"]:
            assert "ImprintOptions" not in position
            for digest, value in position["ImprintOptionsReferences"].items():
                assert set(value) == {"Sku"}
                used.append(digest)
    unknown = [digest for digest in used if digest not in references]
    assert len(unknown) == 1
    assert len(used) - 1 > len(references) == len(set(used)) - 1  # shared options held once
    first, second = doc["ChildProducts"]
    assert unknown[0] in first["ImprintPositions"][0]["ImprintOptionsReferences"]
    codes = [p["PositionCode"] for p in second["ImprintPositions"]]
    assert codes[:2] == ["FRONT", "FRONT"] and len(set(codes)) == len(codes) - 1
    types = {cost["CalculationType"] for o in references.values() for cost in o["ImprintCosts"]}
    assert types == {"Unique", "Multiplied", "PerColor"}


def test_rich_fields():
    bag = _family("A23/A23-700100.json")["ChildProducts"][0]
    assert [v["Url"].startswith(VIDEO_HOST) for v in bag["VideoUrl"]] == [True, True]
    assert {v["FileName"] for v in bag["VideoUrl"]} == {"700100.mp4", None}
    mug = _family("A23/A23-700200.json")["ChildProducts"]
    assert isinstance(mug[0]["VideoUrl"], str)
    assert bag["UnstructuredInformation"]["ReleaseDate"] == "2019-08-16"
    assert mug[0]["UnstructuredInformation"]["ReleaseDate"] == "01.05.2025"
    assert bag["UnstructuredInformation"]["DeliveryTimeInDays"] == "12"
    pen = _family("A130/A130-900100.json")["ChildProducts"]
    origins = {c["NonLanguageDependedProductDetails"]["CountryOfOrigin"] for c in [bag, *mug, *pen]}
    assert {"CHN", "DEU", "DE", "ITA", "Germany"} <= origins
    assert pen[0]["NonLanguageDependedProductDetails"]["CustomsTariffNumber"] == "8523 5110"
    nld = bag["NonLanguageDependedProductDetails"]
    info = bag["ProductDetails"]["de"]["UnstructuredInformation"]
    assert nld["OuterCartonWeightNetKG"] == 15.8 and info["OuterCartonWeightNetKG"] == "15,8"
    assert info["ItemWeightWithAccessoriesKG"] == "0,245" and info["NeedBatteries"] == "False"
    assert info["HexColor"] == "1F2D5E" and info["PMSValue"]
    assert mug[0]["NonLanguageDependedProductDetails"]["HexColor"] == "FFFFFF"
    assert set(nld["ProductFiltersByGroup"].values()) <= {"True", "False"}
    assert nld["SecondaryCategories"] == ["BAGS/BACKPACKS"]
    assert {"V1Sku", "GatewayInformation", "WEEE", "TexodataCategory"} <= set(bag)
    assert "WEEE" not in mug[0]
    details = bag["ProductDetails"]["en"]
    assert details["ShortDescription"] and details["MetaKeywords"]
    assert {"Material", "Compliance", "PackagingInformation"} <= set(details["WebShopInformation"])
    assert details["InformationFiles"][0]["FileName"] == "700100_drawing.png"
