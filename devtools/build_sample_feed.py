"""Build the bundled sample feed, ``sample_feed/`` at the repository root.

    python -m devtools.build_sample_feed [--output DIR]

The sample is what the quick start imports through a ``file://`` import URL, so every URL in
it is relative and must be resolved (``urljoin``) against the document it appears in:
Import.txt points at ``../CAT.csv`` and ``../A23/A23-100804.json``; family JSON points at
``../Images/<sha256>.<ext>``; CAT.csv's IMAGE column at ``Images/<sha256>.<ext>``.

It is small (3 suppliers, 30 families) but written in the real format and seeded with the
cases a correct importer must survive; :data:`TRICKY_CASES` lists them with the family that
shows each, and the generated README repeats that list.

Output is deterministic. Pixels are rasterised here and PNGs are encoded here (uncompressed
deflate), so the committed bytes do not depend on the Pillow or zlib build; only the JPEGs go
through Pillow's encoder (fixed quality, baseline, no metadata).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import shutil
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import quote

from .feedgen import CATEGORIES, PRODUCT_NOUNS, ean13, render_categories_csv
from .sample_whole import NINE_LOCALE_REGIONS, PrintData, Rich, Whole
from .sample_whole import apply as apply_whole

__all__ = [
    "DEFAULT_OUTPUT",
    "FAMILIES",
    "GARBAGE_LINE",
    "IMAGES",
    "TRICKY_CASES",
    "build",
    "encode_png",
    "iter_relative_urls",
    "main",
    "render_files",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "sample_feed"

RGB = tuple[int, int, int]

# ---------------------------------------------------------------------- images

_PRODUCT_RGB: dict[str, RGB] = {
    "navy": (31, 45, 94),
    "black": (38, 38, 42),
    "grey": (128, 128, 134),
    "blue": (40, 92, 180),
    "red": (186, 38, 44),
    "white": (246, 246, 242),
    "green": (46, 132, 72),
    "orange": (236, 132, 28),
    "yellow": (238, 196, 40),
}
_LIGHT: RGB = (232, 232, 226)
_DARK: RGB = (30, 30, 34)

Predicate = Callable[[float, float], bool]


def _rect(x0: float, y0: float, x1: float, y1: float) -> Predicate:
    return lambda u, v: x0 <= u <= x1 and y0 <= v <= y1


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Predicate:
    return lambda u, v: ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def _ring(cx: float, cy: float, r0: float, r1: float, keep: Predicate) -> Predicate:
    return lambda u, v: r0 <= math.hypot(u - cx, v - cy) <= r1 and keep(u, v)


def _segment(p: tuple[float, float], q: tuple[float, float], half_width: float) -> Predicate:
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    length2 = dx * dx + dy * dy

    def inside(u: float, v: float) -> bool:
        t = max(0.0, min(1.0, ((u - px) * dx + (v - py) * dy) / length2))
        return math.hypot(u - (px + t * dx), v - (py + t * dy)) <= half_width

    return inside


def _polygon(points: list[tuple[float, float]]) -> Predicate:
    edges = list(zip(points, points[1:] + points[:1], strict=True))

    def inside(u: float, v: float) -> bool:  # even-odd rule
        crossings = 0
        for (x0, y0), (x1, y1) in edges:
            if (y0 > v) != (y1 > v) and u < x0 + (v - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
        return crossings % 2 == 1

    return inside


def _any(*predicates: Predicate) -> Predicate:
    return lambda u, v: any(p(u, v) for p in predicates)


def _frame(x0: float, y0: float, x1: float, y1: float, width: float) -> Predicate:
    """The outline of a rectangle: the marked print area of a position image."""
    outer, inner = _rect(x0, y0, x1, y1), _rect(x0 + width, y0 + width, x1 - width, y1 - width)
    return lambda u, v: outer(u, v) and not inner(u, v)


# Layers per shape, drawn in order: (predicate, palette index). Palette: 0 background,
# 1 product colour, 2 darker product colour, 3 light, 4 dark. Unit coordinates, y down.
_SHAPES: dict[str, list[tuple[Predicate, int]]] = {
    "bag": [
        (_rect(0.22, 0.38, 0.78, 0.88), 1),
        (_ring(0.5, 0.40, 0.12, 0.18, lambda u, v: v <= 0.40), 2),
        (_rect(0.42, 0.56, 0.58, 0.70), 3),
    ],
    "backpack": [
        (_any(_ellipse(0.5, 0.40, 0.26, 0.16), _rect(0.24, 0.40, 0.76, 0.88)), 1),
        (_ring(0.5, 0.24, 0.05, 0.09, lambda u, v: v <= 0.24), 4),
        (_rect(0.34, 0.60, 0.66, 0.82), 2),
        (_rect(0.34, 0.60, 0.66, 0.63), 4),
    ],
    "pen": [
        (_segment((0.22, 0.80), (0.80, 0.22), 0.055), 1),
        (_segment((0.22, 0.80), (0.36, 0.66), 0.06), 2),
        (_segment((0.13, 0.89), (0.22, 0.80), 0.025), 4),
    ],
    "mug": [
        (_ring(0.66, 0.55, 0.10, 0.16, lambda u, v: u >= 0.6), 1),
        (_rect(0.24, 0.30, 0.66, 0.82), 1),
        (_rect(0.24, 0.30, 0.66, 0.35), 2),
        (_rect(0.35, 0.48, 0.55, 0.64), 3),
    ],
    "bottle": [
        (_any(_rect(0.37, 0.34, 0.63, 0.88), _ellipse(0.5, 0.34, 0.13, 0.08)), 1),
        (_rect(0.44, 0.18, 0.56, 0.32), 1),
        (_rect(0.42, 0.10, 0.58, 0.19), 4),
        (_rect(0.37, 0.52, 0.63, 0.68), 3),
    ],
    "tshirt": [
        (
            _polygon(
                [
                    (0.30, 0.18),
                    (0.42, 0.18),
                    (0.50, 0.25),
                    (0.58, 0.18),
                    (0.70, 0.18),
                    (0.88, 0.36),
                    (0.78, 0.46),
                    (0.70, 0.40),
                    (0.70, 0.86),
                    (0.30, 0.86),
                    (0.30, 0.40),
                    (0.22, 0.46),
                    (0.12, 0.36),
                ]
            ),
            1,
        ),
        (_rect(0.42, 0.38, 0.58, 0.50), 2),
    ],
    "jacket": [
        (
            _polygon(
                [
                    (0.32, 0.16),
                    (0.68, 0.16),
                    (0.84, 0.30),
                    (0.88, 0.84),
                    (0.76, 0.84),
                    (0.72, 0.44),
                    (0.72, 0.88),
                    (0.28, 0.88),
                    (0.28, 0.44),
                    (0.24, 0.84),
                    (0.12, 0.84),
                    (0.16, 0.30),
                ]
            ),
            1,
        ),
        (_ellipse(0.5, 0.17, 0.13, 0.07), 2),
        (_segment((0.5, 0.24), (0.5, 0.86), 0.014), 4),
    ],
    "sock": [
        (
            _polygon(
                [
                    (0.36, 0.10),
                    (0.60, 0.10),
                    (0.60, 0.58),
                    (0.82, 0.70),
                    (0.82, 0.84),
                    (0.70, 0.90),
                    (0.40, 0.76),
                    (0.36, 0.66),
                ]
            ),
            1,
        ),
        (_rect(0.36, 0.10, 0.60, 0.20), 3),
        (_rect(0.36, 0.30, 0.60, 0.34), 2),
    ],
    "powerbank": [
        (
            _any(
                _rect(0.28, 0.20, 0.72, 0.80),
                _rect(0.32, 0.16, 0.68, 0.84),
                *(_ellipse(x, y, 0.04, 0.04) for x in (0.32, 0.68) for y in (0.20, 0.80)),
            ),
            1,
        ),
        (_rect(0.36, 0.28, 0.64, 0.44), 4),
        (_ellipse(0.5, 0.68, 0.05, 0.05), 3),
    ],
}
# Print-position images: the product with its print area framed (light on dark products, dark
# on light ones); technical drawings: the outline only.
_SHAPES.update(
    {
        "bag_front": [*_SHAPES["bag"], (_frame(0.30, 0.48, 0.70, 0.82, 0.035), 3)],
        "bag_back": [*_SHAPES["bag"], (_frame(0.26, 0.42, 0.74, 0.62, 0.035), 3)],
        "mug_side": [*_SHAPES["mug"], (_frame(0.28, 0.40, 0.62, 0.74, 0.035), 4)],
        "pen_barrel": [*_SHAPES["pen"], (_frame(0.38, 0.38, 0.66, 0.66, 0.03), 4)],
        "powerbank_front": [*_SHAPES["powerbank"], (_frame(0.34, 0.50, 0.66, 0.78, 0.03), 3)],
        "powerbank_back": [*_SHAPES["powerbank"], (_frame(0.32, 0.24, 0.68, 0.76, 0.03), 3)],
        "drawing": [
            (_frame(0.16, 0.16, 0.84, 0.84, 0.02), 4),
            (_segment((0.16, 0.92), (0.84, 0.92), 0.01), 4),
            (_segment((0.92, 0.16), (0.92, 0.84), 0.01), 4),
        ],
    }
)


@dataclass(frozen=True)
class ImageSpec:
    """One sample image: a product shape in a colour on a background."""

    key: str
    shape: str
    colour: str
    size: int
    fmt: str  # "png" or "jpg"
    background: RGB

    def palette(self) -> list[RGB]:
        """Palette by index: background, product, darker product, light, dark."""
        red, green, blue = product = _PRODUCT_RGB[self.colour]
        darker = (int(red * 0.7), int(green * 0.7), int(blue * 0.7))
        return [self.background, product, darker, _LIGHT, _DARK]

    def pixels(self) -> list[bytes]:
        """Rows of palette indices, sampled at pixel centres."""
        layers = _SHAPES[self.shape]
        rows = []
        for y in range(self.size):
            v = (y + 0.5) / self.size
            row = bytearray(self.size)
            for x in range(self.size):
                u = (x + 0.5) / self.size
                for predicate, index in layers:
                    if predicate(u, v):
                        row[x] = index
            rows.append(bytes(row))
        return rows

    def render(self) -> bytes:
        if self.fmt == "png":
            return encode_png(self.palette(), self.pixels())
        return _encode_jpeg(self.palette(), self.pixels())


_BG_WARM: RGB = (244, 226, 200)
_BG_COOL: RGB = (206, 224, 240)
_BG_MINT: RGB = (212, 238, 220)
_BG_SLATE: RGB = (120, 150, 186)

IMAGES: tuple[ImageSpec, ...] = (
    # A23 (XD-like) pool
    ImageSpec("bag_navy", "bag", "navy", 96, "jpg", _BG_WARM),
    ImageSpec("bag_black", "bag", "black", 80, "jpg", _BG_COOL),
    ImageSpec("bag_detail", "bag", "navy", 48, "png", _BG_MINT),
    ImageSpec("backpack_black", "backpack", "black", 96, "jpg", _BG_WARM),
    ImageSpec("pen_blue", "pen", "blue", 48, "png", _BG_WARM),
    ImageSpec("mug_white", "mug", "white", 72, "jpg", _BG_SLATE),
    ImageSpec("bottle_green", "bottle", "green", 80, "jpg", _BG_COOL),
    ImageSpec("tshirt_white", "tshirt", "white", 80, "jpg", _BG_SLATE),
    ImageSpec("jacket_yellow", "jacket", "yellow", 96, "jpg", _BG_COOL),
    ImageSpec("sock_red", "sock", "red", 48, "png", _BG_MINT),
    # shared by A23 and A130 (the same file referenced from both suppliers)
    ImageSpec("powerbank_black", "powerbank", "black", 72, "jpg", _BG_MINT),
    # A130 pool
    ImageSpec("pen_black", "pen", "black", 48, "png", _BG_COOL),
    ImageSpec("mug_red", "mug", "red", 72, "jpg", _BG_WARM),
    ImageSpec("tshirt_blue", "tshirt", "blue", 64, "png", _BG_WARM),
    ImageSpec("bottle_blue", "bottle", "blue", 64, "png", _BG_MINT),
    ImageSpec("backpack_grey", "backpack", "grey", 64, "png", _BG_WARM),
    ImageSpec("sock_orange", "sock", "orange", 48, "png", _BG_COOL),
    ImageSpec("jacket_red", "jacket", "red", 88, "jpg", _BG_MINT),
    # A360 pool
    ImageSpec("sock_grey", "sock", "grey", 64, "png", _BG_WARM),
    ImageSpec("tshirt_black", "tshirt", "black", 80, "jpg", _BG_MINT),
    ImageSpec("bottle_black", "bottle", "black", 56, "png", _BG_WARM),
    ImageSpec("mug_black", "mug", "black", 64, "jpg", _BG_COOL),
    # print-position images and technical drawings of the whole-feed families
    ImageSpec("area_bag_front", "bag_front", "navy", 64, "png", _BG_WARM),
    ImageSpec("area_bag_back", "bag_back", "navy", 64, "png", _BG_WARM),
    ImageSpec("area_mug", "mug_side", "white", 56, "png", _BG_SLATE),
    ImageSpec("area_pen", "pen_barrel", "black", 48, "png", _BG_MINT),
    ImageSpec("area_power_front", "powerbank_front", "black", 64, "png", _BG_COOL),
    ImageSpec("area_power_back", "powerbank_back", "black", 64, "png", _BG_COOL),
    ImageSpec("drawing_bag", "drawing", "white", 48, "png", (250, 250, 250)),
    ImageSpec("drawing_mug", "drawing", "white", 56, "png", (250, 250, 250)),
    ImageSpec("drawing_pen", "drawing", "white", 48, "png", (245, 245, 240)),
    ImageSpec("drawing_power", "drawing", "white", 64, "png", (250, 250, 250)),
)


def encode_png(palette: list[RGB], rows: list[bytes]) -> bytes:
    """A 4-bit palette PNG whose zlib stream uses stored (uncompressed) deflate blocks.

    Byte-exact on every platform: no compressor is involved, only CRC-32/Adler-32.
    """
    height, width = len(rows), len(rows[0])
    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type None
        padded = row + b"\0" if width % 2 else row
        raw.extend(padded[i] << 4 | padded[i + 1] for i in range(0, width, 2))
    ihdr = struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)
    plte = b"".join(bytes(rgb) for rgb in palette)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"PLTE", plte)
        + _png_chunk(b"IDAT", _stored_zlib(bytes(raw)))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _stored_zlib(data: bytes) -> bytes:
    out = bytearray(b"\x78\x01")
    blocks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for n, block in enumerate(blocks):
        out.append(1 if n == len(blocks) - 1 else 0)  # BFINAL bit, BTYPE 00 (stored)
        out += struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out + struct.pack(">I", zlib.adler32(data) & 0xFFFFFFFF))


def _encode_jpeg(palette: list[RGB], rows: list[bytes]) -> bytes:
    from PIL import Image  # deferred: only the builder needs Pillow

    size = (len(rows[0]), len(rows))
    rgb = b"".join(bytes(palette[i]) for row in rows for i in row)
    image = Image.frombytes("RGB", size, rgb)
    buffer = io.BytesIO()
    # Baseline, fixed quality and subsampling, no EXIF/ICC: identical bytes on every run.
    image.save(buffer, format="JPEG", quality=75, optimize=False, progressive=False, subsampling=2)
    return buffer.getvalue()


# ---------------------------------------------------------------------- suppliers & families

_COLOUR_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "navy": ("Blue", {"de": "marineblau", "en": "navy", "fr": "bleu marine", "nl": "marineblauw"}),
    "black": ("Black", {"de": "schwarz", "en": "black", "fr": "noir", "nl": "zwart"}),
    "grey": ("Grey", {"de": "grau", "en": "grey", "fr": "gris", "nl": "grijs"}),
    "blue": ("Blue", {"de": "königsblau", "en": "royal blue", "fr": "bleu roi", "nl": "kobalt"}),
    "red": ("Red", {"de": "rot", "en": "red", "fr": "rouge", "nl": "rood"}),
    "white": ("White", {"de": "weiß", "en": "white", "fr": "blanc", "nl": "wit"}),
    "green": ("Green", {"de": "grün", "en": "green", "fr": "vert", "nl": "groen"}),
    "orange": ("Orange", {"de": "orange", "en": "orange", "fr": "orange", "nl": "oranje"}),
    "yellow": ("Yellow", {"de": "gelb", "en": "yellow", "fr": "jaune", "nl": "geel"}),
}
_LABELS = {
    "Color": {"de": "Farbe", "en": "Colour", "fr": "Couleur", "nl": "Kleur"},
    "Size": {"de": "Größe", "en": "Size", "fr": "Taille", "nl": "Maat"},
    "Material": {"de": "Material", "en": "Material", "fr": "Matière", "nl": "Materiaal"},
}
_MATERIALS = {
    "rpet": {
        "de": "recyceltes PET",
        "en": "recycled PET",
        "fr": "PET recyclé",
        "nl": "gerecycled PET",
    },
    "polyester": {"de": "Polyester", "en": "polyester", "fr": "polyester", "nl": "polyester"},
    "ceramic": {"de": "Keramik", "en": "ceramic", "fr": "céramique", "nl": "keramiek"},
    "steel": {"de": "Edelstahl", "en": "stainless steel", "fr": "inox", "nl": "roestvrij staal"},
    "cotton": {"de": "Baumwolle", "en": "cotton", "fr": "coton", "nl": "katoen"},
    "plastic": {"de": "Kunststoff", "en": "plastic", "fr": "plastique", "nl": "kunststof"},
}
# Category -> (weight g, length, width, height mm, customs tariff number).
_PHYSICAL: dict[str, tuple[int, int, int, int, str]] = {
    "BAGS/SHOPPING_BAGS": (175, 280, 127, 381, "42022290"),
    "BAGS/BACKPACKS": (640, 300, 150, 450, "42029291"),
    "OFFICE/WRITING/BALLPOINT_PENS": (12, 140, 10, 10, "96081010"),
    "DRINKWARE/MUGS": (320, 120, 82, 95, "69120021"),
    "DRINKWARE/BOTTLES": (240, 70, 70, 250, "73239300"),
    "TEXTILES/T-SHIRTS": (150, 300, 250, 10, "61091000"),
    "TEXTILES/SOCKS": (60, 250, 90, 10, "61159500"),
    "TEXTILES/PARKAS-RAINCOATS/OTHER": (420, 400, 300, 40, "62019300"),
    "TECHNOLOGY/POWERBANKS": (190, 140, 70, 15, "85076000"),
}
_CATEGORY_NAMES = dict(CATEGORIES)


@dataclass(frozen=True)
class Supplier:
    """Per-supplier conventions of the sample (they differ between real suppliers too)."""

    code: str
    region: str
    languages: tuple[str, ...]
    brand: str
    sell_qty: tuple[int, ...]
    buy_qty: tuple[int, ...]  # empty = this supplier sends no buying prices
    moq: int
    child_suffix: str | None  # "-{n:03d}" style; None = Pattern A (child Sku == root Sku)
    gallery: bool  # False: MediaGalleryImages is null, only the main image is sent
    country: str
    carton: bool  # A23 sends outer-carton data, as numbers and as decimal-comma strings


# fmt: off
SUPPLIERS: dict[str, Supplier] = {
    "A23": Supplier(
        "A23", "BENELUX", ("de", "en", "fr", "nl"), "Harbour Goods",
        (1, 100, 500), (1, 100, 500), 1, "-{n:03d}", True, "CHN", True,
    ),
    "A130": Supplier(
        "A130", "EURO", ("de", "en", "nl"), "Northwind",
        (25, 250, 1000), (25, 100, 250, 1000), 25, "_{n:02d}", False, "CN", False,
    ),
    "A360": Supplier(
        "A360", "DEU", ("de", "en"), "CM Textil",
        (1, 50, 100), (1, 50, 100), 1, None, True, "BD", False,
    ),
}
# fmt: on


@dataclass(frozen=True)
class Variant:
    colour: str
    size: str | None
    images: tuple[str, ...]  # image keys, main first; empty = no images on this child
    price: str  # price of the first selling tier, as a decimal string


Tweak = Callable[[dict], None]


@dataclass(frozen=True)
class Family:
    supplier: str
    stem: str  # the part after "<code>-": root Sku is f"{supplier}-{stem}"
    category: str
    model: str
    material: str
    variants: tuple[Variant, ...]
    on_request_tier: bool = False
    no_buy_prices: bool = False
    tweaks: tuple[Tweak, ...] = field(default=())
    #: Regions, print data and rich fields (sample_whole.py); None = a plain family.
    whole: Whole | None = None

    @property
    def sku(self) -> str:
        return f"{self.supplier}-{self.stem}"


# ---------------------------------------------------------------------- tricky-case tweaks


def _description_as_array(doc: dict) -> None:
    """Description arrives as [] (root, every language; children in English)."""
    for details in doc["ProductDetails"].values():
        details["Description"] = []
    for child in doc["ChildProducts"]:
        child["ProductDetails"]["en"]["Description"] = []


def _child_has_errors(doc: dict) -> None:
    doc["ChildHasErrors"] = True


def _drop_languages(*languages: str, children: tuple[int, ...]) -> Tweak:
    def tweak(doc: dict) -> None:
        for n in children:
            for lang in languages:
                del doc["ChildProducts"][n]["ProductDetails"][lang]

    tweak.__doc__ = f"children {children} lack {', '.join(languages)}"
    return tweak


_BOOLEAN_KEYS = frozenset({"IsActive", "Fragile", "USBItem", "ChildHasErrors", "OnRequest"})


def _string_booleans(doc: object) -> None:
    """Booleans sent as the strings "True"/"False" (as ProductFiltersByGroup always does)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in _BOOLEAN_KEYS and isinstance(value, bool):
                doc[key] = str(value)
            else:
                _string_booleans(value)
    elif isinstance(doc, list):
        for item in doc:
            _string_booleans(item)


