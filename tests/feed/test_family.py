"""Product-family JSON -> FamilyRecord, using S1-shaped dicts from family_factory."""

import json
from decimal import Decimal

import pytest

from promidata_sync.feed import (
    FeedDataError,
    ImageRecord,
    PriceTierRecord,
    parse_family,
)

from .family_factory import (
    IMAGE_HOST,
    SOURCE_URL,
    image,
    make_child,
    make_family,
    price_block,
    tier,
)


def parse(data, **kwargs):
    kwargs.setdefault("family_sku", "A23-100804")
    kwargs.setdefault("source_url", SOURCE_URL)
    return parse_family(data, **kwargs)


def sell(variant, region: str | None = None) -> list[tuple[int, Decimal]]:
    """The selling tiers of ``region`` (default: the variant's preferred region)."""
    region = variant.price_region if region is None else region
    return [
        (t.min_quantity, t.price)
        for t in variant.price_tiers
        if t.kind == "sell" and t.region == region
    ]


def buy(variant, region: str | None = None) -> list[tuple[int, Decimal]]:
    region = variant.price_region if region is None else region
    return [
        (t.min_quantity, t.price)
        for t in variant.price_tiers
        if t.kind == "buy" and t.region == region
    ]


# --------------------------------------------------------------------------- the S1 shape


def test_s1_shaped_family_from_json_bytes():
    family = parse(json.dumps(make_family()).encode("utf-8"))

    assert family.sku == "A23-100804"
    assert family.supplier_sku == "100804"
    assert family.supplier_code == "A23"
    assert family.category_key == "BAGS/SHOPPING_BAGS"
    assert family.brand == "XD Design"
    assert family.names == {
        "en": "Renew AWARE™ rPET Zippered Tote",
        "de": "Renew AWARE™ rPET Tragetasche mit Reißverschluss",
        "nl": "Renew AWARE™ rPET draagtas met rits",
        "fr": "Sac tote avec fermeture à zip en rPET AWARE™ Renew",
    }
    assert family.descriptions["en"] == "Renew AWARE™ rPET Zippered Tote.<br /><br />PVC free: true"
    assert family.warnings == ()
    assert [v.sku for v in family.variants] == ["A23-100804-001", "A23-100804-002"]


def test_variant_values_come_from_the_child_not_the_root_summary():
    black = parse(make_family()).variants[0]

    assert black.supplier_sku == "100804-001"
    assert black.ean == "8714612345678"
    assert black.names["nl"] == "Renew AWARE™ rPET draagtas met rits"
    assert black.color == "black (± PMS Black)"  # "en" is the first preferred language
    assert black.size == ""
    assert black.search_color == "Black"
    assert black.attributes == {
        "Color": {
            "label": {"en": "Colour", "de": "Farbe", "nl": "Kleur", "fr": "Couleur"},
            "value": {
                "en": "black (± PMS Black)",
                "de": "schwarz (± PMS Black)",
                "nl": "zwart (± PMS Black)",
                "fr": "noir (± PMS Black)",
            },
        }
    }
    assert black.weight_g == Decimal(175)
    assert (black.length_mm, black.width_mm, black.height_mm) == (280, 127, 381)
    assert (black.diameter_mm, black.depth_mm) == (0, 0)
    assert black.country_of_origin == "CN"  # CHN: ISO 3166 alpha-3, stored as alpha-2
    assert black.customs_tariff_number == "42022290"
    assert black.price_region == "BENELUX"
    assert (black.minimum_order_quantity, black.quantity_increment) == (1, 1)
    # All six child tiers, not the root's single (1500, 12.5) summary tier.
    assert sell(black) == [
        (1, Decimal("15.95")),
        (100, Decimal("14.5")),
        (250, Decimal("13.95")),
        (500, Decimal("13.45")),
        (1000, Decimal("12.95")),
        (1500, Decimal("12.5")),
    ]
    # Fewer buying tiers than selling tiers: kept as they are, not padded or aligned.
    assert buy(black) == [
        (1, Decimal("9.57")),
        (100, Decimal("8.7")),
        (250, Decimal("8.37")),
        (500, Decimal("8.07")),
        (1000, Decimal("7.77")),
    ]
    assert black.price_tiers[0] == PriceTierRecord(
        "BENELUX", "buy", 1, Decimal("9.57"), "EUR", False
    )
    assert {t.currency for t in black.price_tiers} == {"EUR"}


