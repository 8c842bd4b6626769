"""Finding a supplier by the code an operator typed: case-insensitive, with suggestions.

Promidata codes are upper case (``A100``); ``a100`` means the same supplier. A code nobody
knows gets the nearest known codes as "did you mean …?", so a typo is one glance away.
"""

from __future__ import annotations

import difflib

from catalog.models import Supplier

SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6  # difflib's ratio: below it a code is not "near"


def supplier_by_code(code: str) -> Supplier | None:
    """The supplier whose code is ``code`` whatever its case (the exact spelling wins when
    two stored codes differ only by case), or None."""
    code = code.strip()
    exact = Supplier.objects.filter(code=code).first()
    if exact is not None:
        return exact
    return Supplier.objects.filter(code__iexact=code).order_by("code").first()


def suppliers_by_codes(codes: list[str]) -> dict[str, Supplier]:
    """``{code as typed: supplier}`` for the codes that name a supplier (case-insensitive)."""
    found = {}
    for code in codes:
        supplier = supplier_by_code(code)
        if supplier is not None:
            found[code] = supplier
    return found


def code_suggestions(code: str) -> list[str]:
    """The stored supplier codes nearest to ``code`` (at most ``SUGGESTIONS``), best first."""
    known = list(Supplier.objects.values_list("code", flat=True))
    by_upper = {c.upper(): c for c in known}
    near = difflib.get_close_matches(
        code.strip().upper(), list(by_upper), n=SUGGESTIONS, cutoff=SUGGESTION_CUTOFF
    )
    return [by_upper[c] for c in near]


def did_you_mean(code: str) -> str:
    """`` (did you mean A100?)`` for an unknown ``code``, or "" when nothing is near."""
    near = code_suggestions(code)
    return f" (did you mean {' or '.join(near)}?)" if near else ""