def _decimal_comma_number(doc: dict) -> None:
    """A numeric field sent as a decimal-comma string."""
    doc["ChildProducts"][0]["NonLanguageDependedProductDetails"]["OuterCartonWeightNetKG"] = "15,8"


def _nulls_for_empty(doc: dict) -> None:
    """null where other families send "" or {}."""
    doc["NonLanguageDependedProductDetails"]["Brand"] = None
    for child in doc["ChildProducts"]:
        child["Ean"] = None
        child["UnstructuredInformation"] = None
        details = child["NonLanguageDependedProductDetails"]
        details.update(Brand=None, CountryOfOrigin=None, CustomsTariffNumber=None)
        details["ProductFiltersByGroup"] = None
        for lang_details in child["ProductDetails"].values():
            lang_details["WebShopInformation"] = None
            lang_details["UnstructuredInformation"] = None


def _empty_ean(doc: dict) -> None:
    doc["ChildProducts"][-1]["Ean"] = ""


# ---------------------------------------------------------------------- the families


def _v(colour: str, images: str, price: str, size: str | None = None) -> Variant:
    return Variant(colour, size, tuple(images.split()), price)


_BAG, _PACK, _PEN = "BAGS/SHOPPING_BAGS", "BAGS/BACKPACKS", "OFFICE/WRITING/BALLPOINT_PENS"
_MUG, _BOTTLE, _TEE = "DRINKWARE/MUGS", "DRINKWARE/BOTTLES", "TEXTILES/T-SHIRTS"
_SOCKS, _JACKET = "TEXTILES/SOCKS", "TEXTILES/PARKAS-RAINCOATS/OTHER"
_POWER = "TECHNOLOGY/POWERBANKS"

