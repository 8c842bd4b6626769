"""Deterministic synthetic Promidata feed, rendered lazily.

A :class:`SyntheticFeed` holds only a few integers per supplier plus the families that tests
have mutated; every file (Import.txt, CAT.csv, family JSON, image PNG) is rendered on request
from ``(seed, supplier, family index, variant slot)``. That keeps a 40,000-family feed cheap to
serve, and the same :class:`FeedSpec` always yields the same bytes.

The family JSON follows the real key tree described in /work/shared/promidata-format.md
(root = summary, variants in ``ChildProducts``, prices under ``ProductPriceCountryBased``).
Pure Python: no Django imports, so it can be used from benchmarks and the CLI server alike.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import random
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from json.encoder import encode_basestring
from typing import NamedTuple
from urllib.parse import quote

__all__ = [
    "CATEGORIES",
    "CATEGORY_HEADER",
    "PRODUCT_NOUNS",
    "FeedSpec",
    "SyntheticFeed",
    "ean13",
    "render_categories_csv",
]

#: Column order of a real CAT.csv (section 3.1 of the format notes).
CATEGORY_HEADER = ("KEY", "DE", "EN", "NL", "ICON", "IMAGE", "FR")

#: (KEY, {lang: human-readable path}). Parents precede children. The names deliberately carry
#: umlauts, accents, '&' and a ';' (which forces CSV quoting).
CATEGORIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("BAGS", {"de": "Taschen", "en": "Bags", "nl": "Tassen", "fr": "Sacs"}),
    (
        "BAGS/SHOPPING_BAGS",
        {
            "de": "Taschen / Einkaufstaschen",
            "en": "Bags / Shopping bags",
            "nl": "Tassen / Boodschappentassen",
            "fr": "Sacs / Sacs shopping",
        },
    ),
    (
        "BAGS/BACKPACKS",
        {
            "de": "Taschen / Rucksäcke",
            "en": "Bags / Backpacks",
            "nl": "Tassen / Rugzakken",
            "fr": "Sacs / Sacs à dos",
        },
    ),
    ("OFFICE", {"de": "Büro", "en": "Office", "nl": "Kantoor", "fr": "Bureau"}),
    (
        "OFFICE/WRITING",
        {
            "de": "Büro / Schreibgeräte",
            "en": "Office / Writing",
            "nl": "Kantoor / Schrijfwaren",
            "fr": "Bureau / Écriture",
        },
    ),
    (
        "OFFICE/WRITING/BALLPOINT_PENS",
        {
            "de": "Büro / Schreibgeräte / Kugelschreiber",
            "en": "Office / Writing / Ballpoint pens",
            "nl": "Kantoor / Schrijfwaren / Balpennen",
            "fr": "Bureau / Écriture / Stylos à bille",
        },
    ),
    (
        "DRINKWARE",
        {"de": "Trinkgefäße", "en": "Drinkware", "nl": "Drinkwaren", "fr": "Articles à boire"},
    ),
    (
        "DRINKWARE/MUGS",
        {
            "de": "Trinkgefäße / Becher; Tassen",
            "en": "Drinkware / Mugs; cups",
            "nl": "Drinkwaren / Mokken; kopjes",
            "fr": "Articles à boire / Mugs; tasses",
        },
    ),
    (
        "DRINKWARE/BOTTLES",
        {
            "de": "Trinkgefäße / Trinkflaschen",
            "en": "Drinkware / Bottles",
            "nl": "Drinkwaren / Drinkflessen",
            "fr": "Articles à boire / Gourdes",
        },
    ),
    ("TEXTILES", {"de": "Textilien", "en": "Textiles", "nl": "Textiel", "fr": "Textiles"}),
    (
        "TEXTILES/T-SHIRTS",
        {
            "de": "Textilien / T-Shirts",
            "en": "Textiles / T-shirts",
            "nl": "Textiel / T-shirts",
            "fr": "Textiles / T-shirts",
        },
    ),
    (
        "TEXTILES/SOCKS",
        {
            "de": "Textilien / Socken",
            "en": "Textiles / Socks",
            "nl": "Textiel / Sokken",
            "fr": "Textiles / Chaussettes",
        },
    ),
    (
        "TEXTILES/PARKAS-RAINCOATS",
        {
            "de": "Textilien / Parkas & Regenmäntel",
            "en": "Textiles / Parkas & raincoats",
            "nl": "Textiel / Parka's & regenjassen",
            "fr": "Textiles / Parkas & imperméables",
        },
    ),
    (
        "TEXTILES/PARKAS-RAINCOATS/OTHER",
        {
            "de": "Textilien / Parkas & Regenmäntel / Sonstige",
            "en": "Textiles / Parkas & raincoats / Other",
            "nl": "Textiel / Parka's & regenjassen / Overige",
            "fr": "Textiles / Parkas & imperméables / Autres",
        },
    ),
    ("TECHNOLOGY", {"de": "Technik", "en": "Technology", "nl": "Technologie", "fr": "Technologie"}),
    (
        "TECHNOLOGY/POWERBANKS",
        {
            "de": "Technik / Powerbanks",
            "en": "Technology / Power banks",
            "nl": "Technologie / Powerbanks",
            "fr": "Technologie / Batteries externes",
        },
    ),
)

#: Leaf category -> product noun per language, used for names of generated families.
PRODUCT_NOUNS: dict[str, dict[str, str]] = {
    "BAGS/SHOPPING_BAGS": {
        "de": "Einkaufstasche",
        "en": "Shopping bag",
        "nl": "Boodschappentas",
        "fr": "Sac shopping",
    },
    "BAGS/BACKPACKS": {"de": "Rucksack", "en": "Backpack", "nl": "Rugzak", "fr": "Sac à dos"},
    "OFFICE/WRITING/BALLPOINT_PENS": {
        "de": "Kugelschreiber",
        "en": "Ballpoint pen",
        "nl": "Balpen",
        "fr": "Stylo à bille",
    },
    "DRINKWARE/MUGS": {"de": "Becher", "en": "Mug", "nl": "Mok", "fr": "Mug"},
    "DRINKWARE/BOTTLES": {"de": "Trinkflasche", "en": "Bottle", "nl": "Drinkfles", "fr": "Gourde"},
    "TEXTILES/T-SHIRTS": {"de": "T-Shirt", "en": "T-shirt", "nl": "T-shirt", "fr": "T-shirt"},
    "TEXTILES/SOCKS": {"de": "Socken", "en": "Socks", "nl": "Sokken", "fr": "Chaussettes"},
    "TEXTILES/PARKAS-RAINCOATS/OTHER": {
        "de": "Regenjacke",
        "en": "Rain jacket",
        "nl": "Regenjas",
        "fr": "Veste de pluie",
    },
    "TECHNOLOGY/POWERBANKS": {
        "de": "Powerbank",
        "en": "Power bank",
        "nl": "Powerbank",
        "fr": "Batterie externe",
    },
}
_LEAVES = tuple(PRODUCT_NOUNS)

#: (SearchColor, {lang: supplier colour name}).
_COLOURS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Black", {"de": "schwarz", "en": "black", "nl": "zwart", "fr": "noir"}),
    ("White", {"de": "weiß", "en": "white", "nl": "wit", "fr": "blanc"}),
    ("Blue", {"de": "marineblau", "en": "navy", "nl": "marineblauw", "fr": "bleu marine"}),
    ("Red", {"de": "rot", "en": "red", "nl": "rood", "fr": "rouge"}),
    ("Green", {"de": "grün", "en": "green", "nl": "groen", "fr": "vert"}),
    ("Grey", {"de": "grau", "en": "grey", "nl": "grijs", "fr": "gris"}),
    ("Orange", {"de": "orange", "en": "orange", "nl": "oranje", "fr": "orange"}),
)
_SIZES = ("S", "M", "L", "XL", "One size")
_MODELS = ("Nova", "Orbit", "Fjord", "Kirkby", "Delta", "Lumen", "Atlas", "Verde", "Polar")
_BRANDS = ("Promistyle", "EcoLine", "Urban Basics", "")
_MATERIAL_LABEL = {"de": "Material", "en": "Material", "nl": "Materiaal", "fr": "Matière"}
_COLOUR_LABEL = {"de": "Farbe", "en": "Colour", "nl": "Kleur", "fr": "Couleur"}
_SIZE_LABEL = {"de": "Größe", "en": "Size", "nl": "Maat", "fr": "Taille"}

# (Quantity, percent of the variant's base price).
_SELL_PERCENT = ((1, 100), (100, 90), (500, 80))
# Buying tiers deliberately do not line up with the selling tiers (pitfall 5 of the notes).
_BUY_PERCENT = ((1, 60), (250, 50))
_FAMILY_SKU = re.compile(r"^(?P<code>.+)-F(?P<index>\d{5,})$")
_POOL_ID = re.compile(r"^P(?P<n>\d{6})$")
_DISTINCT_ID = re.compile(r"^(?P<code>[A-Z]\d+)-(?P<index>\d{5,})-(?P<slot>\d{2,})-(?P<k>\d+)$")


@dataclass
class FeedSpec:
    """Shape of a synthetic feed. Equal specs render byte-identical feeds."""

    suppliers: int = 2
    families_per_supplier: int = 10
    variants_per_family: int = 2
    images_per_variant: int = 2
    #: If set, images are drawn from a shared pool of this many distinct images, so they repeat
    #: across families and suppliers; None means every image is distinct.
    image_pool: int | None = None
    languages: tuple[str, ...] = ("de", "en", "nl", "fr")
    seed: int = 1
    region: str = "EURO"

    def __post_init__(self) -> None:
        if self.suppliers < 0 or self.families_per_supplier < 0:
            raise ValueError("suppliers and families_per_supplier must be >= 0")
        if self.variants_per_family < 1:
            raise ValueError("variants_per_family must be >= 1")
        if self.images_per_variant < 0:
            raise ValueError("images_per_variant must be >= 0")
        if self.image_pool is not None and self.image_pool < max(1, self.images_per_variant):
            # A variant's images are distinct, so the pool must hold at least one variant's worth.
            raise ValueError("image_pool must be >= max(1, images_per_variant)")
        if not self.languages:
            raise ValueError("at least one language is required")
        self.languages = tuple(self.languages)


@dataclass(frozen=True)
class _FamilyState:
    """Mutable-by-replacement state of one family: which variant slots exist, price overrides.

    Slots are stable numbers (1, 2, ...), so removing a variant never renames the others.
    """

    slots: tuple[int, ...]
    first_price: tuple[tuple[int, Decimal], ...] = ()

    def price_for(self, slot: int) -> Decimal | None:
        return dict(self.first_price).get(slot)


@dataclass
class _Supplier:
    count: int  # highest family index handed out so far
    withdrawn: set[int] = field(default_factory=set)


class SyntheticFeed:
    """A deterministic, lazily rendered Promidata feed that tests can mutate.

    Thread-safe: mutations and Import.txt rendering take an internal lock; family and image
    rendering work on an immutable snapshot of the family state.

    ``base_url`` (None by default) is the feed base that :meth:`expected` uses for image URLs
    when not given one explicitly; :class:`~promidata_sync.devtools.feedserver.FeedServer`
    sets it when it starts serving the feed.
    """

    def __init__(self, spec: FeedSpec):
        self.spec = spec
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self._suppliers = {
            f"A{100 + i}": _Supplier(count=spec.families_per_supplier)
            for i in range(spec.suppliers)
        }
        self._states: dict[tuple[str, int], _FamilyState] = {}
        # base_url -> (code, index) -> upper-case SHA-1 of the rendered family JSON.
        self._hashes: dict[str, dict[tuple[str, int], str]] = {}

    # ------------------------------------------------------------------ listing

    @property
    def supplier_codes(self) -> list[str]:
        """Supplier codes in feed order: "A100", "A101", ..."""
        return list(self._suppliers)

    def family_skus(self, supplier_code: str) -> list[str]:
        """Current family SKUs of one supplier (withdrawn ones left out, added ones included).

        Raises KeyError for an unknown supplier code.
        """
        return [_family_sku(supplier_code, i) for i in self._indices(supplier_code)]

    def _indices(self, code: str) -> list[int]:
        supplier = self._suppliers[code]
        with self._lock:
            return [i for i in range(1, supplier.count + 1) if i not in supplier.withdrawn]

    def _families(self) -> Iterator[tuple[str, int]]:
        for code in self._suppliers:
            for index in self._indices(code):
                yield code, index

    # ------------------------------------------------------------------ files

    def import_txt(self, base_url: str) -> bytes:
        """Import.txt: CAT.csv URL, then ``<family JSON URL>|<HASH>`` per current family.

        HASH is the upper-case SHA-1 of the family JSON exactly as :meth:`family_json` renders
        it for the same ``base_url``, so it changes exactly when that content changes. Hashes
        are cached per family and dropped when a mutation touches the family.
        """
        lines = [f"{base_url}/CAT.csv"]
        with self._lock:
            cache = self._hashes.setdefault(base_url, {})
            for code, index in self._families():
                digest = cache.get((code, index))
                if digest is None:
                    body = self._render(code, index, base_url)
                    digest = hashlib.sha1(body).hexdigest().upper()
                    cache[(code, index)] = digest
                sku = quote(_family_sku(code, index))
                lines.append(f"{base_url}/{code}/{sku}.json|{digest}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def categories_csv(self) -> bytes:
        """CAT.csv with every category used by the generator (and the parents)."""
        return render_categories_csv()

    def family_json(self, supplier_code: str, family_sku: str, base_url: str) -> bytes | None:
        """Compact JSON of one family, or None if the family is unknown or withdrawn."""
        index = self._lookup(supplier_code, family_sku)
        if index is None:
            return None
        return self._render(supplier_code, index, base_url)

    def image_png(self, image_id: str) -> bytes | None:
        """A real 16x16 PNG for an image id this feed can reference, else None."""
        if not self._image_id_known(image_id):
            return None
        return _render_png(self.spec.seed, image_id)

    def _image_id_known(self, image_id: str) -> bool:
        spec = self.spec
        if spec.image_pool is not None:
            match = _POOL_ID.match(image_id)
            return bool(match) and int(match["n"]) < spec.image_pool
        match = _DISTINCT_ID.match(image_id)
        if not match or match["code"] not in self._suppliers:
            return False
        return (int(match["index"]) >= 1 and int(match["slot"]) >= 1) and int(
            match["k"]
        ) < spec.images_per_variant

    # ------------------------------------------------------------------ mutations

    def set_price(self, family_sku: str, variant_index: int, price: Decimal) -> None:
        """Set the first selling tier (Quantity 1) of the variant at ``variant_index``.

        ``variant_index`` is the 0-based position in the family's current ChildProducts.
        """
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            slot = state.slots[variant_index]
            prices = dict(state.first_price)
            prices[slot] = Decimal(price)
            self._update(code, index, replace(state, first_price=tuple(sorted(prices.items()))))

    def remove_variant(self, family_sku: str, variant_index: int) -> None:
        """Drop the variant at 0-based ``variant_index``; the last variant cannot be removed."""
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            if len(state.slots) == 1:
                raise ValueError(f"{family_sku} has a single variant; withdraw the family instead")
            slot = state.slots[variant_index]
            slots = tuple(s for s in state.slots if s != slot)
            prices = tuple(p for p in state.first_price if p[0] != slot)
            self._update(code, index, _FamilyState(slots=slots, first_price=prices))

    def add_variant(self, family_sku: str) -> str:
        """Append a new variant (next free slot) and return its child SKU."""
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            slot = max(state.slots) + 1
            self._update(code, index, replace(state, slots=(*state.slots, slot)))
        return self._child_sku(family_sku, slot)

    def withdraw_family(self, family_sku: str) -> None:
        """Remove a family from Import.txt; its JSON URL then answers None (404)."""
        code, index = self._locate(family_sku)
        with self._lock:
            self._suppliers[code].withdrawn.add(index)
            self._forget_hash(code, index)

    def add_family(self, supplier_code: str) -> str:
        """Append a new family at the supplier's next index and return its SKU.

        The new family renders exactly as it would in a feed generated with more families.
        """
        with self._lock:
            supplier = self._suppliers[supplier_code]
            supplier.count += 1
            return _family_sku(supplier_code, supplier.count)

    def _locate(self, family_sku: str) -> tuple[str, int]:
        match = _FAMILY_SKU.match(family_sku)
        if match and match["code"] in self._suppliers:
            index = self._lookup(match["code"], family_sku)
            if index is not None:
                return match["code"], index
        raise KeyError(f"unknown or withdrawn family {family_sku!r}")

    def _lookup(self, code: str, family_sku: str) -> int | None:
        supplier = self._suppliers.get(code)
        match = _FAMILY_SKU.match(family_sku)
        if supplier is None or match is None or match["code"] != code:
            return None
        index = int(match["index"])
        if _family_sku(code, index) != family_sku:  # reject non-canonical zero padding
            return None
        with self._lock:
            if not 1 <= index <= supplier.count or index in supplier.withdrawn:
                return None
        return index

    def _state(self, code: str, index: int) -> _FamilyState:
        state = self._states.get((code, index))
        if state is None:
            state = _FamilyState(slots=tuple(range(1, self.spec.variants_per_family + 1)))
        return state

    def _update(self, code: str, index: int, state: _FamilyState) -> None:
        self._states[(code, index)] = state
        self._forget_hash(code, index)

    def _forget_hash(self, code: str, index: int) -> None:
        for cache in self._hashes.values():
            cache.pop((code, index), None)

    # ------------------------------------------------------------------ expectations

    def expected(self, base_url: str | None = None) -> dict:
        """What a correct importer must end with, for the families currently present.

        ``{code: {family_sku: {"variants": {child_sku: {"sell": [(qty, Decimal)], "buy": [...],
        "images": [url, ...]}}, "category": key, "names": {lang: name}}}}``. Image lists hold
        the main image first, then the gallery in order. Prices are the values written to the
        JSON (floats) read back as Decimal. Image URLs need the feed base: ``base_url`` or, if
        omitted, ``self.base_url``; ValueError if neither is set.
        """
        base_url = base_url if base_url is not None else self.base_url
        if base_url is None:
            raise ValueError("expected() needs base_url (or a FeedServer that has started)")
        result: dict[str, dict] = {}
        for code in self._suppliers:
            families = result.setdefault(code, {})
            for index in self._indices(code):
                family = self._model(code, index, base_url)
                families[family.sku] = family.expected(self.spec.languages)
        return result

    # ------------------------------------------------------------------ rendering

    def _render(self, code: str, index: int, base_url: str) -> bytes:
        return self._model(code, index, base_url).render(self.spec)

    def _model(self, code: str, index: int, base_url: str) -> _Family:
        with self._lock:
            state = self._state(code, index)
        sku = _family_sku(code, index)
        traits = _family_traits(self.spec.seed, code, index)
        variants = tuple(
            self._variant(code, index, sku, slot, state.price_for(slot), base_url)
            for slot in state.slots
        )
        return _Family(code=code, sku=sku, traits=traits, variants=variants)

    def _variant(
        self, code: str, index: int, family_sku: str, slot: int, price: Decimal | None, base: str
    ) -> _Variant:
        """One variant, drawn from its own PRNG so siblings never influence each other."""
        rng = _rng(self.spec.seed, code, index, slot)
        colour, colour_names = rng.choice(_COLOURS)
        size = rng.choice(_SIZES)
        base_cents = rng.randint(50, 5000)
        sell = [(qty, _money(base_cents, pct)) for qty, pct in _SELL_PERCENT]
        if price is not None:
            sell[0] = (sell[0][0], price)
        images = tuple(
            f"{base}/Images/{image_id}.png" for image_id in self._image_ids(rng, code, index, slot)
        )
        sku = self._child_sku(family_sku, slot)
        return _Variant(
            sku=sku,
            supplier_sku=sku.removeprefix(f"{code}-"),
            ean=ean13(rng.randrange(10**11, 10**12)),
            colour=colour,
            colour_names=colour_names,
            size=size,
            weight=rng.randint(20, 900),
            dimensions=(rng.randint(10, 400), rng.randint(10, 400), rng.randint(5, 300)),
            sell=tuple(sell),
            buy=tuple((qty, _money(base_cents, pct)) for qty, pct in _BUY_PERCENT),
            images=images,
        )

    def _image_ids(self, rng: random.Random, code: str, index: int, slot: int) -> list[str]:
        count = self.spec.images_per_variant
        if self.spec.image_pool is None:
            return [f"{code}-{index:05d}-{slot:02d}-{k}" for k in range(count)]
        return [f"P{n:06d}" for n in rng.sample(range(self.spec.image_pool), count)]

    def _child_sku(self, family_sku: str, slot: int) -> str:
        # Pattern A: single-variant families reuse the root Sku for their only child.
        if self.spec.variants_per_family == 1 and slot == 1:
            return family_sku
        return f"{family_sku}-{slot:02d}"


# ---------------------------------------------------------------------- family model


# One shared encoder: json.dumps() with options builds a new encoder per call, which is most
# of the cost when a 40,000-family Import.txt has to hash every family.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# JSON text of a str (with quotes); the C helper behind _dumps, without its per-call overhead.
_jstr = encode_basestring


class _Template:
    """Compact JSON text with holes, for fast rendering of 40,000 families.

    Built from a skeleton dict in which a string ``"@@name@@"`` marks a hole; ``render`` fills
    each hole with ready-made JSON text. The output is byte-identical to ``_dumps`` of the
    filled-in dict, but the constant parts are encoded once instead of on every render.
    """

    _HOLE = re.compile(r'"@@(\w+)@@"')

    def __init__(self, skeleton: dict):
        parts = self._HOLE.split(_dumps(skeleton).replace("%", "%%"))
        self._holes = tuple(parts[1::2])
        # A printf-style format is filled in C, much faster than joining pieces in Python.
        self._format = "%s".join(parts[0::2])

    def render(self, **json_values: str) -> str:
        return self._format % tuple([json_values[hole] for hole in self._holes])


# Keys that are null/constant in every synthetic family, in real-file order.
_NULL_ROOT_KEYS = dict.fromkeys(
    (
        "ImprintReferences",
        "ImprintPositions",
        "ProductCosts",
        "ProductPriceRegionBased",
        "SamplePriceCountryBased",
        "BatteryInformation",
        "ProductCertificates",
        "RequiredCertificates",
        "ForbiddenRegions",
    )
)
_NON_LANGUAGE_TAIL = {
    "DimensionsDiameter": 0,
    "DimensionsDepth": 0,
    "Fragile": False,
    "USBItem": False,
    "LogoToolImageDefined": None,
    "ProductFiltersByGroup": {"Eco": "False"},
}

_ROOT = _Template(
    {
        "Sku": "@@sku@@",
        "SupplierSku": "@@supplier_sku@@",
        "ANumber": "@@code@@",
        "Ean": None,
        "VideoUrl": None,
        "ChildHasErrors": False,
        "DefaultProducts": "@@default_products@@",
        **_NULL_ROOT_KEYS,
        "UnstructuredInformation": {"ReleaseDate": "01.05.2025"},
        "Errors": {},
        "Warnings": {},
        "ProductDetails": "@@details@@",
        # The root is a summary: undefined colour, zero weight and dimensions.
        "NonLanguageDependedProductDetails": {
            "Category": "@@category@@",
            "SecondaryCategories": [],
            "Brand": "@@brand@@",
            "SearchColor": "Undefined",
            "HexColor": None,
            "Weight": 0,
            "DimensionsLength": 0,
            "DimensionsWidth": 0,
            "DimensionsHeight": 0,
            "CountryOfOrigin": None,
            "CustomsTariffNumber": None,
            **_NON_LANGUAGE_TAIL,
        },
        "ProductPriceCountryBased": "@@prices@@",
        "ChildProducts": "@@children@@",
    }
)
_ROOT_DETAILS = _Template(
    {
        "Name": "@@name@@",
        "Description": "@@description@@",
        "ShortDescription": None,
        "MetaName": None,
        "MetaDescription": None,
        "MetaKeywords": None,
        "Image": "@@image@@",
        "MediaGalleryImages": None,
        "InformationFiles": None,
        "IsActive": True,
        "ConfigurationFields": None,
        "UnstructuredInformation": {"SupplierMainCategory": "@@category@@"},
        "WebShopInformation": "@@web_shop@@",
        "PIMV1Information": None,
        "ImportantInformation": None,
    }
)
_CHILD = _Template(
    {
        "Sku": "@@sku@@",
        "SupplierSku": "@@supplier_sku@@",
        "ANumber": "@@code@@",
        "Ean": "@@ean@@",
        "VideoUrl": None,
        "ProductDetails": "@@details@@",
        "NonLanguageDependedProductDetails": {
            "Category": "@@category@@",
            "SecondaryCategories": None,
            "Brand": "@@brand@@",
            "SearchColor": "@@colour@@",
            "HexColor": None,
            "Weight": "@@weight@@",
            "DimensionsLength": "@@length@@",
            "DimensionsWidth": "@@width@@",
            "DimensionsHeight": "@@height@@",
            "CountryOfOrigin": "CN",
            "CustomsTariffNumber": "42022290",
            **_NON_LANGUAGE_TAIL,
        },
        "ProductPriceCountryBased": "@@prices@@",
        "ImprintPositions": None,
        "UnstructuredInformation": {"ReleaseDate": "01.05.2025"},
        "Errors": {},
        "Warnings": {},
    }
)
_CHILD_DETAILS = _Template(
    {
        "Name": "@@name@@",
        "Description": "@@description@@",
        "ShortDescription": None,
        "Image": "@@image@@",
        "MediaGalleryImages": "@@gallery@@",
        "InformationFiles": None,
        "IsActive": True,
        "ConfigurationFields": [
            {
                "ConfigurationName": "Color",
                "ConfigurationNameTranslated": "@@colour_label@@",
                "ConfigurationValue": "@@colour@@",
            },
            {
                "ConfigurationName": "Size",
                "ConfigurationNameTranslated": "@@size_label@@",
                "ConfigurationValue": "@@size@@",
            },
        ],
        "UnstructuredInformation": {"SupplierSearchColor": "@@colour@@"},
        "WebShopInformation": "@@web_shop@@",
        "ImportantInformation": {
            "ImprintRequired": False,
            "TronLogoEnabled": False,
            "TronLogoReference": None,
        },
    }
)


@dataclass(frozen=True)
class _Traits:
    category: str
    nouns: Mapping[str, str]
    model: str
    brand: str


@dataclass(frozen=True)
class _Variant:
    sku: str
    supplier_sku: str
    ean: str
    colour: str
    colour_names: Mapping[str, str]
    size: str
    weight: int
    dimensions: tuple[int, int, int]
    sell: tuple[tuple[int, Decimal], ...]
    buy: tuple[tuple[int, Decimal], ...]
    images: tuple[str, ...]

    def image_json(self, position: int) -> str:
        url = self.images[position]
        return _dumps({"Url": url, "Description": "", "FileName": self._file_name(position)})

    def _file_name(self, position: int) -> str:
        return f"{self.supplier_sku}_{position + 1}.png"


@dataclass(frozen=True)
class _Family:
    """Everything needed to render one family and to state what an importer must store."""

    code: str
    sku: str
    traits: _Traits
    variants: tuple[_Variant, ...]

    def name(self, lang: str) -> str:
        noun = self.traits.nouns.get(lang) or f"{self.traits.nouns['en']} [{lang}]"
        return f"{noun} {self.traits.model}"

    def expected(self, languages: tuple[str, ...]) -> dict:
        return {
            "variants": {
                v.sku: {
                    "sell": [(q, _as_read(p)) for q, p in v.sell],
                    "buy": [(q, _as_read(p)) for q, p in v.buy],
                    "images": list(v.images),
                }
                for v in self.variants
            },
            "category": self.traits.category,
            "names": {lang: self.name(lang) for lang in languages},
        }

    def render(self, spec: FeedSpec) -> bytes:
        """The family JSON in the real format: the root is a summary, data sits on children."""
        first = self.variants[0]
        # Root image = first child's main image, as in the real sample.
        root_image = first.image_json(0) if first.images else "null"
        category = _jstr(self.traits.category)
        texts = [self._language_text(lang) for lang in spec.languages]
        details = [
            (
                text.key,
                _ROOT_DETAILS.render(
                    name=_jstr(text.name),
                    description=text.description,
                    image=root_image,
                    category=category,
                    web_shop=text.web_shop,
                ),
            )
            for text in texts
        ]
        # Root price: one summary tier, the lowest price at the largest quantity.
        summary = ((first.sell[-1][0], min(v.sell[-1][1] for v in self.variants)),)
        document = _ROOT.render(
            sku=_jstr(self.sku),
            supplier_sku=_jstr(self.sku.removeprefix(f"{self.code}-")),
            code=_jstr(self.code),
            default_products=_dumps({spec.region: first.sku}),
            details=_json_object(details),
            category=category,
            brand=_jstr(self.traits.brand),
            prices=_price_json(spec.region, summary, ()),
            children="["
            + ",".join(self._child(v, spec.region, texts, category) for v in self.variants)
            + "]",
        )
        return document.encode("utf-8")

    def _language_text(self, lang: str) -> _LanguageText:
        constants = _language_constants(lang)
        name = self.name(lang)
        description = f"{name}.<br />{_MATERIAL_LABEL.get(lang, 'Material')}: Polyester"
        return _LanguageText(lang, name, _jstr(description), *constants)

    def _child(self, v: _Variant, region: str, texts: list[_LanguageText], category: str) -> str:
        main = v.image_json(0) if v.images else "null"
        gallery = [v.image_json(k) for k in range(1, len(v.images))]
        gallery_json = "[" + ",".join(gallery) + "]" if gallery else "null"
        size = _jstr(v.size)
        details = []
        for text in texts:
            colour_name = v.colour_names.get(text.lang, v.colour_names["en"])
            colour = _jstr(colour_name)
            block = _CHILD_DETAILS.render(
                name=_jstr(f"{text.name} {colour_name} {v.size}"),
                description=text.description,
                image=main,
                gallery=gallery_json,
                colour_label=text.colour_label,
                colour=colour,
                size_label=text.size_label,
                size=size,
                web_shop=text.web_shop,
            )
            details.append((text.key, block))
        length, width, height = v.dimensions
        return _CHILD.render(
            sku=_jstr(v.sku),
            supplier_sku=_jstr(v.supplier_sku),
            code=_jstr(self.code),
            ean=_jstr(v.ean),
            details=_json_object(details),
            category=category,
            brand=_jstr(self.traits.brand),
            colour=_jstr(v.colour),
            weight=str(v.weight),
            length=str(length),
            width=str(width),
            height=str(height),
            prices=_price_json(region, v.sell, v.buy),
        )


class _LanguageText(NamedTuple):
    """Per-language strings of one family; all but ``lang`` and ``name`` are JSON text."""

    lang: str
    name: str
    description: str
    key: str
    web_shop: str
    colour_label: str
    size_label: str


@functools.lru_cache(maxsize=64)
def _language_constants(lang: str) -> tuple[str, str, str, str]:
    """JSON text of the per-language constants: object key, WebShopInformation, labels."""
    label = _MATERIAL_LABEL.get(lang, "Material")
    web_shop = {"Material": {"InformationLabel": label, "InformationValue": "Polyester"}}
    return (
        _jstr(lang),
        _dumps(web_shop),
        _jstr(_COLOUR_LABEL.get(lang, "Color")),
        _jstr(_SIZE_LABEL.get(lang, "Size")),
    )


def _json_object(members: list[tuple[str, str]]) -> str:
    """A JSON object from (key JSON text, value JSON text) pairs."""
    return "{" + ",".join(f"{k}:{v}" for k, v in members) + "}"


def _price_json(region: str, sell, buy) -> str:
    """The ``ProductPriceCountryBased`` object: ``{region: {tiers..., MOQ, VAT...}}``.

    Prices are written as JSON floats (float repr, exactly what json.dumps writes).
    """

    def tiers(pairs) -> str:
        return ",".join(
            f'{{"Price":{float(price)!r},"Quantity":{qty},"OnRequest":false,"Valuta":"EURO"}}'
            for qty, price in pairs
        )

    return (
        f'{{{_jstr(region)}:{{"RecommendedSellingPrice":[{tiers(sell)}],'
        f'"GeneralBuyingPrice":[{tiers(buy)}],"MinimumOrderQuantity":1,'
        '"QuantityIncrements":1,"VatPercentage":0,"VatSettingId":1}}'
    )


# ---------------------------------------------------------------------- helpers


def _family_sku(code: str, index: int) -> str:
    return f"{code}-F{index:05d}"


def _rng(*parts: object) -> random.Random:
    """A PRNG seeded from ``parts``; independent of PYTHONHASHSEED and process."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


