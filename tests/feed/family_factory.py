"""Builders for product-family JSON dicts shaped like the real S1 sample (A23-100804).

The real file has a summary root (one price tier, zero dimensions, SearchColor "Undefined",
no gallery, ConfigurationFields null) and children that repeat every image in each of the
four language blocks (de, fr, en, nl). Tests take these dicts and break them on purpose.
"""

from __future__ import annotations

import copy
from typing import Any

IMAGE_HOST = "https://images.promi-dl.de/Images/LiveR2/5efa6fd9-b231-44f4-a49e-b57971d595a0"
FEED_BASE = "https://promi-dl.de/Profiles/Live/00000000-0000-0000-0000-000000000000"
SOURCE_URL = f"{FEED_BASE}/A23/A23-100804.json"

LANGUAGE_TEXTS = {
    "de": ("Renew AWARE™ rPET Tragetasche mit Reißverschluss", "Farbe", "Größe"),
    "fr": ("Sac tote avec fermeture à zip en rPET AWARE™ Renew", "Couleur", "Taille"),
    "en": ("Renew AWARE™ rPET Zippered Tote", "Colour", "Size"),
    "nl": ("Renew AWARE™ rPET draagtas met rits", "Kleur", "Maat"),
}
COLOR_VALUES = {
    "black": {
        "de": "schwarz (± PMS Black)",
        "fr": "noir (± PMS Black)",
        "en": "black (± PMS Black)",
        "nl": "zwart (± PMS Black)",
    },
    "navy": {
        "de": "navy (± PMS 5255C)",
        "fr": "bleu marine (± PMS 5255C)",
        "en": "navy (± PMS 5255C)",
        "nl": "navy (± PMS 5255C)",
    },
}
SELL_TIERS = [(1, 15.95), (100, 14.5), (250, 13.95), (500, 13.45), (1000, 12.95), (1500, 12.5)]
BUY_TIERS = [(1, 9.57), (100, 8.7), (250, 8.37), (500, 8.07), (1000, 7.77)]


def image(name: str, file_name: str | None = None) -> dict[str, Any]:
    """An ``Image`` object; the URL basename is a fake content hash like the real ones."""
    return {
        "Url": f"{IMAGE_HOST}/{name}.jpg",
        "Description": "",
        "FileName": file_name if file_name is not None else f"{name}.jpg",
    }


def tier(quantity: Any, price: Any, on_request: Any = False, valuta: Any = "EURO") -> dict:
    return {"Price": price, "Quantity": quantity, "OnRequest": on_request, "Valuta": valuta}


def price_block(
    sell: list[tuple[Any, Any]] | None = None,
    buy: list[tuple[Any, Any]] | None = None,
    moq: Any = 1,
    step: Any = 1,
) -> dict[str, Any]:
    """One ``ProductPriceCountryBased`` region block."""
    return {
        "RecommendedSellingPrice": [tier(q, p) for q, p in (sell if sell is not None else [])],
        "GeneralBuyingPrice": [tier(q, p) for q, p in (buy if buy is not None else [])],
        "MinimumOrderQuantity": moq,
        "QuantityIncrements": step,
        "VatPercentage": 0,
        "VatSettingId": 0,
    }


def _language_block(
    lang: str,
    *,
    name: str,
    main: dict | None,
    gallery: list[dict] | None,
    configuration: list[dict] | None,
) -> dict[str, Any]:
    return {
        "Name": name,
        "Description": f"{name}.<br /><br />PVC free: true",
        "ShortDescription": None,
        "MetaName": None,
        "MetaDescription": None,
        "MetaKeywords": None,
        "Image": copy.deepcopy(main),
        "MediaGalleryImages": copy.deepcopy(gallery),
        "InformationFiles": [],
        "IsActive": True,
        "ConfigurationFields": copy.deepcopy(configuration),
        "UnstructuredInformation": {"SupplierMainCategory": "Taschen & Reise/Einkaufstaschen"},
        "WebShopInformation": {
            "Material": {"InformationLabel": "Material", "InformationValue": "rPET, rPET"}
        },
        "PIMV1Information": None,
        "ImportantInformation": None,
    }