# fmt: off
FAMILIES: tuple[Family, ...] = (
    # ---- A23: BENELUX prices, de/en/fr/nl, main image + gallery, outer-carton data
    Family("A23", "100804", _BAG, "Kirkby", "rpet", (
        _v("navy", "bag_navy bag_detail", "4.95"),
        _v("black", "bag_black bag_detail", "4.95"),
    )),
    Family("A23", "P300.18", _PACK, "Bobby", "polyester", (
        _v("black", "backpack_black", "54.90"),
        _v("navy", "backpack_black", "56.90"),
    )),
    Family("A23", "100512", _BAG, "Natura", "cotton", (
        _v("white", "bag_detail", "2.35"),
        _v("navy", "bag_navy", "2.45"),
    ), tweaks=(_description_as_array,)),
    Family("A23", "200100", _PEN, "Swiftpen", "plastic", (
        _v("blue", "pen_blue", "0.89"),
        _v("black", "pen_blue", "0.89"),
    ), on_request_tier=True),
    Family("A23", "200200", _MUG, "Sintra", "ceramic", (
        _v("white", "mug_white", "6.40"),
        _v("black", "", "6.40"),
    )),
    Family("A23", "300300", _BOTTLE, "Aqua", "steel", (
        _v("green", "bottle_green", "12.50"),
        _v("black", "bottle_green", "12.50"),
    ), tweaks=(_child_has_errors,)),
    Family("A23", "400410", _TEE, "Basic", "cotton", (
        _v("white", "tshirt_white", "3.90", "S"),
        _v("white", "tshirt_white", "3.90", "M"),
        _v("black", "tshirt_white", "4.20", "M"),
    ), tweaks=(_drop_languages("fr", "nl", children=(2,)),)),
    Family("A23", "110100", _POWER, "Volt 5000", "plastic", (
        _v("black", "powerbank_black", "14.80"),
    )),
    Family("A23", "500500", _JACKET, "Drizzle", "polyester", (
        _v("yellow", "jacket_yellow", "24.90", "M"),
        _v("yellow", "jacket_yellow", "26.90", "XL"),
    ), tweaks=(_decimal_comma_number,)),
    Family("A23", "600600", _SOCKS, "Stripe", "cotton", (
        _v("red", "sock_red", "3.10", "36-40"),
        _v("red", "sock_red", "3.10", "41-46"),
    ), tweaks=(_string_booleans,)),
    # ---- A130: EURO prices, de/en/nl (no fr), main image only, 4 buying vs 3 selling tiers
    Family("A130", "893635", _POWER, "Charge", "plastic", (
        _v("black", "powerbank_black", "17.20"),
        _v("grey", "powerbank_black", "17.20"),
    )),
    Family("A130", "mo1001b", _PEN, "Clicker", "plastic", (
        _v("black", "pen_black", "0.45"),
        _v("blue", "pen_black", "0.45"),
    )),
    Family("A130", "100+1", _MUG, "Plus", "ceramic", (
        _v("red", "mug_red", "3.80"),
    )),
    Family("A130", "110100", _POWER, "Volt 5000", "plastic", (
        _v("black", "powerbank_black", "15.10"),
    )),
    Family("A130", "893700", _TEE, "Classic", "cotton", (
        _v("blue", "tshirt_blue", "3.50", "M"),
        _v("blue", "tshirt_blue", "3.70", "XL"),
    )),
    Family("A130", "893710", _BOTTLE, "Flow", "plastic", (
        _v("blue", "bottle_blue", "2.90"),
        _v("white", "bottle_blue", "2.90"),
    )),
    Family("A130", "893720", _PACK, "Trail", "polyester", (
        _v("grey", "backpack_grey", "21.00"),
    )),
    Family("A130", "893730", _SOCKS, "Sporty", "cotton", (
        _v("orange", "sock_orange", "2.60", "39-42"),
        _v("orange", "sock_orange", "2.60", "43-46"),
    ), tweaks=(_empty_ean,)),
    Family("A130", "893750", _JACKET, "Storm", "polyester", (
        _v("red", "jacket_red", "31.00", "M"),
        _v("red", "jacket_red", "31.00", "L"),
    ), tweaks=(_nulls_for_empty,)),
    # ---- A360: DEU prices, de/en, Pattern A (single child whose Sku equals the root Sku)
    Family("A360", "CMSOCK_CS01", _SOCKS, "Cosy", "cotton", (
        _v("grey", "sock_grey", "4.40", "39-42"),
    ), no_buy_prices=True),
    Family("A360", "2111041", _TEE, "Premium", "cotton", (
        _v("black", "tshirt_black", "6.90", "M"),
    )),
    Family("A360", "2111042", _TEE, "Premium", "cotton", (
        _v("black", "tshirt_black", "6.90", "L"),
    )),
    Family("A360", "2111043", _TEE, "Premium", "cotton", (
        _v("black", "tshirt_black", "7.20", "XXL"),
    ), no_buy_prices=True),
    Family("A360", "3300100", _BOTTLE, "Sport", "steel", (
        _v("black", "bottle_black", "11.90"),
    )),
    Family("A360", "3300200", _MUG, "Espresso", "ceramic", (
        _v("black", "mug_black", "3.30"),
    )),
    Family("A360", "3300300", _MUG, "Jumbo", "ceramic", (
        _v("black", "mug_black mug_black", "4.10"),
    )),
    Family("A360", "CMSOCK_CS02", _SOCKS, "Cosy", "cotton", (
        _v("grey", "sock_grey", "4.40", "43-46"),
    )),
    Family("A360", "CMSOCK_CS03", _SOCKS, "Cosy", "cotton", (
        _v("grey", "sock_grey", "4.40", "47-50"),
    )),
    # ---- the whole feed (sample_whole.py): regions, print data, rich fields, real sizes
    Family("A23", "700100", _BAG, "Kirkby Plus", "rpet", (
        _v("navy", "bag_navy bag_detail bag_black", "5.95"),
        _v("black", "bag_black bag_detail", "5.95"),
    ), whole=Whole(
        regions=NINE_LOCALE_REGIONS,
        price_traps=True,
        print=PrintData("inline", 2, 2, 1, ("area_bag_front", "area_bag_back")),
        rich=Rich(video="list", release="2019-08-16", origins=("CHN", "CN"),
                  tariff="4202 2290", hex_in="languages", drawing="drawing_bag",
                  secondary=(_PACK,)),
    )),
    Family("A23", "700200", _MUG, "Sintra Duo", "ceramic", (
        _v("white", "mug_white", "7.20"),
        _v("black", "mug_black", "7.40"),
    ), whole=Whole(
        regions=NINE_LOCALE_REGIONS,
        print=PrintData("referenced", 3, 2, 2, ("area_mug",), duplicate_in_child=1,
                        dangling=True),
        rich=Rich(video="string", release="01.05.2025", origins=("DEU", "DE"),
                  tariff="69120021", hex_in="nld", drawing="drawing_mug", unknown_keys=False),
    )),
    Family("A23", "700300", _POWER, "Volt 20000", "plastic", (
        _v("black", "powerbank_black", "24.90"),
        _v("grey", "powerbank_black", "24.90"),
        _v("blue", "powerbank_black", "25.90"),
        _v("white", "powerbank_black", "25.90"),
    ), whole=Whole(
        regions=NINE_LOCALE_REGIONS,
        print=PrintData("inline", 8, 7, 2, ("area_power_front", "area_power_back")),
        rich=Rich(video="list", release="2019-08-16", origins=("CN",), tariff="8507 6000",
                  hex_in="languages", drawing="drawing_power"),
    )),
    Family("A130", "900100", _PEN, "Clicker Pro", "plastic", (
        _v("black", "pen_black", "0.65"),
        _v("blue", "pen_black", "0.65"),
    ), whole=Whole(
        print=PrintData("inline", 1, 4, 1, ("area_pen",)),
        rich=Rich(video="none", release="01.05.2025", origins=("Germany", "ITA"),
                  tariff="8523 5110", hex_in="languages", drawing="drawing_pen"),
    )),
)
# fmt: on

