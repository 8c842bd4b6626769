"""Print and decoration data of a child: positions, their options (techniques) and costs.

Two shapes occur (format notes 2.7) and give the same records:

- inline: each ``ImprintPositions[]`` entry holds its ``ImprintOptions[]``;
- referenced: the family root holds ``ImprintReferences`` ``{hash: option}`` once, and a
  position's ``ImprintOptionsReferences`` names the hashes it offers (an object keyed by hash,
  or a list of hashes). A reference's value, when it is an object, overrides keys of the
  referenced option for that position. An unknown hash is a warning, never a failure.

Positions are keyed by ``PositionCode``: a repeated code in one child keeps the first
(pitfall 11 of the notes). What the parser does not read is kept in each record's ``extra``.
Pure.
"""

from __future__ import annotations

from typing import Any

from . import limits
from .coerce import as_bool, as_dict, as_list, as_str
from .context import Context, show
from .extras import leftovers
from .images import position_images
from .prices import region_prices
from .records import PrintCostRecord, PrintOptionRecord, PrintPositionRecord
from .texts import language_blocks, texts

_POSITION_KEYS = frozenset(
    {
        "PositionCode",
        "SupplierPositionCode",
        "ImprintLocationTexts",
        "UnstructuredInformation",
        "PositionInformation",
        "ImprintOptions",
        "ImprintOptionsReferences",
    }
)
_OPTION_KEYS = frozenset(
    {
        "Sku",
        "SupplierSku",
        "SupplierPrintCode",
        "ImprintTexts",
        "PrintColor",
        "PrintColorAsText",
        "Dimension",
        "DimensionsWidth",
        "DimensionsHeight",
        "DimensionsDepth",
        "DimensionsDiameter",
        "ImprintType",
        "IsActiveCountryBased",
        "UnstructuredInformation",
        "ProductPriceCountryBased",
        "ImprintCosts",
    }
)
_COST_KEYS = frozenset(
    {
        "Sku",
        "SupplierSku",
        "Texts",
        "CalculationType",
        "CalculationAmount",
        "Requirement",
        "IsActiveCountryBased",
        "UnstructuredInformation",
        "ProductPriceCountryBased",
    }
)


def imprint_references(root: dict) -> dict[str, dict]:
    """The family's shared print options, ``{hash: option}`` (empty without any)."""
    return {
        as_str(key): option
        for key, option in as_dict(root.get("ImprintReferences")).items()
        if as_str(key) and isinstance(option, dict)
    }


def print_positions(
    child: dict, references: dict[str, dict], sku: str, context: Context
) -> tuple[PrintPositionRecord, ...]:
    """The child's positions in file order, each with its options and their costs."""
    positions: list[PrintPositionRecord] = []
    seen: set[str] = set()
    for index, raw in enumerate(as_list(child.get("ImprintPositions")), start=1):
        if not isinstance(raw, dict):
            continue
        code = as_str(raw.get("PositionCode"))
        if not code or len(code) > limits.SKU_CHARS:
            context.warn(f"{sku}: print position #{index} has no usable PositionCode; skipped")
            continue
        if code in seen:
            context.warn(f"{sku}: print position {show(code)} repeated; the first one kept")
            continue
        if len(positions) == limits.POSITIONS_PER_VARIANT:
            context.warn(f"{sku}: more than {limits.POSITIONS_PER_VARIANT} print positions")
            break
        seen.add(code)
        positions.append(_position(raw, code, references, sku, context))
    return tuple(positions)


def _position(
    raw: dict, code: str, references: dict[str, dict], sku: str, context: Context
) -> PrintPositionRecord:
    owner = f"{sku} position {code}"
    location = language_blocks(raw.get("ImprintLocationTexts"), context, warn=False)
    unstructured = as_dict(raw.get("UnstructuredInformation"))
    information = as_dict(raw.get("PositionInformation"))
    return PrintPositionRecord(
        code=code,
        supplier_code=context.fit(
            as_str(raw.get("SupplierPositionCode")), limits.SKU_CHARS, "SupplierPositionCode", owner
        ),
        names=texts(location, "Name"),
        descriptions=texts(location, "Description"),
        max_print_area=context.fit(
            as_str(unstructured.get("MaxPrintArea")), limits.TEXT_CHARS, "MaxPrintArea", owner
        ),
        max_width=context.measure(information.get("MaxWidth"), "MaxWidth", owner),
        max_height=context.measure(
            information.get("MaxHeigth", information.get("MaxHeight")), "MaxHeight", owner
        ),
        info={
            key: value
            for key, value in (
                ("PositionInformation", information),
                ("UnstructuredInformation", unstructured),
            )
            if value
        },
        images=position_images(location, owner, context),
        options=_options(raw, references, owner, context),
        extra=leftovers(raw, _POSITION_KEYS),
    )


def _options(
    raw: dict, references: dict[str, dict], owner: str, context: Context
) -> tuple[PrintOptionRecord, ...]:
    """Inline options, then referenced ones, in file order."""
    found: list[tuple[str, dict]] = [("", option) for option in as_list(raw.get("ImprintOptions"))]
    for reference, override in _referenced(raw.get("ImprintOptionsReferences")):
        option = references.get(reference)
        if option is None:
            context.warn(f"{owner}: print option reference {show(reference)} is unknown; skipped")
            continue
        found.append((reference, {**option, **override}))
    options: list[PrintOptionRecord] = []
    for reference, option in found:
        if not isinstance(option, dict):
            continue
        if len(options) == limits.OPTIONS_PER_POSITION:
            context.warn(f"{owner}: more than {limits.OPTIONS_PER_POSITION} print options")
            break
        if context.print_options == limits.PRINT_OPTIONS_PER_FAMILY:
            context.warn(
                f"more than {limits.PRINT_OPTIONS_PER_FAMILY:,} print options; the rest skipped"
            )
            break
        context.print_options += 1
        options.append(_option(option, reference, owner, context))
    return tuple(options)


