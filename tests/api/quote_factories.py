"""Rows for quote tests, built with the ORM: one variant priced in three regions, with one
print option and its two costs. Reused by the service, admin and HTTP endpoint tests.

``make_quotable_variant()`` makes (selling tiers unless marked buy; "req" = on request):

    Supplier A23, product A23-1234, variant A23-1234-01 (preferred region EURO)
      EURO (EUR)  100+ 2.50   500+ 1.90   1000+ req     buy: 1+ 1.00, 100+ 0.90
      CHF  (CHF)  100+ 2.70   500+ 2.30
      SEK  (SEK)  100+ 28.00  500+ 25.00
      NLD  (EUR)  buy only: 1+ 0.80 (no selling prices: not a quotable region)
    Position FRONT, option PRINT-SCREEN-1 (per piece)
      EURO 100+ 0.445  500+ 0.375   buy: 1+ 0.10;   CHF 100+ 0.50;   SEK 100+ 5.00
      cost SETUP-2C  Unique x 2 (two colours), requirement {"Operator": "Always", "Amount": 0}
        EURO 1+ 35.00;   CHF 1+ 40.00;   SEK 1+ 400.00
      cost HANDLING  Multiplied x 1 (per piece)
        EURO 1+ 0.045  500+ 0.035  1000+ req;   CHF 1+ 0.05;   no SEK prices
"""

from __future__ import annotations

from decimal import Decimal

from catalog.models import (
    PriceTier,
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPosition,
    Product,
    Supplier,
    Variant,
)

VARIANT_SKU = "A23-1234-01"
POSITION = "FRONT"
OPTION = "PRINT-SCREEN-1"
SETUP_COST = "SETUP-2C"
HANDLING_COST = "HANDLING"
REGIONS = ["CHF", "EURO", "SEK"]
CURRENCIES = {"EURO": "EUR", "CHF": "CHF", "SEK": "SEK", "NLD": "EUR", "en-GB": "GBP"}

SELL, BUY = PriceTier.Kind.SELL, PriceTier.Kind.BUY
REQ = None  # a price of None in a tier spec: on request (stored as 0, as the parser does)
ALWAYS = {"Operator": "Always", "Amount": 0}

# (region, kind, min_quantity, price) of each owner's tiers.
ARTICLE_TIERS = [
    ("EURO", SELL, 100, "2.50"),
    ("EURO", SELL, 500, "1.90"),
    ("EURO", SELL, 1000, REQ),
    ("EURO", BUY, 1, "1.00"),
    ("EURO", BUY, 100, "0.90"),
    ("CHF", SELL, 100, "2.70"),
    ("CHF", SELL, 500, "2.30"),
    ("SEK", SELL, 100, "28.00"),
    ("SEK", SELL, 500, "25.00"),
    ("NLD", BUY, 1, "0.80"),
]
OPTION_TIERS = [
    ("EURO", SELL, 100, "0.445"),
    ("EURO", SELL, 500, "0.375"),
    ("EURO", BUY, 1, "0.10"),
    ("CHF", SELL, 100, "0.50"),
    ("SEK", SELL, 100, "5.00"),
]
SETUP_TIERS = [("EURO", SELL, 1, "35.00"), ("CHF", SELL, 1, "40.00"), ("SEK", SELL, 1, "400.00")]
HANDLING_TIERS = [
    ("EURO", SELL, 1, "0.045"),
    ("EURO", SELL, 500, "0.035"),
    ("EURO", SELL, 1000, REQ),
    ("CHF", SELL, 1, "0.05"),
]
EXTRA_OPTION_TIERS = [("EURO", SELL, 100, "0.30"), ("CHF", SELL, 100, "0.35")]
EXTRA_COST_TIERS = [("EURO", SELL, 1, "20.00")]


def tier_rows(model, owner_field: str, owner, specs) -> list:
    """Unsaved ``model`` tiers of ``owner`` from ``(region, kind, min_quantity, price)``."""
    return [
        model(
            **{owner_field: owner},
            region=region,
            kind=kind,
            min_quantity=min_quantity,
            price=Decimal(price or 0),
            currency=CURRENCIES.get(region, "EUR"),
            on_request=price is REQ,
        )
        for region, kind, min_quantity, price in specs
    ]


def make_quotable_variant(
    *,
    supplier_code: str = "A23",
    family: str = "1234",
    sku: str | None = None,
    is_active: bool = True,
    extra_options: int = 0,
) -> Variant:
    """The variant of the module docstring. ``sku`` defaults to ``{supplier}-{family}-01``;
    ``extra_options`` adds options PRINT-EXTRA-1.. on FRONT (EURO 100+ 0.30, CHF 100+ 0.35,
    each with a Unique x 1 cost EURO 1+ 20.00) to measure query counts."""
    supplier, _ = Supplier.objects.get_or_create(code=supplier_code)
    product = Product.objects.create(
        supplier=supplier, sku=f"{supplier_code}-{family}", names={"en": "Mug"}
    )
    variant = Variant.objects.create(
        product=product,
        sku=sku or f"{supplier_code}-{family}-01",
        price_region="EURO",
        region_terms={region: {"currency": CURRENCIES[region]} for region in REGIONS},
        is_active=is_active,
    )
    PriceTier.objects.bulk_create(tier_rows(PriceTier, "variant", variant, ARTICLE_TIERS))
    position = PrintPosition.objects.create(variant=variant, order=0, code=POSITION)
    option = add_option(position, OPTION, OPTION_TIERS, names={"en": "Screen print"})
    add_cost(option, SETUP_COST, "Unique", "2", SETUP_TIERS, requirement=ALWAYS)
    add_cost(option, HANDLING_COST, "Multiplied", "1", HANDLING_TIERS)
    for i in range(1, extra_options + 1):
        extra = add_option(position, f"PRINT-EXTRA-{i}", EXTRA_OPTION_TIERS, order=i)
        add_cost(extra, f"EXTRA-SETUP-{i}", "Unique", "1", EXTRA_COST_TIERS)
    return variant


def add_position(variant: Variant, code: str, *, option_sku: str = OPTION, specs=None):
    """A further position of ``variant`` offering an option ``option_sku`` (default tiers:
    EURO 100+ 0.60, no costs). Returns the option."""
    order = variant.print_positions.count()
    position = PrintPosition.objects.create(variant=variant, order=order, code=code)
    return add_option(position, option_sku, specs or [("EURO", SELL, 100, "0.60")])


def add_option(position: PrintPosition, sku: str, specs, *, order: int = 0, names=None):
    option = PrintOption.objects.create(position=position, order=order, sku=sku, names=names or {})
    PrintOptionTier.objects.bulk_create(tier_rows(PrintOptionTier, "option", option, specs))
    return option


def add_cost(
    option: PrintOption,
    sku: str,
    calculation_type: str,
    calculation_amount: str | None,
    specs,
    *,
    requirement=None,
) -> PrintCost:
    cost = PrintCost.objects.create(
        option=option,
        order=option.costs.count(),
        sku=sku,
        calculation_type=calculation_type,
        calculation_amount=None if calculation_amount is None else Decimal(calculation_amount),
        requirement=requirement,
    )
    PrintCostTier.objects.bulk_create(tier_rows(PrintCostTier, "cost", cost, specs))
    return cost