#: The families that carry the whole feed, with their price regions.
WHOLE_FAMILIES = {f.sku: f.whole for f in FAMILIES if f.whole is not None}

#: (what an importer must survive, family SKU showing it) — rendered into README.md.
TRICKY_CASES: tuple[tuple[str, str], ...] = (
    ("file name with a dot in the stem", "A23-P300.18"),
    ("lower-case SKU", "A130-mo1001b"),
    ("underscore in the SKU", "A360-CMSOCK_CS01"),
    ("URL-encoded name in Import.txt (`A130-100%2B1.json`, file `A130-100+1.json`)", "A130-100+1"),
    ('booleans as the strings "True"/"False" (IsActive, Fragile, OnRequest ...)', "A23-600600"),
    ('decimal-comma strings in WebShopInformation ("15,8")', "A23-100804 (all A23)"),
    ('a numeric field sent as "15,8" (OuterCartonWeightNetKG)', "A23-500500"),
    ('"Description": [] instead of a string', "A23-100512"),
    ("a child missing languages (fr, nl); A130 has no fr at all", "A23-400410"),
    ("null for empty values (Brand, Ean, WebShopInformation ...)", "A130-893750"),
    ('empty-string EAN ("")', "A130-893730"),
    ("an OnRequest tier (OnRequest true, Price 0.0)", "A23-200100"),
    ("a child without images: fall back to the root image", "A23-200200"),
    ("same image URL in every language and on root + first child", "A23-100804"),
    ("the same image file used by two suppliers", "A23-110100 / A130-110100"),
    ("a gallery repeating the main image URL", "A360-3300300"),
    ("ChildHasErrors true although the children are valid", "A23-300300"),
    ("more buying tiers than selling tiers (4 vs 3)", "A130-893635 (all A130)"),
    ("no buying prices (GeneralBuyingPrice [])", "A360-CMSOCK_CS01"),
    ("Pattern A: the only child's Sku equals the root Sku", "A360-2111041 (all A360)"),
    ("three price regions: BENELUX, EURO, DEU", "A23 / A130 / A360"),
    # the whole feed
    (
        "nine locale price regions (nl-NL ... sv-SE) in EURO, CHF, GBP and SEK, on children, "
        "print options and costs; MOQ, step and VAT differ per region (8.1 % in de-CH, null in "
        "fr-FR)",
        "A23-700100 / A23-700200 / A23-700300",
    ),
    (
        "an OnRequest tier (en-GB), a Price 0 tier with OnRequest false (sv-SE) and tiers in "
        "descending order (de-CH), all in the first child",
        "A23-700100",
    ),
    (
        "print data inline: ImprintPositions[] with ImprintOptions[] and their ImprintCosts[]",
        "A23-700100 / A23-700300 / A130-900100",
    ),
    (
        "print data referenced: root ImprintReferences {hash: option}, positions' "
        "ImprintOptionsReferences {hash: {Sku}}; options shared by the children are held once",
        "A23-700200",
    ),
    ("a reference to a hash that ImprintReferences lacks (skip it, warn)", "A23-700200"),
    ("a PositionCode repeated in one child (keep the first)", "A23-700200"),
    (
        'CalculationType "PerColor" besides "Unique" and "Multiplied" (keep it as sent); '
        'Requirement {"Operator": "Always", "Amount": 0} or null',
        "A23-700200",
    ),
    (
        "position images with FileName null; the misspelled PositionInformation.MaxHeigth",
        "A23-700100",
    ),
    ("VideoUrl as a list of {Url, Description, FileName}", "A23-700100"),
    ("VideoUrl as a plain string", "A23-700200"),
    ('ReleaseDate as "2019-08-16" and as "01.05.2025"', "A23-700100 / A23-700200"),
    (
        "carton data as numbers and as decimal-comma strings in "
        "ProductDetails.{lang}.UnstructuredInformation (ItemBox*, NeedBatteries ...)",
        "A23-700100",
    ),
    (
        'CountryOfOrigin alpha-3 ("CHN", "DEU", "ITA"), alpha-2 and an unknown value ("Germany")',
        "A23-700100 / A23-700200 / A130-900100",
    ),
    ('CustomsTariffNumber with a space ("8523 5110")', "A130-900100"),
    (
        'HexColor without "#" (in the language blocks or in NonLanguageDependedProductDetails), '
        "PMSValue",
        "A23-700100 / A23-700200",
    ),
    (
        "keys no importer knows (V1Sku, GatewayInformation, WEEE, TexodataCategory): keep them",
        "A23-700100 / A130-900100",
    ),
    (
        "InformationFiles (a technical drawing), ShortDescription, Meta*, several "
        "WebShopInformation keys, SecondaryCategories, DefaultProducts for every region",
        "A23-700100",
    ),
    (
        "realistic sizes: about 100 KB, and a 3 MB family (4 children, 8 positions of 7 options)",
        "A23-700100 / A23-700300",
    ),
)


