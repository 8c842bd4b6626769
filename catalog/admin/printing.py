"""How a variant's prices and print data read on its admin page: every region's tiers with
its terms, then each print position with its options, their tiers and their costs.

Everything comes from prefetched rows (``PRINT_DETAILS``): a variant page costs the same few
queries whether it has one option or three positions of eight.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.html import format_html, format_html_join

from catalog.admin.common import muted, thumbnail
from catalog.models import PrintOption, PrintPosition

# Prefetches that let ``print_table`` render without another query.
PRINT_DETAILS = (
    Prefetch(
        "print_positions",
        queryset=PrintPosition.objects.order_by("order").prefetch_related(
            "images__media",
            Prefetch(
                "options",
                queryset=PrintOption.objects.order_by("order").prefetch_related(
                    "tiers", "costs__tiers"
                ),
            ),
        ),
    ),
)


def tier_text(tiers) -> str:
    """``1+ 2.5 EUR, 100+ 2.1 EUR`` (or "on request") of one region and kind."""
    return ", ".join(
        "on request" if t.on_request else f"{t.min_quantity}+ {t.price.normalize():f} {t.currency}"
        for t in sorted(tiers, key=lambda t: t.min_quantity)
    )


def region_table(tiers, terms: dict, *, preferred: str = "") -> str:
    """A table of every region: its currency and terms, its selling and buying tiers."""
    regions: dict[str, dict[str, list]] = {}
    for tier in tiers:
        regions.setdefault(tier.region, {"sell": [], "buy": []})[tier.kind].append(tier)
    for region in terms:
        regions.setdefault(region, {"sell": [], "buy": []})
    if not regions:
        return muted("no prices")
    rows = format_html_join(
        "",
        "<tr><th>{}{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                region,
                " (preferred)" if region == preferred else "",
                terms.get(region, {}).get("currency", ""),
                _terms_text(terms.get(region, {})),
                tier_text(kinds["sell"]) or "-",
                tier_text(kinds["buy"]) or "-",
            )
            for region, kinds in regions.items()
        ),
    )
    return format_html(
        '<table class="pd-prices"><thead><tr><th>Region</th><th>Currency</th><th>Terms</th>'
        "<th>Selling</th><th>Buying</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def _terms_text(terms: dict) -> str:
    parts = []
    if terms.get("minimum_order_quantity"):
        parts.append(f"MOQ {terms['minimum_order_quantity']}")
    if terms.get("quantity_increment"):
        parts.append(f"step {terms['quantity_increment']}")
    if terms.get("vat_percentage") is not None:
        parts.append(f"VAT {terms['vat_percentage']}%")
    return ", ".join(parts) or "-"


def print_table(variant, languages) -> str:
    """The variant's print positions, options, costs and every region's tiers."""
    positions = list(variant.print_positions.all())
    if not positions:
        return muted("no print data")
    return format_html_join("", "{}", ((_position_html(p, languages),) for p in positions))


def _position_html(position, languages) -> str:
    images = format_html_join(
        "",
        "{}",
        ((thumbnail(i.media.file.name if i.media else None),) for i in position.images.all()),
    )
    options = format_html_join(
        "", "{}", ((_option_html(o, languages),) for o in position.options.all())
    )
    return format_html(
        '<div class="pd-print-position"><h4>{} {}</h4><p class="help">{}</p>'
        '<div class="pd-thumbs">{}</div>{}</div>',
        position.code,
        _text(position.names, languages),
        position.max_print_area or "",
        images,
        options or muted("no options"),
    )


def _option_html(option, languages) -> str:
    costs = format_html_join(
        "",
        "<li>{} {} ({}{}): {}</li>",
        (
            (
                cost.sku,
                _text(cost.names, languages),
                cost.calculation_type or "?",
                f" x {cost.calculation_amount.normalize():f}" if cost.calculation_amount else "",
                region_table(cost.tiers.all(), cost.region_terms),
            )
            for cost in option.costs.all()
        ),
    )
    return format_html(
        '<div class="pd-print-option"><strong>{}</strong> {} <span class="pd-muted">{}</span>'
        "{}<ul>{}</ul></div>",
        option.sku,
        _text(option.names, languages),
        ", ".join(filter(None, [option.imprint_type, option.dimension, option.print_color_text])),
        region_table(option.tiers.all(), option.region_terms),
        costs,
    )


def _text(texts: dict, languages) -> str:
    for language in languages:
        if texts.get(language):
            return texts[language]
    return next(iter(texts.values()), "")
