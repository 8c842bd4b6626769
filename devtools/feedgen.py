"""Deterministic synthetic Promidata feed, rendered lazily.

A :class:`SyntheticFeed` holds only a few integers per supplier plus the families that tests
have mutated; every file (Import.txt, CAT.csv, family JSON, image PNG) is rendered on request
from ``(seed, supplier, family index, variant slot)``. That keeps a 40,000-family feed cheap to
serve, and the same :class:`FeedSpec` always yields the same bytes.

The family JSON follows the real key tree described in /work/shared/promidata-format.md
(root = summary, variants in ``ChildProducts``, prices under ``ProductPriceCountryBased``).
Pure Python: no Django imports, so it can be used from benchmarks and the CLI server alike.

By default a family is small (one price region, no print data). :class:`FeedSpec` switches on
the rest of a real file, each option on its own: ``regions`` (several price regions and
currencies, e.g. :data:`NINE_LOCALE_REGIONS`), ``print_positions``/``print_options``/
``print_costs`` with ``print_shape`` (print data inline or referenced, see
:mod:`.feedgen_print`), ``rich`` (videos, documents, carton data, unknown keys...; see
:mod:`.feedgen_rich`) and ``family_kb``/``heavy_every``/``heavy_kb`` (families padded out to a
realistic size). :data:`WHOLE_FEED` switches them all on. :meth:`SyntheticFeed.expected`
states, field by field, what a correct importer stores.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import quote

from . import feedgen_rich as rich
from .feedgen_common import RegionPrices, prices_expected, prices_json, variant_regions
from .feedgen_common import Template as _Template
from .feedgen_common import dumps as _dumps
from .feedgen_common import json_object as _json_object
from .feedgen_common import jstr as _jstr
from .feedgen_common import rng as _rng
from .feedgen_layout import Layout, growth, paragraphs
from .feedgen_print import (
    PRINT_SHAPES,
    FamilyPrint,
    PrintLayout,
    VariantPrint,
    build_family_print,
    variant_print,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_HEADER",
    "NINE_LOCALE_REGIONS",
    "PRODUCT_NOUNS",
    "WHOLE_FEED",
    "FeedSpec",
    "SyntheticFeed",
    "ean13",
    "render_categories_csv",
]

#: The nine locale-keyed price regions of one real profile (section 2.6a), with their Valuta.
NINE_LOCALE_REGIONS: tuple[tuple[str, str], ...] = (
    ("nl-NL", "EURO"),
    ("nl-BE", "EURO"),
    ("de-DE", "EURO"),
    ("de-CH", "CHF"),
    ("fr-BE", "EURO"),
    ("fr-FR", "EURO"),
    ("es-ES", "EURO"),
    ("en-GB", "GBP"),
    ("sv-SE", "SEK"),
)

#: FeedSpec keyword arguments for "the whole feed": nine regions, three print positions of
#: four options with two costs each, both print shapes, every rich field. Families come out at
#: 180-340 KB (inline ones are bigger); every 100th family is padded to a 3 MB one.
#: ``FeedSpec(suppliers=40, families_per_supplier=1000, **WHOLE_FEED)``.
WHOLE_FEED: dict = {
    "regions": NINE_LOCALE_REGIONS,
    "print_positions": 3,
    "print_options": 4,
    "print_costs": 2,
    "print_shape": "mixed",
    "rich": True,
    "heavy_every": 100,
    "heavy_kb": 3072,
}

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
_POSITION_ID = re.compile(r"^(?P<code>[A-Z]\d+)-(?P<index>\d{5,})-P(?P<k>\d{2,})-(?P<m>\d+)$")
_DOCUMENT_ID = re.compile(r"^(?P<code>[A-Z]\d+)-(?P<index>\d{5,})-D0$")
# The base URL probe families are rendered with when family sizes are calibrated.
_PROBE_BASE = "http://127.0.0.1:65535/Profiles/Live/00000000-feed-4000-8000-5e1f5e1f5e1f"


@dataclass
class FeedSpec:
    """Shape of a synthetic feed. Equal specs render byte-identical feeds.

    Every option below ``region`` is off by default; the default spec renders the same bytes
    as before they existed.

    * ``regions``: (region key, Valuta) pairs, one ``ProductPriceCountryBased`` block each,
      e.g. :data:`NINE_LOCALE_REGIONS`. None means ``((region, "EURO"),)``; when given,
      ``region`` becomes its first key. With more than one region the blocks vary MOQ,
      quantity step and VAT, and a few children carry an OnRequest tier, a tier priced 0
      (OnRequest false) and tiers written in descending order.
    * ``print_positions`` per child, ``print_options`` per position, ``print_costs`` per option;
      ``print_shape``: "inline", "referenced" or "mixed" (odd family index inline, even
      referenced).
    * ``rich``: the other fields real files carry (see :mod:`.feedgen_rich`).
    * ``family_kb``: pad families out to about this size with real data (print options and
      positions, gallery images, longer descriptions); print data is added even when
      ``print_positions`` is 0. ``heavy_every``: every Nth family (index % N == 0) is padded to
      ``heavy_kb`` instead.
    """

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
    regions: tuple[tuple[str, str], ...] | None = None
    print_positions: int = 0
    print_options: int = 0
    print_costs: int = 0
    print_shape: str = "inline"
    rich: bool = False
    family_kb: int | None = None
    heavy_every: int | None = None
    heavy_kb: int = 3072

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
        if self.regions is None:
            self.regions = ((self.region, "EURO"),)
        self.regions = tuple((str(key), str(valuta)) for key, valuta in self.regions)
        keys = [key for key, _ in self.regions]
        if not keys or len(set(keys)) != len(keys):
            raise ValueError("regions must hold at least one region and no key twice")
        if self.region not in ("EURO", keys[0]):
            raise ValueError("region and regions disagree: region must be regions[0][0]")
        self.region = keys[0]
        if min(self.print_positions, self.print_options, self.print_costs) < 0:
            raise ValueError("print_positions, print_options and print_costs must be >= 0")
        if self.print_shape not in PRINT_SHAPES:
            raise ValueError(f"print_shape must be one of {PRINT_SHAPES}")
        if self.family_kb is not None and self.family_kb < 1:
            raise ValueError("family_kb must be >= 1 (or None)")
        if self.heavy_every is not None and (self.heavy_every < 1 or self.heavy_kb < 1):
            raise ValueError("heavy_every and heavy_kb must be >= 1")

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1


@dataclass(frozen=True)
class _FamilyState:
    """Mutable-by-replacement state of one family: which variant slots exist, price overrides.

    Slots are stable numbers (1, 2, ...), so removing a variant never renames the others.
    Print options are named by their place in the family, (position, option).
    """

    slots: tuple[int, ...]
    first_price: tuple[tuple[int, Decimal], ...] = ()
    option_prices: tuple[tuple[tuple[int, int], Decimal], ...] = ()
    removed_options: frozenset[tuple[int, int, int]] = frozenset()  # (slot, position, option)

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
    when not given one explicitly; :class:`~devtools.feedserver.FeedServer`
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
        # (shape, heavy) -> calibrated layout (family_kb / heavy_kb); computed on first use.
        self._layouts: dict[tuple[str, bool], Layout] = {}
        self._base_layout = Layout(
            PrintLayout(spec.print_positions, spec.print_options, spec.print_costs, 1),
            spec.images_per_variant,
        )

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
        """A real 16x16 PNG for an image id this feed can reference, else None.

        Ids: gallery images (``A100-00001-01-0`` or pool ``P000003``), print-position images
        (``A100-00001-P00-0``) and, with ``rich``, a technical drawing (``A100-00001-D0``).
        """
        if not self._image_id_known(image_id):
            return None
        return _render_png(self.spec.seed, image_id)

    def _image_id_known(self, image_id: str) -> bool:
        spec = self.spec
        match = _POSITION_ID.match(image_id)
        if match:
            if not self._known_family_id(match):
                return False
            layout = self._layout(match["code"], int(match["index"])).print
            return int(match["k"]) < layout.positions and int(match["m"]) < layout.images
        match = _DOCUMENT_ID.match(image_id)
        if match:
            return spec.rich and self._known_family_id(match)
        if spec.image_pool is not None:
            match = _POOL_ID.match(image_id)
            return bool(match) and int(match["n"]) < spec.image_pool
        match = _DISTINCT_ID.match(image_id)
        if not match or not self._known_family_id(match) or int(match["slot"]) < 1:
            return False
        return int(match["k"]) < self._layout(match["code"], int(match["index"])).images

    def _known_family_id(self, match: re.Match) -> bool:
        return match["code"] in self._suppliers and int(match["index"]) >= 1

    # ------------------------------------------------------------------ mutations

    def set_price(self, family_sku: str, variant_index: int, price: Decimal) -> None:
        """Set the first selling tier (Quantity 1) of the variant at ``variant_index``.

        ``variant_index`` is the 0-based position in the family's current ChildProducts. Only
        the first region of the spec changes.
        """
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            slot = state.slots[variant_index]
            prices = dict(state.first_price)
            prices[slot] = Decimal(price)
            self._update(code, index, replace(state, first_price=tuple(sorted(prices.items()))))

    def set_option_price(
        self,
        family_sku: str,
        variant_index: int,
        position_index: int,
        option_index: int,
        price: Decimal,
    ) -> None:
        """Set the first selling tier of a print option in the spec's first region.

        The option is picked as it appears in ``expected()`` (0-based: the variant's "print"
        list, then that position's "options"); options are shared by the children of a family,
        so the price changes in every child that has the option (and, in the referenced shape,
        its hash changes).
        """
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            key = self._option_key(code, index, state, variant_index, position_index, option_index)
            prices = dict(state.option_prices)
            prices[key] = Decimal(price)
            self._update(code, index, replace(state, option_prices=tuple(sorted(prices.items()))))

    def remove_option(
        self, family_sku: str, variant_index: int, position_index: int, option_index: int
    ) -> None:
        """Drop one print option from one child (indices as for :meth:`set_option_price`).

        Other children keep the option. A position whose last option goes stays, with an
        empty option list.
        """
        code, index = self._locate(family_sku)
        with self._lock:
            state = self._state(code, index)
            slot = state.slots[variant_index]
            key = self._option_key(code, index, state, variant_index, position_index, option_index)
            removed = state.removed_options | {(slot, *key)}
            self._update(code, index, replace(state, removed_options=removed))

    def _option_key(
        self, code: str, index: int, state: _FamilyState, variant: int, position: int, option: int
    ) -> tuple[int, int]:
        if variant < 0 or position < 0 or option < 0:
            raise IndexError("indices must be >= 0")
        printed = self._model(code, index, "", state=state).variants[variant].print
        if printed is None:
            raise ValueError(f"{_family_sku(code, index)} carries no print data")
        _, options = printed.positions[position]
        return options[option].key

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
            removed = frozenset(r for r in state.removed_options if r[0] != slot)
            self._update(
                code,
                index,
                replace(state, slots=slots, first_price=prices, removed_options=removed),
            )

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

        ``{code: {family_sku: {"variants": {child_sku: {...}}, "category": key,
        "names": {lang: name}}}}``. Per variant:

        * ``"sell"``, ``"buy"``: ``[(qty, Decimal)]`` of the spec's first region, in file
          order; ``"images"``: URLs, the main image first, then the gallery in order;
        * ``"regions"``: ``{region: {"currency", "sell", "buy", "minimum_order_quantity",
          "quantity_increment", "vat_percentage", "vat_setting_id"}}`` for every region, tiers
          sorted by quantity, an OnRequest tier priced ``Decimal("0")``, Valuta "EURO" as "EUR";
        * ``"print"``: positions in file order without repeated PositionCodes (first kept) and
          without references to unknown hashes, each ``{"code", "supplier_code", "names",
          "descriptions", "max_print_area", "images", "options": [...]}`` (see
          :mod:`.feedgen_print`); ``[]`` without print data;
        * with ``rich``: ``"videos"``, ``"release_date"``, ``"country_of_origin"``,
          ``"carton"``, ``"hex_color"``, ``"filters"``, ``"extra_keys"``.

        ``names``/``descriptions`` maps leave out languages whose text is null. Prices are the
        values written to the JSON (floats) read back as Decimal. Image URLs need the feed
        base: ``base_url`` or, if omitted, ``self.base_url``; ValueError if neither is set.
        """
        base_url = base_url if base_url is not None else self.base_url
        if base_url is None:
            raise ValueError("expected() needs base_url (or a FeedServer that has started)")
        result: dict[str, dict] = {}
        for code in self._suppliers:
            families = result.setdefault(code, {})
            for index in self._indices(code):
                family = self._model(code, index, base_url)
                families[family.sku] = family.expected(self.spec)
        return result

    # ------------------------------------------------------------------ layouts

    def _shape(self, index: int) -> str:
        shape = self.spec.print_shape
        if shape == "mixed":
            return "inline" if index % 2 else "referenced"
        return shape

    def _heavy(self, index: int) -> bool:
        every = self.spec.heavy_every
        return every is not None and index % every == 0

    def _layout(self, code: str, index: int) -> Layout:
        heavy = self._heavy(index)
        if self.spec.family_kb is None and not heavy:
            return self._base_layout
        shape = self._shape(index)
        with self._lock:
            layout = self._layouts.get((shape, heavy))
            if layout is None:
                target = self.spec.heavy_kb if heavy else self.spec.family_kb
                layout = self._layouts[(shape, heavy)] = self._calibrate(shape, target * 1024)
        return layout

    def _calibrate(self, shape: str, target: int) -> Layout:
        """The growth step whose probe family comes closest to ``target`` bytes."""
        candidates = list(growth(self._base_layout, self.spec.image_pool))
        probe_index = 1 if shape == "inline" else 2  # the right parity for "mixed"
        code = next(iter(self._suppliers), "A100")

        def size(layout: Layout) -> int:
            model = self._model(code, probe_index, _PROBE_BASE, layout=layout, shape=shape)
            return len(model.render(self.spec))

        # Gallop (probes of a huge layout are slow), then bisect: the first candidate at least
        # as big as the target, or the one before it if that is closer.
        low, high, step = 0, 0, 1
        while size(candidates[high]) < target:
            if high == len(candidates) - 1:
                return candidates[high]
            low, high, step = high + 1, min(high + step, len(candidates) - 1), step * 2
        while low < high:
            middle = (low + high) // 2
            if size(candidates[middle]) >= target:
                high = middle
            else:
                low = middle + 1
        if low and target - size(candidates[low - 1]) < size(candidates[low]) - target:
            return candidates[low - 1]
        return candidates[low]

    # ------------------------------------------------------------------ rendering

    def _render(self, code: str, index: int, base_url: str) -> bytes:
        return self._model(code, index, base_url).render(self.spec)

    def _model(
        self,
        code: str,
        index: int,
        base_url: str,
        *,
        state: _FamilyState | None = None,
        layout: Layout | None = None,
        shape: str | None = None,
    ) -> _Family:
        spec = self.spec
        if state is None:
            with self._lock:
                state = self._state(code, index)
        if layout is None:
            layout = self._layout(code, index)
        sku = _family_sku(code, index)
        traits = _family_traits(spec.seed, code, index)
        family_print = None
        if layout.print.positions:
            family_print = build_family_print(
                seed=spec.seed,
                code=code,
                index=index,
                family_sku=sku,
                shape=shape or self._shape(index),
                layout=layout.print,
                regions=spec.regions,
                languages=spec.languages,
                base_url=base_url,
                option_prices=dict(state.option_prices),
            )
        family_rich = None
        if spec.rich:
            family_rich = rich.rich_family(
                spec.seed, code, index, sku, traits.category, _LEAVES, base_url
            )
        variants = tuple(
            self._variant(
                code,
                index,
                sku,
                slot,
                state,
                base_url,
                layout,
                family_print,
                family_rich,
                first=n == 0,
            )
            for n, slot in enumerate(state.slots)
        )
        return _Family(
            code=code,
            sku=sku,
            index=index,
            traits=traits,
            variants=variants,
            layout=layout,
            print=family_print,
            rich=family_rich,
        )

    def _variant(
        self,
        code: str,
        index: int,
        family_sku: str,
        slot: int,
        state: _FamilyState,
        base: str,
        layout: Layout,
        family_print: FamilyPrint | None,
        family_rich: rich.RichFamily | None,
        *,
        first: bool,
    ) -> _Variant:
        """One variant, drawn from its own PRNG so siblings never influence each other."""
        spec = self.spec
        rng = _rng(spec.seed, code, index, slot)
        colour, colour_names = rng.choice(_COLOURS)
        size = rng.choice(_SIZES)
        base_cents = rng.randint(50, 5000)
        images = tuple(
            f"{base}/Images/{image_id}.png"
            for image_id in self._image_ids(rng, code, index, slot, layout.images)
        )
        sku = self._child_sku(family_sku, slot)
        regions = variant_regions(
            spec.regions,
            (spec.seed, code, index, slot, "regions"),
            index,
            slot,
            base_cents,
            state.price_for(slot),
            _SELL_PERCENT,
            _BUY_PERCENT,
        )
        printed = None
        if family_print is not None:
            printed = variant_print(
                family_print,
                seed=spec.seed,
                family_sku=family_sku,
                index=index,
                slot=slot,
                first=first,
                removed=state.removed_options,
            )
        return _Variant(
            sku=sku,
            supplier_sku=sku.removeprefix(f"{code}-"),
            ean=ean13(rng.randrange(10**11, 10**12)),
            colour=colour,
            colour_names=colour_names,
            size=size,
            weight=rng.randint(20, 900),
            dimensions=(rng.randint(10, 400), rng.randint(10, 400), rng.randint(5, 300)),
            regions=regions,
            images=images,
            print=printed,
            rich=rich.rich_variant(family_rich, colour) if family_rich is not None else None,
        )

    def _image_ids(self, rng, code: str, index: int, slot: int, count: int) -> list[str]:
        if self.spec.image_pool is None:
            return [f"{code}-{index:05d}-{slot:02d}-{k}" for k in range(count)]
        return [f"P{n:06d}" for n in rng.sample(range(self.spec.image_pool), count)]

    def _child_sku(self, family_sku: str, slot: int) -> str:
        # Pattern A: single-variant families reuse the root Sku for their only child.
        if self.spec.variants_per_family == 1 and slot == 1:
            return family_sku
        return f"{family_sku}-{slot:02d}"


# ---------------------------------------------------------------------- family model


# Keys that are null/constant in every synthetic family, in real-file order.
_NULL_ROOT_KEYS = dict.fromkeys(
    (
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
        "ImprintReferences": "@@references@@",
        **_NULL_ROOT_KEYS,
        "UnstructuredInformation": "@@unstructured@@",
        "Errors": {},
        "Warnings": {},
        "@@+extra@@": None,
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
        "ShortDescription": "@@short@@",
        "MetaName": "@@meta_name@@",
        "MetaDescription": "@@meta_description@@",
        "MetaKeywords": "@@meta_keywords@@",
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
        "VideoUrl": "@@video@@",
        "ProductDetails": "@@details@@",
        "NonLanguageDependedProductDetails": {
            "Category": "@@category@@",
            "SecondaryCategories": "@@secondary@@",
            "Brand": "@@brand@@",
            "SearchColor": "@@colour@@",
            "HexColor": "@@hex@@",
            "Weight": "@@weight@@",
            "DimensionsLength": "@@length@@",
            "DimensionsWidth": "@@width@@",
            "DimensionsHeight": "@@height@@",
            "CountryOfOrigin": "@@country@@",
            "CustomsTariffNumber": "@@tariff@@",
            "DimensionsDiameter": 0,
            "DimensionsDepth": 0,
            "Fragile": "@@fragile@@",
            "USBItem": "@@usb@@",
            "LogoToolImageDefined": None,
            "ProductFiltersByGroup": "@@filters@@",
            "@@+carton@@": None,
        },
        "ProductPriceCountryBased": "@@prices@@",
        "ImprintPositions": "@@positions@@",
        "UnstructuredInformation": "@@unstructured@@",
        "Errors": {},
        "Warnings": {},
        "@@+extra@@": None,
    }
)
_CHILD_DETAILS = _Template(
    {
        "Name": "@@name@@",
        "Description": "@@description@@",
        "ShortDescription": "@@short@@",
        "@@+meta@@": None,
        "Image": "@@image@@",
        "MediaGalleryImages": "@@gallery@@",
        "InformationFiles": "@@files@@",
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
        "UnstructuredInformation": {"SupplierSearchColor": "@@colour@@", "@@+unstructured@@": None},
        "WebShopInformation": "@@web_shop@@",
        "ImportantInformation": {
            "ImprintRequired": False,
            "TronLogoEnabled": False,
            "TronLogoReference": None,
        },
    }
)
# What the optional holes hold when an option is off: exactly the constants of the past.
_RELEASE = _dumps({"ReleaseDate": "01.05.2025"})
_PLAIN_ROOT = {"references": "null", "unstructured": _RELEASE, "extra": ""}
_PLAIN_ROOT_DETAILS = dict.fromkeys(
    ("short", "meta_name", "meta_description", "meta_keywords"), "null"
)
_PLAIN_CHILD = {
    "video": "null",
    "secondary": "null",
    "hex": "null",
    "country": _jstr("CN"),
    "tariff": _jstr("42022290"),
    "fragile": "false",
    "usb": "false",
    "filters": _dumps({"Eco": "False"}),
    "carton": "",
    "unstructured": _RELEASE,
    "extra": "",
}
_PLAIN_CHILD_DETAILS = {"short": "null", "meta": "", "files": "null", "unstructured": ""}


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
    regions: tuple[RegionPrices, ...]  # the first one is the spec's first region
    images: tuple[str, ...]
    print: VariantPrint | None = None
    rich: rich.RichVariant | None = None

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
    index: int
    traits: _Traits
    variants: tuple[_Variant, ...]
    layout: Layout
    print: FamilyPrint | None = None
    rich: rich.RichFamily | None = None

    def name(self, lang: str) -> str:
        noun = self.traits.nouns.get(lang) or f"{self.traits.nouns['en']} [{lang}]"
        return f"{noun} {self.traits.model}"

    def expected(self, spec: FeedSpec) -> dict:
        variants = {}
        for v in self.variants:
            first = v.regions[0]
            entry = {
                "sell": first.sell(),
                "buy": first.buy(),
                "images": list(v.images),
                "regions": prices_expected(v.regions),
                "print": v.print.expected() if v.print is not None else [],
            }
            if self.rich is not None and v.rich is not None:
                entry.update(rich.variant_expected(self.rich, v.rich))
            variants[v.sku] = entry
        return {
            "variants": variants,
            "category": self.traits.category,
            "names": {lang: self.name(lang) for lang in spec.languages},
        }

    def render(self, spec: FeedSpec) -> bytes:
        """The family JSON in the real format: the root is a summary, data sits on children."""
        first = self.variants[0]
        # Root image = first child's main image, as in the real sample.
        root_image = first.image_json(0) if first.images else "null"
        category = _jstr(self.traits.category)
        texts = [self._language_text(lang) for lang in spec.languages]
        details = []
        for text in texts:
            extra = _PLAIN_ROOT_DETAILS
            if self.rich is not None:
                extra = rich.language_fragments(
                    self.rich, None, text.lang, text.name, self._keywords(text.lang)
                )
            details.append(
                (
                    text.key,
                    _ROOT_DETAILS.render(
                        name=_jstr(text.name),
                        description=text.description,
                        image=root_image,
                        category=category,
                        web_shop=extra.get("web_shop", text.web_shop),
                        short=extra["short"],
                        meta_name=extra["meta_name"],
                        meta_description=extra["meta_description"],
                        meta_keywords=extra["meta_keywords"],
                    ),
                )
            )
        if self.print is not None:
            positions, references = self.print.render([v.print for v in self.variants])
        else:
            positions, references = ["null"] * len(self.variants), "null"
        root = dict(_PLAIN_ROOT, references=references)
        skus = [v.sku for v in self.variants]
        default_products = _dumps({spec.region: first.sku})
        if self.rich is not None:
            fragments = rich.root_fragments(self.rich)
            root.update(unstructured=fragments["root_unstructured"], extra=fragments["extra"])
            default_products = rich.default_products(spec.regions, skus)
        children = ",".join(
            self._child(v, texts, category, json_positions)
            for v, json_positions in zip(self.variants, positions, strict=True)
        )
        document = _ROOT.render(
            sku=_jstr(self.sku),
            supplier_sku=_jstr(self.sku.removeprefix(f"{self.code}-")),
            code=_jstr(self.code),
            default_products=default_products,
            details=_json_object(details),
            category=category,
            brand=_jstr(self.traits.brand),
            prices=prices_json(self._summary(spec)),
            children=f"[{children}]",
            **root,
        )
        return document.encode("utf-8")

    def _summary(self, spec: FeedSpec) -> list[RegionPrices]:
        """Root prices: per region one tier, the lowest price at the largest quantity."""
        blocks = []
        for n, (key, valuta) in enumerate(spec.regions):
            tops = [_top_tier(v.regions[n]) for v in self.variants]
            quantity, price = tops[0][0], min(price for _, price in tops)
            blocks.append(RegionPrices.of(key, valuta, [(quantity, price)]))
        return blocks

    def _keywords(self, lang: str) -> str:
        parts = (
            self.traits.nouns.get(lang) or self.traits.nouns["en"],
            self.traits.model,
            self.traits.brand,
        )
        return ",".join(p.lower() for p in parts if p)

    def _language_text(self, lang: str) -> _LanguageText:
        constants = _language_constants(lang)
        name = self.name(lang)
        description = f"{name}.<br />{_MATERIAL_LABEL.get(lang, 'Material')}: Polyester"
        if self.layout.paragraphs:
            description += paragraphs(lang, self.layout.paragraphs)
        return _LanguageText(lang, name, _jstr(description), *constants)

    def _child(self, v: _Variant, texts: list[_LanguageText], category: str, positions: str) -> str:
        main = v.image_json(0) if v.images else "null"
        gallery = [v.image_json(k) for k in range(1, len(v.images))]
        gallery_json = "[" + ",".join(gallery) + "]" if gallery else "null"
        size = _jstr(v.size)
        details = []
        for text in texts:
            colour_name = v.colour_names.get(text.lang, v.colour_names["en"])
            colour = _jstr(colour_name)
            name = f"{text.name} {colour_name} {v.size}"
            extra = _PLAIN_CHILD_DETAILS
            web_shop = text.web_shop
            if self.rich is not None:
                extra = rich.language_fragments(
                    self.rich, v.rich, text.lang, name, self._keywords(text.lang)
                )
                web_shop = extra["web_shop"]
            block = _CHILD_DETAILS.render(
                name=_jstr(name),
                description=text.description,
                image=main,
                gallery=gallery_json,
                colour_label=text.colour_label,
                colour=colour,
                size_label=text.size_label,
                size=size,
                web_shop=web_shop,
                short=extra["short"],
                meta=extra["meta"],
                files=extra["files"],
                unstructured=extra["unstructured"],
            )
            details.append((text.key, block))
        length, width, height = v.dimensions
        holes = _PLAIN_CHILD
        if self.rich is not None:
            holes = rich.child_fragments(self.rich, v.rich)
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
            prices=prices_json(v.regions),
            positions=positions,
            **holes,
        )


def _top_tier(block: RegionPrices) -> tuple[int, float]:
    """(Quantity, price) of the largest-quantity selling tier with a real price."""
    priced = [
        (quantity, price)
        for (quantity, on_request), price in zip(block.sell_shape, block.sell_prices, strict=True)
        if not on_request and price > 0
    ]
    return max(priced)


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


# ---------------------------------------------------------------------- helpers


def _family_sku(code: str, index: int) -> str:
    return f"{code}-F{index:05d}"


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