# ---------------------------------------------------------------------- family JSON


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _tiers(base: Decimal, quantities: tuple[int, ...], scale: str, on_request: bool) -> list:
    # Each further tier is 6 % cheaper than the one before.
    tiers = [
        {
            "Price": _money(base * Decimal(scale) * Decimal("0.94") ** n),
            "Quantity": qty,
            "OnRequest": False,
            "Valuta": "EURO",
        }
        for n, qty in enumerate(quantities)
    ]
    if on_request:
        tiers.append({"Price": 0.0, "Quantity": 10000, "OnRequest": True, "Valuta": "EURO"})
    return tiers


def _price_block(family: Family, supplier: Supplier, price: str) -> dict:
    base = Decimal(price)
    buy_qty = () if family.no_buy_prices else supplier.buy_qty
    return {
        supplier.region: {
            "RecommendedSellingPrice": _tiers(base, supplier.sell_qty, "1", family.on_request_tier),
            "GeneralBuyingPrice": _tiers(base, buy_qty, "0.62", family.on_request_tier),
            "MinimumOrderQuantity": supplier.moq,
            "QuantityIncrements": 1,
            "VatPercentage": 0,
            "VatSettingId": 1,
        }
    }


def _summary_price(family: Family, supplier: Supplier) -> dict:
    """Root price: a single tier, the lowest price at the largest (priced) quantity."""
    blocks = [_price_block(family, supplier, v.price)[supplier.region] for v in family.variants]
    last = [[t for t in b["RecommendedSellingPrice"] if not t["OnRequest"]][-1] for b in blocks]
    cheapest = min(last, key=lambda t: t["Price"])
    return {
        supplier.region: {
            "RecommendedSellingPrice": [dict(cheapest)],
            "GeneralBuyingPrice": [],
            "MinimumOrderQuantity": supplier.moq,
            "QuantityIncrements": 1,
            "VatPercentage": 0,
            "VatSettingId": 1,
        }
    }