@functools.lru_cache(maxsize=4096)
def _family_traits(seed: int, code: str, index: int) -> _Traits:
    rng = _rng(seed, code, index)
    category = rng.choice(_LEAVES)
    return _Traits(
        category=category,
        nouns=PRODUCT_NOUNS[category],
        model=f"{rng.choice(_MODELS)} {rng.randint(100, 999)}",
        brand=rng.choice(_BRANDS),
    )


def _money(cents: int, percent: int) -> Decimal:
    """``percent`` % of ``cents``, rounded half up to whole cents, as a 2-place Decimal."""
    return Decimal((cents * percent + 50) // 100).scaleb(-2)


def _as_read(price: Decimal) -> Decimal:
    """The Decimal an importer gets back after the price went through a JSON float."""
    return Decimal(repr(float(price)))


def ean13(body: int) -> str:
    """A valid EAN-13 for a 12-digit ``body`` (check digit appended)."""
    digits = f"{body:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


@functools.lru_cache(maxsize=4096)
def _render_png(seed: int, image_id: str) -> bytes:
    """16x16 PNG: background colour from the id, a centred square in the inverse colour."""
    from PIL import Image  # deferred: only image requests need Pillow

    digest = hashlib.sha1(f"{seed}:{image_id}".encode()).digest()
    colour = tuple(digest[:3])
    image = Image.new("RGB", (16, 16), colour)
    image.paste(tuple(255 - c for c in colour), (4, 4, 12, 12))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_categories_csv(images: Mapping[str, str] | None = None) -> bytes:
    """CAT.csv bytes: UTF-8 with BOM, ';'-separated, header ``KEY;DE;EN;NL;ICON;IMAGE;FR``.

    ``images`` optionally maps a category KEY to the value of its IMAGE column.
    """
    images = images or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CATEGORY_HEADER)
    for key, names in CATEGORIES:
        writer.writerow(
            [key, names["de"], names["en"], names["nl"], "", images.get(key, ""), names["fr"]]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