def test_images_repeated_in_every_language_are_deduplicated_in_order():
    variant = parse(make_family()).variants[1]

    assert variant.images == (
        ImageRecord(f"{IMAGE_HOST}/100804-002-B_1.jpg", "100804-002__B_1__x.jpg", 0),
        ImageRecord(f"{IMAGE_HOST}/100804-002-S_0.jpg", "100804-002__S_0__x.jpg", 1),
        ImageRecord(f"{IMAGE_HOST}/100804-002-D_100.jpg", "100804-002__D_100__x.jpg", 2),
        ImageRecord(f"{IMAGE_HOST}/100804-002-B_4.jpg", "100804-002__B_4__x.jpg", 3),
        ImageRecord(f"{IMAGE_HOST}/100804-002-B_2.jpg", "100804-002__B_2__x.jpg", 4),
    )


# --------------------------------------------------------------------------- images


def test_mains_of_all_languages_come_before_galleries_and_urls_resolve():
    child = make_child(images=[])
    details = child["ProductDetails"]
    details["de"]["Image"] = image("de-main")
    details["de"]["MediaGalleryImages"] = [image("shared"), image("de-only")]
    details["en"]["Image"] = {"Url": " /Images/en-main.JPG ", "FileName": None}
    details["en"]["MediaGalleryImages"] = [image("shared"), {"Url": None}, {"FileName": "x"}, None]
    details["nl"]["Image"] = None
    details["nl"]["MediaGalleryImages"] = None
    details["fr"]["Image"] = {"Url": []}
    details["fr"]["MediaGalleryImages"] = [image("de-main")]

    (variant,) = parse(make_family(children=[child])).variants

    assert variant.images == (
        ImageRecord("https://promi-dl.de/Images/en-main.JPG", "", 0),
        ImageRecord(f"{IMAGE_HOST}/de-main.jpg", "de-main.jpg", 1),
        ImageRecord(f"{IMAGE_HOST}/shared.jpg", "shared.jpg", 2),
        ImageRecord(f"{IMAGE_HOST}/de-only.jpg", "de-only.jpg", 3),
    )


def test_child_without_images_falls_back_to_the_root_main_image():
    (variant,) = parse(make_family(children=[make_child(images=[])])).variants

    assert variant.images == (
        ImageRecord(f"{IMAGE_HOST}/100804-001-B_1.jpg", "100804-001__B_1__x.jpg", 0),
    )


def test_relative_image_urls_resolve_against_the_family_json_url():
    child = make_child(images=[], languages=("de",))
    child["ProductDetails"]["de"]["Image"] = {"Url": "img/a.jpg", "FileName": "a.jpg"}

    (variant,) = parse(make_family(children=[child])).variants

    assert variant.images[0].url == SOURCE_URL.rsplit("/", 1)[0] + "/img/a.jpg"


# --------------------------------------------------------------------------- prices


def test_region_preference_case_insensitive_and_reported_as_given():
    child = make_child()
    child["ProductPriceCountryBased"] = {
        "BENELUX": price_block([(1, 3.0)]),
        "deu": price_block([(1, 2.0)]),
        "EURO": None,  # a null block does not count as present
    }

    (variant,) = parse(make_family(children=[child])).variants

    assert variant.price_region == "deu"
    assert sell(variant) == [(1, Decimal("2.0"))]
    # Every region is kept; the preference only picks the one shown first.
    assert {t.region for t in variant.price_tiers} == {"deu", "BENELUX"}
    assert sell(variant, "BENELUX") == [(1, Decimal("3.0"))]