def _names(family: Family, lang: str) -> tuple[str, str]:
    noun = PRODUCT_NOUNS[family.category][lang]
    name = f"{family.model} {noun}"
    material = f"{_LABELS['Material'][lang]}: {_MATERIALS[family.material][lang]}"
    return name, f"{name}.<br />{material}"


def _child_sku(family: Family, supplier: Supplier, n: int) -> tuple[str, str]:
    """(Sku, SupplierSku) of child number n (1-based)."""
    if supplier.child_suffix is None:
        return family.sku, family.stem
    suffix = supplier.child_suffix.format(n=n)
    return family.sku + suffix, family.stem + suffix


def _image_objects(
    keys: tuple[str, ...], supplier_sku: str, supplier: Supplier, urls: dict[str, str]
) -> tuple[dict | None, list[dict] | None]:
    objects = []
    for k, key in enumerate(keys):
        ext = urls[key].rsplit(".", 1)[1]
        if supplier.code == "A23":
            name = f"{supplier_sku}__B_{k + 1}.{ext}"
        elif supplier.code == "A130":
            name = f"{supplier_sku}.{ext}"
        else:
            name = f"{supplier_sku}_{k + 1}.{ext}"
        objects.append({"Url": urls[key], "Description": "", "FileName": name})
    if not objects:
        return None, None
    gallery = objects[1:] if supplier.gallery else []
    return objects[0], gallery or None


