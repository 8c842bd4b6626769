"""Print (decoration) data of the synthetic feed: positions, options and their costs.

Section 2.7 of /work/shared/promidata-format.md describes two shapes, both rendered here:

* **inline**: every child's ``ImprintPositions[]`` entry carries its ``ImprintOptions[]``;
* **referenced**: the root holds ``ImprintReferences`` ``{hash: option}`` (each option once,
  however many children use it) and each position holds ``ImprintOptionsReferences``
  ``{hash: {"Sku": option Sku}}`` instead of ``ImprintOptions``.

The value of an ``ImprintOptionsReferences`` member is an object because that is what the
one importer reading this shape (S6) treats it as (``foreach ($refs as $hash =>
$reference_data)``, an array), and because it parallels ``ImprintReferences``; it only
repeats the option's ``Sku``. An importer must look the option up by the *hash* and ignore
the value: the one dangling reference this generator writes still has one.

``PrintColor`` is the number of spot colours; full-colour options send 0, which states no
count: ``expected()`` says None for it, as for engraving (null).

Options are family-level: every child of a family shows the same options (a child may lack a
position or an option, see :func:`variant_print`), so a price change of one option shows in
every child that has it. Option SKUs look like the supplier's own codes
(``A100-PAD2-FRONT-01``) and therefore repeat, with other prices, in other families of the
same supplier, as real option SKUs do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .feedgen_common import (
    RegionPrices,
    Template,
    derived_regions,
    dumps,
    json_object,
    jstr,
    number_json,
    number_read,
    prices_expected,
    prices_json,
    region_countries,
    rng,
    short_hash,
)

__all__ = [
    "COST_KINDS",
    "POSITIONS",
    "PRINT_SHAPES",
    "TECHNIQUES",
    "FamilyPrint",
    "PrintLayout",
    "VariantPrint",
    "build_family_print",
    "text_in",
    "variant_print",
]

PRINT_SHAPES = ("inline", "referenced", "mixed")

#: (PositionCode, {lang: name}). Positions beyond the table are called POS13, POS14, ...
POSITIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("FRONT", {"de": "Vorderseite", "en": "Front", "nl": "Voorkant", "fr": "Face avant"}),
    ("BACK", {"de": "Rückseite", "en": "Back", "nl": "Achterkant", "fr": "Dos"}),
    ("LEFT", {"de": "Linke Seite", "en": "Left side", "nl": "Linkerzijde", "fr": "Côté gauche"}),
    ("RIGHT", {"de": "Rechte Seite", "en": "Right side", "nl": "Rechterzijde", "fr": "Côté droit"}),
    ("TOP", {"de": "Oberseite", "en": "Top", "nl": "Bovenkant", "fr": "Dessus"}),
    ("BOTTOM", {"de": "Unterseite", "en": "Bottom", "nl": "Onderkant", "fr": "Dessous"}),
    ("HANDLE", {"de": "Griff", "en": "Handle", "nl": "Handvat", "fr": "Poignée"}),
    ("POCKET", {"de": "Tasche", "en": "Pocket", "nl": "Zak", "fr": "Poche"}),
    ("LID", {"de": "Deckel", "en": "Lid", "nl": "Deksel", "fr": "Couvercle"}),
    ("CLIP", {"de": "Clip", "en": "Clip", "nl": "Clip", "fr": "Agrafe"}),
    (
        "SLEEVE_L",
        {"de": "Linker Ärmel", "en": "Left sleeve", "nl": "Linkermouw", "fr": "Manche gauche"},
    ),
    (
        "SLEEVE_R",
        {"de": "Rechter Ärmel", "en": "Right sleeve", "nl": "Rechtermouw", "fr": "Manche droite"},
    ),
)
_POSITION_TEXT = {
    "de": "Druckbereich {name}, mittig ausgerichtet.",
    "en": "Print area {name}, centred.",
    "nl": "Drukgebied {name}, gecentreerd.",
    "fr": "Zone d'impression {name}, centrée.",
}
#: Maximum print areas (width, height) in mm; a small set keeps the text caches hot.
_AREAS = ((40, 20), (60, 30), (80, 40), (150, 150), (200, 100), (50, 50), (25, 10), (100, 60))

#: (code, ImprintType, {lang: name}, colours): colours > 0 = up to that many spot colours,
#: 0 = no colour (engraving), -1 = full colour.
TECHNIQUES: tuple[tuple[str, str, dict[str, str], int], ...] = (
    (
        "PAD",
        "PadPrint",
        {"de": "Tampondruck", "en": "Pad print", "nl": "Tampondruk", "fr": "Tampographie"},
        4,
    ),
    (
        "SCR",
        "ScreenPrint",
        {"de": "Siebdruck", "en": "Screen print", "nl": "Zeefdruk", "fr": "Sérigraphie"},
        6,
    ),
    (
        "LAS",
        "LaserEngraving",
        {"de": "Lasergravur", "en": "Laser engraving", "nl": "Lasergravure", "fr": "Gravure laser"},
        0,
    ),
    (
        "DIG",
        "DigitalPrint",
        {
            "de": "Digitaldruck",
            "en": "Digital print",
            "nl": "Digitale druk",
            "fr": "Impression numérique",
        },
        -1,
    ),
    (
        "TRF",
        "TransferPrint",
        {
            "de": "Transferdruck",
            "en": "Transfer print",
            "nl": "Transferdruk",
            "fr": "Impression transfert",
        },
        4,
    ),
    (
        "EMB",
        "Embroidery",
        {"de": "Stickerei", "en": "Embroidery", "nl": "Borduring", "fr": "Broderie"},
        8,
    ),
)
#: (code, {lang: name}, (min, max) EUR cents of the first region's price).
COST_KINDS: tuple[tuple[str, dict[str, str], tuple[int, int]], ...] = (
    (
        "SETUP",
        {
            "de": "Einrichtungskosten",
            "en": "Setup costs",
            "nl": "Instelkosten",
            "fr": "Frais de calage",
        },
        (3500, 6000),
    ),
    (
        "COLOUR",
        {
            "de": "Farbwechsel",
            "en": "Colour change",
            "nl": "Kleurwissel",
            "fr": "Changement de couleur",
        },
        (900, 1800),
    ),
    (
        "FILM",
        {"de": "Filmkosten", "en": "Film costs", "nl": "Filmkosten", "fr": "Frais de film"},
        (1200, 2500),
    ),
    (
        "HANDLING",
        {
            "de": "Handlingkosten",
            "en": "Handling costs",
            "nl": "Handlingkosten",
            "fr": "Frais de manutention",
        },
        (5, 25),
    ),
)
_COST_TEXT = {
    "de": "{name} je Auftrag",
    "en": "{name} per order",
    "nl": "{name} per order",
    "fr": "{name} par commande",
}
_SETUP_REQUIREMENT = {"Operator": "Always", "Amount": 0}

# Per-piece print price tiers (quantity, percent of the option's base) and buying tiers.
_OPTION_SELL = ((50, 100), (100, 92), (250, 85), (500, 78), (1000, 72))
_OPTION_BUY = ((50, 70), (500, 60))
_COST_SELL = ((1, 100),)
_COST_BUY = ((1, 60),)


def text_in(table: Mapping[str, str], lang: str) -> str:
    """The text for ``lang``, or the English one tagged with the language."""
    return table.get(lang) or f"{table['en']} [{lang}]"


@dataclass(frozen=True)
class PrintLayout:
    """How much print data a family carries: positions per child, options per position,
    costs per option, images per position (in every language block)."""

    positions: int = 0
    options: int = 0
    costs: int = 0
    images: int = 1


# ---------------------------------------------------------------------- model


@dataclass(frozen=True)
class Cost:
    sku: str
    supplier_sku: str
    kind: int
    lang_texts: tuple[tuple[str, str, str | None], ...]  # (lang, name, description)
    calc_type: str
    calc_amount: Decimal | None
    requirement: dict | None
    regions: tuple[RegionPrices, ...]
    active: tuple[tuple[str, bool], ...]

    def json(self) -> str:
        return _COST.render(
            sku=jstr(self.sku),
            supplier_sku=jstr(self.supplier_sku),
            texts=_texts_json(self.lang_texts, "Name", "Description"),
            prices=prices_json(self.regions),
            calc_type=jstr(self.calc_type),
            calc_amount=number_json(self.calc_amount),
            requirement=dumps(self.requirement),
            active=_active_json(self.active),
        )

    def expected(self) -> dict:
        return {
            "sku": self.sku,
            "names": {lang: name for lang, name, _ in self.lang_texts},
            "calculation_type": self.calc_type,
            "calculation_amount": number_read(self.calc_amount),
            "requirement": dict(self.requirement) if self.requirement is not None else None,
            "regions": prices_expected(self.regions),
        }


@dataclass(frozen=True)
class Option:
    key: tuple[int, int]  # (position number, option number) in the family: stable identity
    sku: str
    supplier_sku: str
    print_code: str
    lang_texts: tuple[tuple[str, str, str | None], ...]
    colours: int | None
    colour_text: str
    width: int
    height: int
    diameter: int
    imprint_type: str
    active: tuple[tuple[str, bool], ...]
    max_colors: int | None
    is_default: bool | None
    unstructured: str  # JSON text of UnstructuredInformation
    regions: tuple[RegionPrices, ...]
    costs: tuple[Cost, ...]

    def json(self) -> str:
        return _OPTION.render(
            sku=jstr(self.sku),
            supplier_sku=jstr(self.supplier_sku),
            print_code=jstr(self.print_code),
            texts=_texts_json(self.lang_texts, "Name", "Description"),
            colours=number_json(self.colours),
            colour_text=jstr(self.colour_text),
            fast_colours=jstr("" if self.colours is None else str(self.colours)),
            dimension=jstr(f"{self.width} x {self.height} mm"),
            width=str(self.width),
            height=str(self.height),
            diameter=str(self.diameter),
            imprint_type=jstr(self.imprint_type),
            active=_active_json(self.active),
            unstructured=self.unstructured,
            prices=prices_json(self.regions),
            costs="[" + ",".join(c.json() for c in self.costs) + "]",
        )

    def expected(self) -> dict:
        return {
            "sku": self.sku,
            "supplier_sku": self.supplier_sku,
            "print_code": self.print_code,
            "names": {lang: name for lang, name, _ in self.lang_texts},
            "descriptions": {lang: d for lang, _, d in self.lang_texts if d},
            "print_colors": self.colours or None,  # PrintColor 0 (full colour) = no count
            "print_color_text": self.colour_text,
            "dimension": f"{self.width} x {self.height} mm",
            "imprint_type": self.imprint_type,
            "active_regions": dict(self.active),
            "max_colors": self.max_colors,
            "is_default": self.is_default,
            "regions": prices_expected(self.regions),
            "costs": [c.expected() for c in self.costs],
        }


@dataclass(frozen=True)
class Position:
    number: int  # 0-based place in the family's list: stable identity
    code: str
    supplier_code: str
    lang_texts: tuple[tuple[str, str, str | None], ...]
    width: int
    height: int
    images: tuple[tuple[str, str | None], ...]  # (Url, FileName)
    options: tuple[Option, ...]

    def head_json(self, suffix: str = "") -> str:
        """The position up to (not including) its options; ``suffix`` goes after names."""
        blocks = []
        for lang, name, description in self.lang_texts:
            name = name + suffix
            images = ",".join(
                f'{{"Url":{jstr(url)},"Description":{jstr(name)},"FileName":'
                f"{jstr(file_name) if file_name is not None else 'null'}}}"
                for url, file_name in self.images
            )
            blocks.append(
                (
                    jstr(lang),
                    f'{{"Name":{jstr(name)},"Description":'
                    f"{jstr(description) if description else 'null'},"
                    f'"Images":[{images}]}}',
                )
            )
        return (
            f'{{"PositionCode":{jstr(self.code)},"SupplierPositionCode":{jstr(self.supplier_code)},'
            f'"ImprintLocationTexts":{json_object(blocks)},'
            f'"UnstructuredInformation":{{"MaxPrintArea":"{self.width} x {self.height} mm"}},'
            f'"PositionInformation":{{"MaxWidth":{self.width},"MaxHeigth":{self.height}}}'
        )

    def expected(self, options: tuple[Option, ...]) -> dict:
        return {
            "code": self.code,
            "supplier_code": self.supplier_code,
            "names": {lang: name for lang, name, _ in self.lang_texts},
            "descriptions": {lang: d for lang, _, d in self.lang_texts if d},
            "max_print_area": f"{self.width} x {self.height} mm",
            "images": list(dict.fromkeys(url for url, _ in self.images)),
            "options": [o.expected() for o in options],
        }


@dataclass(frozen=True)
class VariantPrint:
    """The print data of one child: its positions (each with the options it keeps), plus the
    two traps: a duplicate of the first position right after it, and a reference (referenced
    shape) to a hash that ImprintReferences does not hold."""

    positions: tuple[tuple[Position, tuple[Option, ...]], ...]
    duplicate: bool = False
    dangling: str | None = None

    def expected(self) -> list[dict]:
        return [position.expected(options) for position, options in self.positions]


@dataclass(frozen=True)
class FamilyPrint:
    shape: str  # "inline" or "referenced"
    positions: tuple[Position, ...]
    missing_sku: str

    def render(self, variants: list[VariantPrint]) -> tuple[list[str], str]:
        """(ImprintPositions JSON per child, root ImprintReferences JSON)."""
        option_json: dict[tuple[int, int], str] = {}
        hashes: dict[tuple[int, int], str] = {}
        references: dict[str, str] = {}  # hash -> option JSON, first appearance order
        cache: dict[tuple, str] = {}
        referenced = self.shape == "referenced"

        def text(option: Option) -> str:
            body = option_json.get(option.key)
            if body is None:
                body = option_json[option.key] = option.json()
            return body

        def reference(option: Option) -> str:
            digest = hashes.get(option.key)
            if digest is None:
                body = text(option)
                digest = hashes[option.key] = short_hash(body)
            references.setdefault(digest, option_json[option.key])
            return f'"{digest}":{{"Sku":{jstr(option.sku)}}}'

        def position_json(
            position: Position, options: tuple[Option, ...], suffix: str, dangling: str | None
        ) -> str:
            key = (position.number, tuple(o.key for o in options), suffix, dangling)
            body = cache.get(key)
            if body is not None:
                if referenced:  # the references must still be collected
                    for option in options:
                        reference(option)
                return body
            head = position.head_json(suffix)
            if referenced:
                members = [reference(o) for o in options]
                if dangling is not None:
                    missing = f'"{dangling}":{{"Sku":{jstr(self.missing_sku)}}}'
                    members.insert(min(1, len(members)), missing)
                body = head + ',"ImprintOptionsReferences":{' + ",".join(members) + "}}"
            else:
                body = head + ',"ImprintOptions":[' + ",".join(map(text, options)) + "]}"
            cache[key] = body
            return body

        per_child = []
        for variant in variants:
            if not variant.positions:
                per_child.append("null" if not self.positions else "[]")
                continue
            parts = []
            for n, (position, options) in enumerate(variant.positions):
                dangling = variant.dangling if n == 0 else None
                parts.append(position_json(position, options, "", dangling))
                if n == 0 and variant.duplicate:
                    # Same PositionCode again, other names and options: must be dropped.
                    original = self.positions[position.number].options
                    parts.append(position_json(position, original[::-1], " (2)", None))
            per_child.append("[" + ",".join(parts) + "]")
        if not referenced:
            return per_child, "null"
        root = "{" + ",".join(f'"{h}":{body}' for h, body in references.items()) + "}"
        return per_child, root


def build_family_print(
    *,
    seed: int,
    code: str,
    index: int,
    family_sku: str,
    shape: str,
    layout: PrintLayout,
    regions: tuple[tuple[str, str], ...],
    languages: tuple[str, ...],
    base_url: str,
    option_prices: Mapping[tuple[int, int], Decimal],
) -> FamilyPrint:
    """The print positions of one family (shared by its children), deterministic."""
    countries = tuple(dict.fromkeys(c for key, _ in regions for c in region_countries(key)))
    stem = family_sku.removeprefix(f"{code}-")
    positions = []
    for k in range(layout.positions):
        draw = rng(seed, code, index, "print", k)
        if k < len(POSITIONS):
            position_code, names = POSITIONS[k]
        else:
            position_code, names = f"POS{k + 1}", {"en": f"Position {k + 1}"}
        width, height = draw.choice(_AREAS)
        technique = draw.randrange(len(TECHNIQUES))
        lang_texts = []
        for lang in languages:
            name = f"{text_in(names, lang)} (max {width} x {height} mm)"
            template = _POSITION_TEXT.get(lang, _POSITION_TEXT["en"])
            description = None if k % 3 == 2 else template.format(name=text_in(names, lang))
            lang_texts.append((lang, name, description))
        images = tuple(
            (
                f"{base_url}/Images/{code}-{index:05d}-P{k:02d}-{m}.png",
                None if (k + m) % 2 else f"{stem}_{position_code}_{m + 1}.png",
            )
            for m in range(layout.images)
        )
        options = tuple(
            _option(
                draw=rng(seed, code, index, "option", k, j),
                code=code,
                key=(k, j),
                position_code=position_code,
                technique=TECHNIQUES[(technique + j // 4) % len(TECHNIQUES)],
                area=(width, height),
                layout=layout,
                regions=regions,
                languages=languages,
                countries=countries,
                price=option_prices.get((k, j)),
            )
            for j in range(layout.options)
        )
        positions.append(
            Position(
                number=k,
                code=position_code,
                supplier_code=f"{k + 1:02d}-{position_code[:3]}",
                lang_texts=tuple(lang_texts),
                width=width,
                height=height,
                images=images,
                options=options,
            )
        )
    return FamilyPrint(shape=shape, positions=tuple(positions), missing_sku=f"{code}-WITHDRAWN-01")


def variant_print(
    family: FamilyPrint,
    *,
    seed: int,
    family_sku: str,
    index: int,
    slot: int,
    first: bool,
    removed: frozenset[tuple[int, int, int]],
) -> VariantPrint:
    """What one child shows. Deterministic traps, by family index:

    * index % 3 == 1: children with an even slot lack the family's last position;
    * index % 5 == 1: the first child repeats its first PositionCode (to be dropped);
    * index % 5 == 2, referenced shape: the first child's first position references a hash
      that ImprintReferences lacks (to be skipped with a warning).
    """
    positions = family.positions
    if index % 3 == 1 and slot % 2 == 0 and len(positions) >= 2:
        positions = positions[:-1]
    kept = tuple(
        (p, tuple(o for o in p.options if (slot, *o.key) not in removed)) for p in positions
    )
    dangling = None
    if first and family.shape == "referenced" and index % 5 == 2 and kept:
        dangling = short_hash(seed, family_sku, "withdrawn option")
    return VariantPrint(
        positions=kept, duplicate=first and index % 5 == 1 and bool(kept), dangling=dangling
    )


# ---------------------------------------------------------------------- options and costs


def _option(
    *,
    draw,
    code: str,
    key: tuple[int, int],
    position_code: str,
    technique: tuple[str, str, dict[str, str], int],
    area: tuple[int, int],
    layout: PrintLayout,
    regions: tuple[tuple[str, str], ...],
    languages: tuple[str, ...],
    countries: tuple[str, ...],
    price: Decimal | None,
) -> Option:
    k, j = key
    tech, imprint_type, tech_names, max_colours = technique
    width, height = area
    if max_colours > 0:
        colours: int | None = j % 4 + 1
        colour_text = f"{colours} colour" + ("s" if colours > 1 else "")
        print_code = f"{tech}{colours}"
        base_cents = draw.randint(12, 45) * colours
    else:
        # Engraving and full-colour options differ by size instead of colours.
        width, height = max(5, width * (4 - j % 4) // 4), max(5, height * (4 - j % 4) // 4)
        colours = None if max_colours == 0 else 0
        colour_text = "none" if max_colours == 0 else "full colour"
        print_code = f"{tech}{width}X{height}"
        base_cents = draw.randint(30, 120)
    supplier_sku = f"{print_code}-{position_code}-{j + 1:02d}"
    sku = f"{code}-{supplier_sku}"
    lang_texts = _option_texts(tech_names, max_colours, colours, width, height, j, languages)
    blocks = derived_regions(regions, base_cents, _OPTION_SELL, _OPTION_BUY, draw, moq=50)
    if price is not None:
        blocks = (blocks[0].with_first_price(price), *blocks[1:])
    active = tuple(
        (c, not ((k + j) % 5 == 4 and n == len(countries) - 1)) for n, c in enumerate(countries)
    )
    max_colors = max_colours if max_colours > 0 else None
    is_default = None if max_colours == 0 else j == 0
    unstructured = {}
    if max_colors is not None:
        unstructured["MaxColors"] = str(max_colors)
    unstructured["PrintCode"] = print_code
    if is_default is not None:
        unstructured["IsDefault"] = str(is_default)
    unstructured["ImprintMaxSizeInCm2"] = f"{width * height / 100:g}".replace(".", ",")
    unstructured["PositionX"] = str(draw.randint(0, 40))
    unstructured["PositionY"] = str(draw.randint(0, 40))
    costs = tuple(
        _cost(draw, sku, c, colours, k, j, regions, languages, countries)
        for c in range(layout.costs)
    )
    return Option(
        key=key,
        sku=sku,
        supplier_sku=supplier_sku,
        print_code=print_code,
        lang_texts=lang_texts,
        colours=colours,
        colour_text=colour_text,
        width=width,
        height=height,
        diameter=width if position_code == "LID" else 0,
        imprint_type=imprint_type,
        active=active,
        max_colors=max_colors,
        is_default=is_default,
        unstructured=dumps(unstructured),
        regions=blocks,
        costs=costs,
    )


_COLOUR_WORDS = {
    "de": ("{n}-farbig", "vollfarbig"),
    "en": ("{n} colour{s}", "full colour"),
    "nl": ("{n} kleur{en}", "full colour"),
    "fr": ("{n} couleur{s}", "quadrichromie"),
}


def _option_texts(
    names: dict[str, str],
    max_colours: int,
    colours: int | None,
    width: int,
    height: int,
    j: int,
    languages: tuple[str, ...],
) -> tuple[tuple[str, str, str | None], ...]:
    texts = []
    for lang in languages:
        tech = text_in(names, lang)
        spot, full = _COLOUR_WORDS.get(lang, _COLOUR_WORDS["en"])
        if max_colours > 0:
            plural = colours != 1
            words = spot.format(n=colours, s="s" if plural else "", en="en" if plural else "")
            name = f"{tech} {words}"
        elif max_colours < 0:
            name = f"{tech} {full} {width} x {height} mm"
        else:
            name = f"{tech} {width} x {height} mm"
        description = None if j % 4 == 3 else f"{name}, max. {width} x {height} mm"
        texts.append((lang, name, description))
    return tuple(texts)


def _cost(draw, option_sku, c, colours, k, j, regions, languages, countries) -> Cost:
    kind_code, names, (low, high) = COST_KINDS[c % len(COST_KINDS)]
    suffix = kind_code if c < len(COST_KINDS) else f"{kind_code}{c // len(COST_KINDS) + 1}"
    requirement = None
    amount: Decimal | None = Decimal(1)
    if kind_code == "SETUP":
        calc_type, requirement = "Unique", _SETUP_REQUIREMENT
    elif kind_code == "FILM":
        calc_type = "Unique"
        amount = Decimal(colours or 1)
    elif kind_code == "COLOUR":
        # "PerColor" is not one of the documented types: an importer keeps it as sent.
        calc_type = "PerColor" if (k + j) % 3 == 0 else "Multiplied"
        amount = Decimal(colours) if colours else None
    else:
        calc_type, amount = "Multiplied", Decimal("0.5")
    lang_texts = []
    for lang in languages:
        name = text_in(names, lang)
        template = _COST_TEXT.get(lang, _COST_TEXT["en"])
        lang_texts.append((lang, name, None if c % 2 else template.format(name=name)))
    blocks = derived_regions(regions, draw.randint(low, high), _COST_SELL, _COST_BUY, draw)
    return Cost(
        sku=f"{option_sku}-{suffix}",
        supplier_sku=f"{option_sku.split('-', 1)[1]}-{suffix}",
        kind=c,
        lang_texts=tuple(lang_texts),
        calc_type=calc_type,
        calc_amount=amount,
        requirement=requirement,
        regions=blocks,
        active=tuple((country, True) for country in countries),
    )


# ---------------------------------------------------------------------- JSON


def _texts_json(lang_texts, name_key: str, description_key: str) -> str:
    return json_object(
        (
            jstr(lang),
            f'{{"{name_key}":{jstr(name)},"{description_key}":'
            f"{jstr(description) if description else 'null'}}}",
        )
        for lang, name, description in lang_texts
    )


def _active_json(active: tuple[tuple[str, bool], ...]) -> str:
    return json_object((jstr(c), "true" if on else "false") for c, on in active)


_OPTION = Template(
    {
        "Sku": "@@sku@@",
        "SupplierSku": "@@supplier_sku@@",
        "SupplierPrintCode": "@@print_code@@",
        "ImprintTexts": "@@texts@@",
        "PrintColor": "@@colours@@",
        "PrintColorAsText": "@@colour_text@@",
        "FastEditorNumberOfColors": "@@fast_colours@@",
        "Dimension": "@@dimension@@",
        "DimensionsWidth": "@@width@@",
        "DimensionsHeight": "@@height@@",
        "DimensionsDepth": 0,
        "DimensionsDiameter": "@@diameter@@",
        "ImprintType": "@@imprint_type@@",
        "ChildImprints": None,
        "IsActiveCountryBased": "@@active@@",
        "IsActiveRegionBased": None,
        "ImportantInformation": None,
        "UnstructuredInformation": "@@unstructured@@",
        "ProductPriceCountryBased": "@@prices@@",
        "ProductPriceRegionBased": None,
        "ImprintCosts": "@@costs@@",
    }
)
_COST = Template(
    {
        "Sku": "@@sku@@",
        "SupplierSku": "@@supplier_sku@@",
        "Texts": "@@texts@@",
        "ProductPriceCountryBased": "@@prices@@",
        "CalculationType": "@@calc_type@@",
        "CalculationAmount": "@@calc_amount@@",
        "Requirement": "@@requirement@@",
        "IsActiveCountryBased": "@@active@@",
        "IsActiveRegionBased": None,
        "UnstructuredInformation": None,
    }
)
