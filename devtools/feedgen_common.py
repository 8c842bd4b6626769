"""Building blocks shared by the synthetic feed modules: JSON templates, PRNG, money, prices.

Pure Python, no Django. Everything here is deterministic: the same inputs give the same
bytes. See :mod:`devtools.feedgen` for the feed itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections.abc import Iterable
from decimal import Decimal
from json.encoder import encode_basestring
from typing import NamedTuple

# One shared encoder: json.dumps() with options builds a new encoder per call, which is most
# of the cost when a 40,000-family Import.txt has to hash every family.
dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# JSON text of a str (with quotes); the C helper behind dumps, without its per-call overhead.
jstr = encode_basestring


class Template:
    """Compact JSON text with holes, for fast rendering of 40,000 families.

    Built from a skeleton dict in which a string ``"@@name@@"`` marks a hole; ``render`` fills
    each hole with ready-made JSON text. The output is byte-identical to ``dumps`` of the
    filled-in dict, but the constant parts are encoded once instead of on every render.

    A key ``"@@+name@@"`` (value None, never the first key of its object) marks a *splice*:
    the member disappears and ``render`` inserts raw text there instead: either "" (nothing)
    or members of the form ``,"Key":value,...`` (note the leading comma). Optional keys cost
    nothing when they are absent.
    """

    _HOLE = re.compile(r'"@@(\w+)@@"')
    _SPLICE = re.compile(r',"@@\+(\w+)@@":null')

    def __init__(self, skeleton: dict):
        text = self._SPLICE.sub(r'"@@\1@@"', dumps(skeleton).replace("%", "%%"))
        parts = self._HOLE.split(text)
        self._holes = tuple(parts[1::2])
        # A printf-style format is filled in C, much faster than joining pieces in Python.
        self._format = "%s".join(parts[0::2])

    def render(self, **json_values: str) -> str:
        return self._format % tuple([json_values[hole] for hole in self._holes])


def json_object(members: Iterable[tuple[str, str]]) -> str:
    """A JSON object from (key JSON text, value JSON text) pairs."""
    return "{" + ",".join(f"{k}:{v}" for k, v in members) + "}"


def rng(*parts: object) -> random.Random:
    """A PRNG seeded from ``parts``; independent of PYTHONHASHSEED and process."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def money(cents: int, percent: int) -> Decimal:
    """``percent`` % of ``cents``, rounded half up to whole cents, as a 2-place Decimal."""
    return Decimal((cents * percent + 50) // 100).scaleb(-2)


def as_read(price: Decimal) -> Decimal:
    """The Decimal an importer gets back after the price went through a JSON float."""
    return Decimal(repr(float(price)))


def number_json(value: Decimal | int | None) -> str:
    """A number as the feed writes it: integral values as JSON ints, others as floats."""
    if value is None:
        return "null"
    if value == int(value):
        return str(int(value))
    return repr(float(value))


def number_read(value: Decimal | int | None) -> Decimal | None:
    """What an importer reads back from :func:`number_json` (JSON float -> Decimal(repr))."""
    if value is None:
        return None
    if value == int(value):
        return Decimal(int(value))
    return Decimal(repr(float(value)))


# ---------------------------------------------------------------------- regions and prices

#: Valuta as the feed spells it -> ISO 4217. Only "EURO" differs; others pass through.
VALUTA_TO_CURRENCY = {"EURO": "EUR"}
#: Rough price factor per Valuta against EUR (x / 100), so CHF/GBP/SEK prices look plausible.
FX_PERCENT = {"EURO": 100, "EUR": 100, "CHF": 96, "GBP": 86, "SEK": 1150}
#: VAT rate per locale/country code, for region blocks that send gross prices.
VAT_BY_COUNTRY = {
    "NL": Decimal("21"),
    "BE": Decimal("21"),
    "DE": Decimal("19"),
    "AT": Decimal("20"),
    "CH": Decimal("8.1"),
    "FR": Decimal("20"),
    "ES": Decimal("21"),
    "GB": Decimal("20"),
    "SE": Decimal("25"),
    "IT": Decimal("22"),
    "GR": Decimal("24"),
}
#: Country codes of the non-locale region keys seen in real profiles.
_REGION_COUNTRIES = {
    "EURO": ("DE", "NL", "BE", "FR"),
    "BENELUX": ("NL", "BE", "LU"),
    "DEU": ("DE",),
    "NLD": ("NL",),
}


def currency(valuta: str) -> str:
    return VALUTA_TO_CURRENCY.get(valuta, valuta)


def region_countries(region: str) -> tuple[str, ...]:
    """ISO alpha-2 countries a region key stands for: "de-CH" -> ("CH",), "EURO" -> 4."""
    if len(region) == 5 and region[2] == "-":
        return (region[3:].upper(),)
    return _REGION_COUNTRIES.get(region.upper(), (region[:2].upper(),))


class RegionPrices(NamedTuple):
    """One region block of a ``ProductPriceCountryBased`` object, tiers in file order.

    A tier is split in two: its shape, ``(Quantity, OnRequest)``, and its price, a float (what
    the JSON carries). The JSON of a block comes from a format string cached per shape, filled
    with the prices in C: a 40,000-family feed renders millions of tiers.
    """

    key: str
    valuta: str
    sell_shape: tuple[tuple[int, bool], ...]
    sell_prices: tuple[float, ...]
    buy_shape: tuple[tuple[int, bool], ...] = ()
    buy_prices: tuple[float, ...] = ()
    moq: int | None = 1
    increments: int | None = 1
    vat: Decimal | None = Decimal(0)
    vat_setting: int | None = 1

    @classmethod
    def of(cls, key: str, valuta: str, sell, buy=(), *settings) -> RegionPrices:
        """From tiers given as ``(Quantity, price[, OnRequest])`` (price: float or Decimal)."""
        sell_shape, sell_prices = _split(sell)
        buy_shape, buy_prices = _split(buy)
        return cls(key, valuta, sell_shape, sell_prices, buy_shape, buy_prices, *settings)

    def json(self) -> str:
        fmt = _block_format(
            self.valuta,
            self.sell_shape,
            self.buy_shape,
            self.moq,
            self.increments,
            self.vat,
            self.vat_setting,
        )
        return fmt % (self.sell_prices + self.buy_prices)

    def sell(self) -> list[tuple[int, Decimal]]:
        """Selling tiers as an importer stores them, in file order (OnRequest priced 0)."""
        return _read(self.sell_shape, self.sell_prices)

    def buy(self) -> list[tuple[int, Decimal]]:
        return _read(self.buy_shape, self.buy_prices)

    def with_first_price(self, price: Decimal) -> RegionPrices:
        """The same block with its first selling tier priced ``price``."""
        return self._replace(sell_prices=(float(price), *self.sell_prices[1:]))

    def expected(self) -> dict:
        return {
            "currency": currency(self.valuta),
            "sell": sorted(self.sell()),
            "buy": sorted(self.buy()),
            "minimum_order_quantity": self.moq,
            "quantity_increment": self.increments,
            "vat_percentage": number_read(self.vat),
            "vat_setting_id": self.vat_setting,
        }


def _split(tiers) -> tuple[tuple[tuple[int, bool], ...], tuple[float, ...]]:
    shape = tuple((t[0], len(t) > 2 and bool(t[2])) for t in tiers)
    return shape, tuple(float(t[1]) for t in tiers)


def _read(shape, prices) -> list[tuple[int, Decimal]]:
    return [
        (quantity, Decimal("0") if on_request else Decimal(repr(price)))
        for (quantity, on_request), price in zip(shape, prices, strict=True)
    ]


@functools.lru_cache(maxsize=4096)
def _block_format(valuta, sell_shape, buy_shape, moq, increments, vat, vat_setting) -> str:
    valuta_json = jstr(valuta).replace("%", "%%")

    def tiers(shape) -> str:
        return ",".join(
            f'{{"Price":%r,"Quantity":{quantity},'
            f'"OnRequest":{"true" if on_request else "false"},"Valuta":{valuta_json}}}'
            for quantity, on_request in shape
        )

    return (
        f'{{"RecommendedSellingPrice":[{tiers(sell_shape)}],'
        f'"GeneralBuyingPrice":[{tiers(buy_shape)}],'
        f'"MinimumOrderQuantity":{_int_json(moq)},'
        f'"QuantityIncrements":{_int_json(increments)},'
        f'"VatPercentage":{number_json(vat)},'
        f'"VatSettingId":{_int_json(vat_setting)}}}'
    )


def prices_json(blocks: Iterable[RegionPrices]) -> str:
    """The ``ProductPriceCountryBased`` object: ``{region: {tiers..., MOQ, VAT...}}``.

    Prices are written as JSON floats (float repr, exactly what json.dumps writes).
    """
    return "{" + ",".join(f"{jstr(b.key)}:{b.json()}" for b in blocks) + "}"


def prices_expected(blocks: Iterable[RegionPrices]) -> dict:
    return {b.key: b.expected() for b in blocks}


def _int_json(value: int | None) -> str:
    return "null" if value is None else str(value)


def fx_cents(cents: int, valuta: str, percent: int = 100) -> int:
    """``cents`` (EUR) in ``valuta``, times ``percent`` %, rounded to whole units of 1/100."""
    factor = FX_PERCENT.get(valuta, 100)
    return max(1, (cents * factor * percent + 5000) // 10000)


def cent_price(cents: int, percent: int) -> float:
    """:func:`money` as the float the JSON carries (the same double: both round once)."""
    return ((cents * percent + 50) // 100) / 100


@functools.lru_cache(maxsize=256)
def tier_shape(table: tuple[tuple[int, int], ...]) -> tuple[tuple[int, bool], ...]:
    """The shape of a (quantity, percent) table: its quantities, none OnRequest."""
    return tuple((quantity, False) for quantity, _ in table)


def derived_regions(
    regions: tuple[tuple[str, str], ...],
    base_cents: int,
    sell: tuple[tuple[int, int], ...],
    buy: tuple[tuple[int, int], ...],
    draw: random.Random,
    *,
    moq: int = 1,
) -> tuple[RegionPrices, ...]:
    """Price blocks for every region from one EUR base (print options and costs).

    Region 0 uses ``base_cents`` in its own Valuta; each further region moves the base by a
    few percent (drawn from ``draw``) before converting. Every fourth region sends gross
    prices (its country's VAT, VatSettingId 2).
    """
    sell_shape, buy_shape = tier_shape(sell), tier_shape(buy)
    sell_percent = [p for _, p in sell]
    buy_percent = [p for _, p in buy]
    blocks = []
    for position, (key, valuta) in enumerate(regions):
        shift = 100 if position == 0 else 96 + draw.getrandbits(4) % 14
        cents = fx_cents(base_cents, valuta, shift)
        vat, vat_setting = _NET
        if position % 4 == 3:
            vat, vat_setting = _gross(key)
        blocks.append(
            RegionPrices(
                key,
                valuta,
                sell_shape,
                tuple([((cents * p + 50) // 100) / 100 for p in sell_percent]),
                buy_shape,
                tuple([((cents * p + 50) // 100) / 100 for p in buy_percent]),
                moq,
                1,
                vat,
                vat_setting,
            )
        )
    return tuple(blocks)


_NET = (Decimal(0), 1)


@functools.lru_cache(maxsize=256)
def _gross(key: str) -> tuple[Decimal, int]:
    return VAT_BY_COUNTRY.get(region_countries(key)[0], Decimal(20)), 2


# Price breaks of the further regions (a region's breaks depend on family and region only, so
# every child of a family has the same breaks in a region).
_REGION_SELL = (
    ((1, 100), (100, 90), (500, 80)),
    ((1, 100), (250, 88), (1000, 80), (2500, 74)),
    ((1, 100), (50, 95), (100, 90), (500, 84), (1000, 79)),
)
_REGION_BUY = (((1, 60), (250, 50)), ((1, 62), (500, 52), (2500, 47)), ())
# (MinimumOrderQuantity, QuantityIncrements, VatPercentage, VatSettingId) of further region
# blocks; "rate" = the country's VAT (a block with gross prices).
_REGION_PROFILES: tuple[tuple, ...] = (
    (1, 1, 0, 1),
    (50, 50, 0, 1),
    (1, 1, "rate", 2),
    (None, None, None, None),
    (100, 25, 0, 3),
    (1, 1, 0, 1),
)


def variant_regions(
    regions: tuple[tuple[str, str], ...],
    draw_key: tuple,
    index: int,
    slot: int,
    base_cents: int,
    first_price: Decimal | None,
    sell_table: tuple[tuple[int, int], ...],
    buy_table: tuple[tuple[int, int], ...],
) -> tuple[RegionPrices, ...]:
    """A child's price blocks, one per region; ``draw_key`` seeds the regional shifts.

    The first region is the single block of a default feed (``sell_table``/``buy_table`` of
    the variant's base, MOQ 1; ``first_price`` overrides its first tier). Further regions
    shift the base by a few percent, convert it to their Valuta and use their own breaks and
    block settings. The traps go into slot 1 only: an OnRequest tier (index % 3 == 2; first
    and last region), a Price 0 tier with OnRequest false (index % 4 == 3; second region) and
    descending tiers (index % 5 == 4; third region).
    """
    first_key, first_valuta = regions[0]
    cents = fx_cents(base_cents, first_valuta)
    sell = [(qty, cent_price(cents, pct), False) for qty, pct in sell_table]
    if first_price is not None:
        sell[0] = (sell[0][0], first_price, False)
    buy = [(qty, cent_price(cents, pct), False) for qty, pct in buy_table]
    if len(regions) == 1:
        return (RegionPrices.of(first_key, first_valuta, sell, buy),)
    draw = rng(*draw_key)
    trap = slot == 1
    last = len(regions) - 1
    blocks = []
    for n, (key, valuta) in enumerate(regions):
        profile: tuple = (1, 1, 0, 1)
        if n:
            cents = fx_cents(base_cents, valuta, 100 + draw.randint(-4, 9))
            breaks = (index + n) % len(_REGION_SELL)
            sell = [(q, cent_price(cents, p), False) for q, p in _REGION_SELL[breaks]]
            buy = [(q, cent_price(cents, p), False) for q, p in _REGION_BUY[breaks]]
            profile = _REGION_PROFILES[(index + n) % len(_REGION_PROFILES)]
        if trap and index % 3 == 2 and n in (0, last):
            sell.append((10000, 0.0, True))
        if trap and index % 4 == 3 and n == 1:
            sell.append((5000, 0.0, False))
        if trap and index % 5 == 4 and n == min(2, last):
            sell.reverse()
            buy.reverse()
        moq, increments, vat, vat_setting = profile
        if vat == "rate":
            vat = VAT_BY_COUNTRY.get(region_countries(key)[0], Decimal(20))
        vat = None if vat is None else Decimal(vat)
        blocks.append(RegionPrices.of(key, valuta, sell, buy, moq, increments, vat, vat_setting))
    return tuple(blocks)


def short_hash(*parts: object, size: int = 16) -> str:
    """Lower-case hex digest (``2 * size`` characters) of ``parts``."""
    data = ":".join(map(str, parts)).encode()
    return hashlib.blake2b(data, digest_size=size).hexdigest()