def test_region_falls_back_to_the_first_key_present_and_is_configurable():
    child = make_child()
    child["ProductPriceCountryBased"] = {
        "CHE": price_block([(1, 4.0)]),
        "NLD": price_block([(1, 5.0)]),
    }
    family = make_family(children=[child])

    assert parse(family).variants[0].price_region == "CHE"
    assert parse(family, price_regions=("nld",)).variants[0].price_region == "NLD"


@pytest.mark.parametrize("prices", [None, {}, [], {"EURO": None}])
def test_child_without_prices(prices):
    child = make_child()
    child["ProductPriceCountryBased"] = prices

    (variant,) = parse(make_family(children=[child])).variants

    assert variant.price_region == ""
    assert variant.price_tiers == ()
    assert variant.minimum_order_quantity is None
    assert variant.quantity_increment is None


def test_tier_quirks_on_request_decimal_commas_floats_and_bad_values():
    child = make_child()
    child["ProductPriceCountryBased"] = {
        "EURO": {
            "RecommendedSellingPrice": [
                tier(1, 0.0, on_request="True"),
                tier(100.0, "15,8"),
                tier("250", "1.234,5", valuta="chf"),
                tier(100, 99.0),  # same (kind, quantity) again: first one wins
                tier(500, "abc"),
                tier(750, -1.0),
                tier(1000, 3, valuta=None),
            ],
            "GeneralBuyingPrice": [tier(0, 1.0), tier(None, 0.9), tier(2.5, 0.8), "junk"],
            "MinimumOrderQuantity": "0",
            "QuantityIncrements": 50.0,
        }
    }

    family = parse(make_family(children=[child]))
    (variant,) = family.variants
    warnings = family.warnings

    assert variant.price_tiers == (
        PriceTierRecord("EURO", "buy", 1, Decimal("1.0"), "EUR", False),
        PriceTierRecord("EURO", "sell", 1, Decimal("0"), "EUR", True),
        PriceTierRecord("EURO", "sell", 100, Decimal("15.8"), "EUR", False),
        PriceTierRecord("EURO", "sell", 250, Decimal("1234.5"), "CHF", False),
        PriceTierRecord("EURO", "sell", 1000, Decimal("3"), "EUR", False),
    )
    assert variant.minimum_order_quantity is None
    assert variant.quantity_increment == 50
    assert len(warnings) == 4
    assert "A23-100804-001: sell tier in EURO from 500 has unparsable Price 'abc'" in warnings[0]
    assert "negative Price -1.0" in warnings[1]
    assert "buy tier in EURO has unusable Quantity 2.5" in warnings[2]
    assert "buy tier in EURO is string" in warnings[3]


@pytest.mark.parametrize(("flag", "on_request"), [("true", True), (1, True), ("False", False)])
def test_on_request_flags(flag, on_request):
    child = make_child()
    child["ProductPriceCountryBased"] = {
        "EURO": {"RecommendedSellingPrice": [tier(1, 2.5, on_request=flag)]}
    }

    (price,) = parse(make_family(children=[child])).variants[0].price_tiers

    assert (price.on_request, price.price) == (
        on_request,
        Decimal(0) if on_request else Decimal("2.5"),
    )


def test_euro_valuta_maps_to_eur():
    tiers = parse(make_family()).variants[0].price_tiers

    assert {t.currency for t in tiers} == {"EUR"}


# --------------------------------------------------------------------------- children


def test_single_product_family_child_sku_equal_to_root_sku():
    family = parse(make_family(children=[make_child("A23-100804")]))

    (variant,) = family.variants
    assert variant.sku == family.sku == "A23-100804"
    assert family.warnings == ()