def _referenced(value: Any) -> list[tuple[str, dict]]:
    """(hash, override) pairs from an ``ImprintOptionsReferences`` object or list."""
    if isinstance(value, dict):
        return [(as_str(key), as_dict(override)) for key, override in value.items() if as_str(key)]
    return [(as_str(key), {}) for key in as_list(value) if as_str(key)]


def _option(raw: dict, reference: str, owner: str, context: Context) -> PrintOptionRecord:
    sku = as_str(raw.get("Sku"))
    where = f"{owner} option {sku or '?'}"
    blocks = language_blocks(raw.get("ImprintTexts"), context, warn=False)
    unstructured = as_dict(raw.get("UnstructuredInformation"))
    terms, tiers = region_prices(raw.get("ProductPriceCountryBased"), where, context)
    fit = context.fit
    return PrintOptionRecord(
        sku=fit(sku, limits.SKU_CHARS, "print option Sku", owner),
        supplier_sku=fit(as_str(raw.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku", where),
        print_code=fit(
            as_str(raw.get("SupplierPrintCode")), limits.SKU_CHARS, "SupplierPrintCode", where
        ),
        reference=fit(reference, limits.HASH_CHARS, "print option reference", where),
        names=texts(blocks, "Name"),
        descriptions=texts(blocks, "Description"),
        print_colors=context.count(raw.get("PrintColor"), "PrintColor", where),
        print_color_text=fit(
            as_str(raw.get("PrintColorAsText")), limits.TEXT_CHARS, "PrintColorAsText", where
        ),
        dimension=fit(as_str(raw.get("Dimension")), limits.TEXT_CHARS, "Dimension", where),
        width=context.measure(raw.get("DimensionsWidth"), "DimensionsWidth", where),
        height=context.measure(raw.get("DimensionsHeight"), "DimensionsHeight", where),
        depth=context.measure(raw.get("DimensionsDepth"), "DimensionsDepth", where),
        diameter=context.measure(raw.get("DimensionsDiameter"), "DimensionsDiameter", where),
        imprint_type=fit(as_str(raw.get("ImprintType")), limits.TEXT_CHARS, "ImprintType", where),
        active_regions=active_regions(raw.get("IsActiveCountryBased")),
        max_colors=context.count(unstructured.get("MaxColors"), "MaxColors", where),
        is_default=_optional_bool(unstructured.get("IsDefault")),
        max_size_cm2=context.measure(
            unstructured.get("ImprintMaxSizeInCm2"), "ImprintMaxSizeInCm2", where
        ),
        info=unstructured,
        region_terms=terms,
        tiers=tiers,
        costs=_costs(raw.get("ImprintCosts"), where, context),
        extra=leftovers(raw, _OPTION_KEYS),
    )


def _costs(raw_costs: Any, owner: str, context: Context) -> tuple[PrintCostRecord, ...]:
    costs: list[PrintCostRecord] = []
    for raw in as_list(raw_costs):
        if not isinstance(raw, dict):
            continue
        if len(costs) == limits.COSTS_PER_OPTION:
            context.warn(f"{owner}: more than {limits.COSTS_PER_OPTION} costs; the rest skipped")
            break
        costs.append(_cost(raw, owner, context))
    return tuple(costs)


def _cost(raw: dict, owner: str, context: Context) -> PrintCostRecord:
    sku = as_str(raw.get("Sku"))
    where = f"{owner} cost {sku or '?'}"
    blocks = language_blocks(raw.get("Texts"), context, warn=False)
    terms, tiers = region_prices(raw.get("ProductPriceCountryBased"), where, context)
    requirement = raw.get("Requirement")
    return PrintCostRecord(
        sku=context.fit(sku, limits.SKU_CHARS, "cost Sku", owner),
        supplier_sku=context.fit(
            as_str(raw.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku", where
        ),
        names=texts(blocks, "Name"),
        descriptions=texts(blocks, "Description"),
        # "Unique" (once per order), "Multiplied" (per piece), or whatever else is sent.
        calculation_type=context.fit(
            as_str(raw.get("CalculationType")),
            limits.CALCULATION_TYPE_CHARS,
            "CalculationType",
            where,
        ),
        calculation_amount=context.amount(raw.get("CalculationAmount"), "CalculationAmount", where),
        requirement=requirement if isinstance(requirement, dict) and requirement else None,
        active_regions=active_regions(raw.get("IsActiveCountryBased")),
        info=as_dict(raw.get("UnstructuredInformation")),
        region_terms=terms,
        tiers=tiers,
        extra=leftovers(raw, _COST_KEYS),
    )


def active_regions(value: Any) -> dict[str, bool]:
    """``IsActiveCountryBased`` as {country or region: bool}; unreadable entries left out."""
    result = {}
    for key, flag in as_dict(value).items():
        parsed = _optional_bool(flag)
        if as_str(key) and parsed is not None:
            result[as_str(key)] = parsed
    return result


def _optional_bool(value: Any) -> bool | None:
    """True/False for bool-ish values, None when missing or unreadable."""
    sentinel = object()
    parsed = as_bool(value, default=sentinel)  # type: ignore[arg-type]
    return None if parsed is sentinel else parsed