def _web_shop(family: Family, lang: str) -> dict:
    material = _MATERIALS[family.material][lang]
    label = _LABELS["Material"][lang]
    return {"Material": {"InformationLabel": label, "InformationValue": material}}


def _child(family: Family, supplier: Supplier, n: int, urls: dict[str, str]) -> dict:
    variant = family.variants[n - 1]
    sku, supplier_sku = _child_sku(family, supplier, n)
    search_colour, colour_names = _COLOUR_NAMES[variant.colour]
    main, gallery = _image_objects(variant.images, supplier_sku, supplier, urls)
    details = {}
    for lang in supplier.languages:
        name, description = _names(family, lang)
        colour = colour_names[lang]
        config = [_config("Color", lang, colour)]
        if variant.size:
            config.append(_config("Size", lang, variant.size))
        details[lang] = {
            "Name": " ".join(filter(None, (name, colour, variant.size))),
            "Description": description,
            "Image": main,
            "MediaGalleryImages": gallery,
            "IsActive": True,
            "ConfigurationFields": config,
            "UnstructuredInformation": {"SupplierSearchColor": colour},
            "WebShopInformation": _web_shop(family, lang),
        }
    weight, length, width, height, tariff = _PHYSICAL[family.category]
    non_language = {
        "Category": family.category,
        "SecondaryCategories": None,
        "Brand": supplier.brand,
        "SearchColor": search_colour,
        "HexColor": None,
        "Weight": weight,
        "DimensionsLength": length,
        "DimensionsWidth": width,
        "DimensionsHeight": height,
        "DimensionsDiameter": 0,
        "DimensionsDepth": 0,
        "CountryOfOrigin": supplier.country,
        "CustomsTariffNumber": tariff,
        "Fragile": family.category == _MUG,
        "USBItem": family.category == _POWER,
        "ProductFiltersByGroup": {"Eco": str(family.material in ("rpet", "cotton"))},
    }
    if supplier.carton:
        non_language.update(
            OuterCartonLengthCM=47.0,
            OuterCartonWidthCM=37.0,
            OuterCartonHeightCM=39.0,
            OuterCartonWeightNetKG=15.8,
            OuterCartonWeightGrossKG=16.6,
            OuterCartonQuantityPerCarton=100,
            WebShopInformation={
                "OuterCartonDimension": "47 x 37 x 39 cm",
                "OuterCartonWeightNetKG": "15,8",
                "OuterCartonWeightGrossKG": "16,6",
            },
        )
    ean = ean13(400000000000 + _ean_serial(sku)) if supplier.code != "A130" else _a130_ean(sku)
    return {
        "Sku": sku,
        "SupplierSku": supplier_sku,
        "ANumber": supplier.code,
        "Ean": ean,
        "VideoUrl": None,
        "ProductDetails": details,
        "NonLanguageDependedProductDetails": non_language,
        "ProductPriceCountryBased": _price_block(family, supplier, variant.price),
        "ImprintPositions": None,
        "UnstructuredInformation": {"ReleaseDate": "01.03.2025"},
        "Errors": {},
        "Warnings": {},
    }


def _config(name: str, lang: str, value: str) -> dict:
    return {
        "ConfigurationName": name,
        "ConfigurationNameTranslated": _LABELS[name][lang],
        "ConfigurationValue": value,
    }


def _ean_serial(sku: str) -> int:
    return int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16) % 10**8


def _a130_ean(sku: str) -> str:
    return ean13(871000000000 + _ean_serial(sku) % 10**6)