def test_children_without_sku_and_duplicates_are_skipped_with_warnings():
    no_sku = make_child()
    no_sku["Sku"] = None
    empty = make_child()
    empty["Sku"] = []
    family = parse(
        make_family(
            children=[make_child(), no_sku, make_child(), empty, "oops", make_child("A23-100804-9")]
        )
    )

    assert [v.sku for v in family.variants] == ["A23-100804-001", "A23-100804-9"]
    assert family.warnings == (
        "child #2 has no Sku; skipped",
        "duplicate child Sku A23-100804-001 (child #3) dropped; first one kept",
        "child #4 has no Sku; skipped",
        "child #5 is string, not an object; skipped",
    )


@pytest.mark.parametrize("children", [None, []])
def test_no_children_gives_zero_variants_and_a_warning(children):
    raw = make_family()
    raw["ChildProducts"] = children

    family = parse(raw)

    assert family.variants == ()
    assert family.warnings == ("family has no ChildProducts; no variants",)


def test_missing_child_products_key_gives_a_warning():
    raw = make_family()
    del raw["ChildProducts"]

    assert parse(raw).warnings == ("family has no ChildProducts; no variants",)


def test_child_products_of_the_wrong_kind_raise():
    raw = make_family()
    raw["ChildProducts"] = {"Sku": "A23-100804-001"}

    with pytest.raises(FeedDataError, match="ChildProducts must be an array, got object"):
        parse(raw)


def test_root_sku_differing_from_the_file_name_keeps_the_file_name():
    family = parse(make_family(), family_sku="A23-100804b")

    assert family.sku == "A23-100804b"
    assert family.warnings == (
        "root Sku 'A23-100804' differs from file name 'A23-100804b'; using the latter",
    )


# --------------------------------------------------------------------------- texts & quirks


def test_missing_languages_null_blocks_and_array_descriptions():
    raw = make_family(languages=("de", "nl", "fr"))
    raw["ProductDetails"]["fr"] = None
    raw["ProductDetails"]["nl"]["Description"] = []
    raw["ProductDetails"]["nl"]["Name"] = {}
    child = make_child(languages=("nl", "de"))
    child["ProductDetails"]["xx"] = None
    raw["ChildProducts"] = [child]

    family = parse(raw)

    assert family.names == {"de": "Renew AWARE™ rPET Tragetasche mit Reißverschluss"}
    assert family.descriptions == {
        "de": "Renew AWARE™ rPET Tragetasche mit Reißverschluss.<br /><br />PVC free: true"
    }
    (variant,) = family.variants
    assert list(variant.names) == ["de", "nl"]  # preferred order, whatever the file order
    assert variant.color == "schwarz (± PMS Black)"  # no "en": next preferred language


def test_root_without_names_uses_the_first_child_and_its_category():
    raw = make_family()
    raw["ProductDetails"] = None
    raw["NonLanguageDependedProductDetails"] = None
    raw["ChildProducts"][0]["ProductDetails"] = None

    family = parse(raw)

    assert family.names["en"] == "Renew AWARE™ rPET Zippered Tote"
    assert family.category_key == "BAGS/SHOPPING_BAGS"
    first = family.variants[0]
    assert first.names == {}
    assert first.images == ()  # neither the child nor the root has any image
    assert first.color == "Black"  # SearchColor fallback


def test_child_with_null_product_details_and_wrong_kinds_everywhere():
    child = make_child()
    child["ProductDetails"] = {"de": None, "en": []}
    child["Ean"] = []
    child["SupplierSku"] = None
    child["NonLanguageDependedProductDetails"] = {
        "SearchColor": "Undefined",
        "Weight": "15,8",
        "DimensionsLength": [],
        "DimensionsWidth": None,
        "DimensionsHeight": "abc",
        "DimensionsDiameter": 0,
        "DimensionsDepth": -5,
        "CountryOfOrigin": "cn ",
        "CustomsTariffNumber": 42022290,
    }

    family = parse(make_family(children=[child]))

    (variant,) = family.variants
    assert (variant.ean, variant.supplier_sku, variant.names) == ("", "", {})
    assert (variant.color, variant.search_color, variant.attributes) == ("", "", {})
    assert variant.weight_g == Decimal("15.8")
    assert (variant.length_mm, variant.width_mm, variant.height_mm) == (None, None, None)
    assert variant.diameter_mm == Decimal(0)
    assert variant.depth_mm is None
    assert variant.country_of_origin == "CN"
    assert variant.customs_tariff_number == "42022290"
    assert family.warnings == ("A23-100804-001: negative DimensionsDepth -5 ignored",)
    # The root image is the fallback when the child lost all of its own.
    assert [i.position for i in variant.images] == [0]