def make_child(
    sku: str = "A23-100804-001",
    *,
    color: str = "black",
    size: str | None = None,
    languages: tuple[str, ...] = ("de", "fr", "en", "nl"),
    images: list[str] | None = None,
    region: str = "BENELUX",
    sell: list[tuple[Any, Any]] | None = None,
    buy: list[tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    """A child product like S1's: every language block repeats the same images."""
    stem = sku.split("-", 1)[1]
    names = images if images is not None else ["B_1", "S_0", "D_100", "B_4", "B_2"]
    pictures = [image(f"{stem}-{n}", f"{stem}__{n}__x.jpg") for n in names]
    details = {}
    for lang in languages:
        product_name, color_label, size_label = LANGUAGE_TEXTS[lang]
        configuration = [
            {
                "ConfigurationName": "Color",
                "ConfigurationNameTranslated": color_label,
                "ConfigurationValue": COLOR_VALUES[color][lang],
            }
        ]
        if size is not None:
            configuration.append(
                {
                    "ConfigurationName": "Size",
                    "ConfigurationNameTranslated": size_label,
                    "ConfigurationValue": size,
                }
            )
        details[lang] = _language_block(
            lang,
            name=product_name,
            main=pictures[0] if pictures else None,
            gallery=pictures[1:] if pictures else None,
            configuration=configuration,
        )
    return {
        "Sku": sku,
        "SupplierSku": stem,
        "ANumber": "A23",
        "Ean": "8714612345678",
        "VideoUrl": None,
        "ProductDetails": details,
        "NonLanguageDependedProductDetails": {
            "Category": "BAGS/SHOPPING_BAGS",
            "SecondaryCategories": None,
            "Brand": "XD Design",
            "SearchColor": "Black" if color == "black" else "Blue",
            "HexColor": None,
            "Weight": 175,
            "DimensionsLength": 280,
            "DimensionsWidth": 127,
            "DimensionsHeight": 381,
            "DimensionsDiameter": 0,
            "DimensionsDepth": 0,
            "CountryOfOrigin": "CHN",
            "CustomsTariffNumber": "42022290",
            "Fragile": False,
            "USBItem": False,
            "LogoToolImageDefined": None,
            "ProductFiltersByGroup": {"Eco": "True"},
            "OuterCartonWeightNetKG": 15.8,
            "WebShopInformation": {"OuterCartonWeightNetKG": "15,8"},
        },
        "ProductPriceCountryBased": {
            region: price_block(
                sell if sell is not None else SELL_TIERS,
                buy if buy is not None else BUY_TIERS,
                moq=1,
                step=1,
            )
        },
        "ProductPriceRegionBased": None,
        "SamplePriceCountryBased": None,
        "ProductCosts": None,
        "ImprintPositions": [],
        "BatteryInformation": None,
        "ProductCertificates": None,
        "RequiredCertificates": None,
        "ForbiddenRegions": None,
        "UnstructuredInformation": {"ReleaseDate": "01.05.2025", "LeakPrevention": "True"},
        "Errors": {},
        "Warnings": {},
    }


def make_family(
    sku: str = "A23-100804",
    children: list[dict] | None = None,
    *,
    languages: tuple[str, ...] = ("de", "fr", "en", "nl"),
) -> dict[str, Any]:
    """A root like S1's: summary values, one root price tier, main image = first child's."""
    kids = (
        children
        if children is not None
        else [make_child(), make_child("A23-100804-002", color="navy")]
    )
    stem = sku.split("-", 1)[1]
    root_image = image(f"{stem}-001-B_1", f"{stem}-001__B_1__x.jpg")
    details = {
        lang: _language_block(
            lang,
            name=LANGUAGE_TEXTS[lang][0],
            main=root_image,
            gallery=None,
            configuration=None,
        )
        for lang in languages
    }
    return {
        "Sku": sku,
        "SupplierSku": stem,
        "ANumber": "A23",
        "Ean": None,
        "VideoUrl": None,
        "ChildProducts": kids,
        "ChildHasErrors": False,
        "DefaultProducts": {"BENELUX": kids[0]["Sku"] if kids else None},
        "ImprintReferences": None,
        "ProductDetails": details,
        "NonLanguageDependedProductDetails": {
            "Category": "BAGS/SHOPPING_BAGS",
            "SecondaryCategories": [],
            "Brand": "XD Design",
            "SearchColor": "Undefined",
            "HexColor": None,
            "Weight": 0,
            "DimensionsLength": 0,
            "DimensionsWidth": 0,
            "DimensionsHeight": 0,
            "DimensionsDiameter": 0,
            "DimensionsDepth": 0,
            "CountryOfOrigin": None,
            "CustomsTariffNumber": None,
            "Fragile": False,
            "USBItem": False,
            "LogoToolImageDefined": None,
            "ProductFiltersByGroup": None,
        },
        # The root only carries a summary: the lowest price at the largest quantity.
        "ProductPriceCountryBased": {"BENELUX": price_block([(1500, 12.5)], [], moq=1, step=1)},
        "ProductPriceRegionBased": None,
        "SamplePriceCountryBased": None,
        "ProductCosts": None,
        "ImprintPositions": None,
        "BatteryInformation": None,
        "ProductCertificates": None,
        "RequiredCertificates": None,
        "ForbiddenRegions": None,
        "UnstructuredInformation": {"ReleaseDate": "01.05.2025", "LeakPrevention": "True"},
        "Errors": {},
        "Warnings": {},
    }