def family_document(family: Family, urls: dict[str, str]) -> dict:
    """The family as a real-format root object (summary root, data on the children)."""
    supplier = SUPPLIERS[family.supplier]
    children = [_child(family, supplier, n, urls) for n in range(1, len(family.variants) + 1)]
    first_image = children[0]["ProductDetails"][supplier.languages[0]]["Image"]
    details = {}
    for lang in supplier.languages:
        name, description = _names(family, lang)
        details[lang] = {
            "Name": name,
            "Description": description,
            "Image": first_image,
            "MediaGalleryImages": None,
            "IsActive": True,
            "ConfigurationFields": None,
            "UnstructuredInformation": {
                "SupplierMainCategory": _CATEGORY_NAMES[family.category][lang]
            },
        }
        if supplier.code == "A130":  # comma-separated keywords, as A130 sends them
            keywords = f"{PRODUCT_NOUNS[family.category][lang]},{family.model}".lower()
            details[lang]["MetaKeywords"] = keywords
    doc = {
        "Sku": family.sku,
        "SupplierSku": family.stem,
        "ANumber": supplier.code,
        "Ean": None,
        "ChildHasErrors": False,
        "DefaultProducts": {supplier.region: children[0]["Sku"]},
        "ImprintReferences": None,
        "ProductDetails": details,
        "NonLanguageDependedProductDetails": {
            "Category": family.category,
            "SecondaryCategories": [],
            "Brand": supplier.brand,
            "SearchColor": "Undefined",
            "HexColor": None,
            "Weight": 0,
            "DimensionsLength": 0,
            "DimensionsWidth": 0,
            "DimensionsHeight": 0,
            "CountryOfOrigin": None,
            "CustomsTariffNumber": None,
            "ProductFiltersByGroup": None,
        },
        "ProductPriceCountryBased": _summary_price(family, supplier),
        "ImprintPositions": None,
        "UnstructuredInformation": {"ReleaseDate": "01.03.2025"},
        "Errors": {},
        "Warnings": {},
        "ChildProducts": children,
    }
    if family.whole is not None:
        prices = [v.price for v in family.variants]
        apply_whole(doc, family.whole, prices, supplier, urls)
    for tweak in family.tweaks:
        tweak(doc)
    return doc


# ---------------------------------------------------------------------- files


def _json_bytes(document: dict, *, compact: bool = False) -> bytes:
    """Pretty-printed (the plain families, easy to read) or compact (the whole-feed families:
    nine regions of print prices would triple in size with indentation)."""
    if compact:
        return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


GARBAGE_LINE = "this line is not a feed entry"


def _import_txt(entries: list[tuple[str, str]]) -> bytes:
    """Import.txt with BOM, CRLF, a blank line, a duplicate line and a garbage line.

    ``entries`` are (relative URL, HASH) in feed order. After the first supplier's block come
    an exact duplicate of its first line and a blank line; after the second, the garbage line.
    """
    blocks: dict[str, list[str]] = {}
    for url, digest in entries:
        blocks.setdefault(url.split("/")[1], []).append(f"{url}|{digest}")
    lines = ["../CAT.csv"]
    for n, block in enumerate(blocks.values()):
        lines.extend(block)
        if n == 0:
            lines.extend([block[0], ""])
        elif n == 1:
            lines.append(GARBAGE_LINE)
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _readme() -> bytes:
    cases = "\n".join(f"- {what}: {family}" for what, family in TRICKY_CASES)
    text = f"""# Sample Promidata feed

A small feed in the real Promidata format (3 suppliers, {len(FAMILIES)} product families, \
{len(IMAGES)} images) for the quick start and for tests: point the importer at \
`file://<repo>/sample_feed/Import/Import.txt`. Every URL inside is relative and is resolved \
against the file it appears in.

Everything here is generated by `python -m devtools.build_sample_feed`; edit the \
builder, not these files. The data is invented and the feed never contains a real profile URL. \
It deliberately includes the cases a correct importer must survive:

{cases}
- The whole-feed families (A23-700100 ... A130-900100) are written compact (pretty-printed \
they would be three times the size); the others are pretty-printed. Their videos link to \
`https://video.example.com/` (a reserved domain): a video is a link, not a file of the feed.
- Import.txt itself: UTF-8 BOM, CRLF line endings, a blank line, an exact duplicate line and \
a garbage line (`{GARBAGE_LINE}`).
- CAT.csv: UTF-8 BOM, umlauts, a quoted field containing `;`, IMAGE URLs relative to CAT.csv.
"""
    return text.encode("utf-8")


def render_files() -> dict[str, bytes]:
    """Every file of the sample feed: relative POSIX path -> bytes. Pure and deterministic."""
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    for spec in IMAGES:
        data = spec.render()
        names[spec.key] = f"{hashlib.sha256(data).hexdigest()}.{spec.fmt}"
        files[f"Images/{names[spec.key]}"] = data
    family_urls = {key: f"../Images/{name}" for key, name in names.items()}
    entries = []
    for family in FAMILIES:
        body = _json_bytes(family_document(family, family_urls), compact=family.whole is not None)
        files[f"{family.supplier}/{family.sku}.json"] = body
        url = f"../{family.supplier}/{quote(family.sku, safe='')}.json"
        entries.append((url, hashlib.sha1(body).hexdigest().upper()))
    files["Import/Import.txt"] = _import_txt(entries)
    category_images = {
        "BAGS": f"Images/{names['bag_navy']}",
        "DRINKWARE": f"Images/{names['mug_white']}",
    }
    files["CAT.csv"] = render_categories_csv(category_images)
    files["README.md"] = _readme()
    return files


def build(output: Path = DEFAULT_OUTPUT) -> list[Path]:
    """Write the sample feed to ``output``, replacing a previous build there.

    Refuses (ValueError) to wipe a non-empty directory that does not look like a sample feed.
    Returns the written paths.
    """
    output = Path(output)
    if output.exists():
        looks_generated = (output / "Import" / "Import.txt").is_file()
        if any(output.iterdir()) and not looks_generated:
            raise ValueError(f"{output} is not empty and not a sample feed; refusing to replace")
        shutil.rmtree(output)
    written = []
    for relative, data in sorted(render_files().items()):
        path = output / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def iter_relative_urls(files: dict[str, bytes]) -> Iterator[tuple[str, str]]:
    """(document path, relative URL) for every URL in Import.txt, CAT.csv and family JSON."""
    for line in files["Import/Import.txt"].decode("utf-8-sig").splitlines():
        url = line.split("|", 1)[0].strip()
        if url.endswith((".json", ".csv")):
            yield "Import/Import.txt", url
    for path, data in files.items():
        if path.endswith(".json"):
            for url in _urls_in(json.loads(data)):
                yield path, url


def _urls_in(node: object) -> Iterator[str]:
    """Every ``Url`` in a document, except under ``VideoUrl``: videos are links to a video
    platform (``https://video.example.com/...``), not files of the feed."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Url" and isinstance(value, str):
                yield value
            elif key != "VideoUrl":
                yield from _urls_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _urls_in(item)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: build the sample feed and report what was written."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.build_sample_feed",
        description="Write the deterministic sample Promidata feed.",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        written = build(args.output)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    total = sum(path.stat().st_size for path in written)
    print(f"wrote {len(written)} files ({total} bytes) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