def test_size_axis_and_alternative_colour_names():
    child = make_child(size="XL", languages=("de", "nl"))
    for block in child["ProductDetails"].values():
        for field in block["ConfigurationFields"]:
            if field["ConfigurationName"] == "Color":
                field["ConfigurationName"] = "Farbe"
            else:
                field["ConfigurationName"] = "Größe"
    child["ProductDetails"]["nl"]["ConfigurationFields"].append(
        {
            "ConfigurationName": "49P_CONFIG_1",
            "ConfigurationNameTranslated": "Bedrukking",
            "ConfigurationValue": "Zeefdruk",
        }
    )

    (variant,) = parse(make_family(children=[child])).variants

    assert variant.color == "schwarz (± PMS Black)"
    assert variant.size == "XL"
    assert variant.attributes["49P_CONFIG_1"] == {
        "label": {"nl": "Bedrukking"},
        "value": {"nl": "Zeefdruk"},
    }
    assert variant.attributes["Größe"]["label"] == {"de": "Größe", "nl": "Maat"}


def test_an_unknown_country_is_kept_as_sent_not_cut_and_weight_zero_stays_zero():
    child = make_child()
    child["NonLanguageDependedProductDetails"]["CountryOfOrigin"] = "Germany"
    child["NonLanguageDependedProductDetails"]["Weight"] = 0
    del child["NonLanguageDependedProductDetails"]["DimensionsLength"]

    record = parse(make_family(children=[child]))
    (variant,) = record.variants

    # "GER" is not Germany's code (DEU is): a cut value would be wrong data; the raw one is
    # kept for a person to read, with a warning.
    assert variant.country_of_origin == "Germany"
    assert any("'Germany' is not an ISO 3166 code" in w for w in record.warnings)
    assert variant.weight_g == Decimal(0)
    assert variant.length_mm is None


def test_supplier_name_from_a_language_block():
    raw = make_family()
    raw["ProductDetails"]["fr"]["UnstructuredInformation"]["SupplierNameToShow"] = "XD Connects"

    assert parse(raw).supplier_name == "XD Connects"
    assert parse(make_family()).supplier_name == ""


def test_already_decoded_dict_and_str_with_bom_are_accepted():
    raw = make_family()

    from_dict = parse(raw)
    from_str = parse("\ufeff" + json.dumps(raw))

    assert from_dict == from_str


# --------------------------------------------------------------------------- broken files


def test_broken_json_reports_the_position():
    with pytest.raises(FeedDataError) as caught:
        parse(b'{\n  "Sku": "A23-1",\n    "ANumber" "A23"\n}')

    assert str(caught.value) == "broken JSON at line 3 column 15: Expecting ':' delimiter"


def test_missing_comma_message():
    with pytest.raises(
        FeedDataError, match="broken JSON at line 3 column 5: Expecting ',' delimiter"
    ):
        parse('{\n  "Sku": "A23-1"\n    "ANumber": "A23"\n}')


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("[]", "array"),
        ('"x"', "string"),
        ("null", "null"),
        ("3", "number"),
        ([{"Sku": "x"}], "array"),
    ],
)
def test_top_level_must_be_an_object(data, kind):
    with pytest.raises(FeedDataError, match=f"must be an object at the top level, got {kind}"):
        parse(data)


def test_invalid_utf8_and_deep_nesting_raise_feed_data_error():
    with pytest.raises(FeedDataError, match="not valid UTF-8"):
        parse(b'{"Sku": "\xff"}')
    with pytest.raises(FeedDataError):
        parse("[" * 100_000 + "]" * 100_000)
