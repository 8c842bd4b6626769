"""How much a synthetic family carries, and the steps that pad it out to a target size.

``FeedSpec.family_kb`` / ``heavy_kb`` are met by real weight, never by a padding field:
longer descriptions, a fuller gallery, more print positions, options and costs. The feed
renders a probe family for a few of the steps of :func:`growth` and keeps the closest one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from .feedgen_print import PrintLayout

__all__ = ["Layout", "growth", "paragraphs"]


@dataclass(frozen=True)
class Layout:
    """How much a family carries: print data, images per child, description paragraphs."""

    print: PrintLayout
    images: int
    paragraphs: int = 0


def growth(base: Layout, image_pool: int | None) -> Iterator[Layout]:
    """Layouts of growing size, starting at the spec's own: the padding steps of family_kb.

    Realistic first (longer descriptions, a fuller gallery, a few positions of a few options),
    then more options per position and more positions, as the real 3.6 MB file has
    (8 positions, 72 options across 4 children).
    """
    p = base.print
    positions, options, costs, images = p.positions, p.options, p.costs, p.images
    gallery, paragraphs = base.images, base.paragraphs

    def layout() -> Layout:
        return Layout(PrintLayout(positions, options, costs, images), gallery, paragraphs)

    yield layout()
    paragraphs = max(paragraphs, 2)
    gallery = max(gallery, min(5, image_pool if image_pool is not None else 5))
    positions, options = max(positions, 1), max(options, 1)
    yield layout()
    for goal_positions, goal_options, goal_costs in (
        (3, 4, 1),
        (6, 8, 2),
        (8, 12, 2),
        (10, 24, 3),
        (12, 80, 3),
    ):
        while options < goal_options:
            options += 1
            yield layout()
        if costs < goal_costs or images < 2:
            costs, images = max(costs, goal_costs), 2
            yield layout()
        while positions < goal_positions:
            positions += 1
            yield layout()


# Paragraphs padded families add to their descriptions (real descriptions run to kilobytes).
_PARAGRAPH_TEXT = {
    "de": (
        "Hochwertig verarbeitet und robust genug für den täglichen Einsatz im Büro, auf Messen "
        "und unterwegs. Die Oberfläche eignet sich für viele Veredelungen, vom einfarbigen "
        "Tampondruck bis zum vollfarbigen Digitaldruck.",
        "Geprüft nach REACH und frei von Phthalaten. Jedes Stück wird einzeln verpackt "
        "geliefert; auf Wunsch in einer Geschenkbox. Bitte beachten Sie die Hinweise zur Pflege.",
    ),
    "en": (
        "Well made and sturdy enough for everyday use in the office, at trade fairs and on the "
        "go. The surface takes many kinds of decoration, from one-colour pad printing to "
        "full-colour digital printing.",
        "Tested to REACH and free of phthalates. Every piece comes individually packed; a gift "
        "box is available on request. Please follow the care instructions.",
    ),
    "nl": (
        "Degelijk afgewerkt en stevig genoeg voor dagelijks gebruik op kantoor, op beurzen en "
        "onderweg. Het oppervlak leent zich voor vele bedrukkingen, van tampondruk in één kleur "
        "tot digitale druk in full colour.",
        "Getest volgens REACH en vrij van ftalaten. Elk stuk wordt apart verpakt geleverd; op "
        "verzoek in een geschenkdoos. Let op de onderhoudsinstructies.",
    ),
    "fr": (
        "Finition soignée, assez robuste pour un usage quotidien au bureau, sur les salons et en "
        "déplacement. La surface accepte de nombreux marquages, de la tampographie une couleur à "
        "l'impression numérique en quadrichromie.",
        "Testé selon REACH et sans phtalates. Chaque pièce est livrée emballée individuellement ; "
        "boîte cadeau sur demande. Veuillez respecter les consignes d'entretien.",
    ),
}


@functools.lru_cache(maxsize=256)
def paragraphs(lang: str, count: int) -> str:
    texts = _PARAGRAPH_TEXT.get(lang, _PARAGRAPH_TEXT["en"])
    return "".join(f"<br /><br />{texts[n % len(texts)]}" for n in range(count))
