"""CAT.csv parsing: by header name, semicolons, quoted fields, synthesized parents."""

import pytest

from promidata_sync.feed import CategoryRecord, FeedDataError, MalformedLine, parse_categories


def keys(result) -> list[str]:
    return [category.key for category in result.categories]


def test_columns_are_read_by_header_name_in_any_order_with_bom_and_quotes():
    text = (
        "\ufeffen;ICON;Key;DE;IMAGE;nl\r\n"
        '"Bags / Shopping bags";bag-icon;BAGS/SHOPPING_BAGS;"Taschen / Einkaufstaschen";'
        "https://img/bags.png;Tassen / Boodschappentassen\r\n"
        '"Office / Pens; pencils";;OFFICE/PENS;"Büro / Stifte, Kugelschreiber";;\r\n'
    )

    result = parse_categories(text.encode("utf-8"))

    assert result.malformed == ()
    assert result.categories == (
        CategoryRecord("BAGS", None, {"en": "Bags", "de": "Taschen", "nl": "Tassen"}, "", ""),
        CategoryRecord(
            "BAGS/SHOPPING_BAGS",
            "BAGS",
            {"en": "Shopping bags", "de": "Einkaufstaschen", "nl": "Boodschappentassen"},
            "bag-icon",
            "https://img/bags.png",
        ),
        CategoryRecord("OFFICE", None, {"en": "Office", "de": "Büro"}, "", ""),
        CategoryRecord(
            "OFFICE/PENS",
            "OFFICE",
            {"en": "Pens; pencils", "de": "Stifte, Kugelschreiber"},
            "",
            "",
        ),
    )


def test_explicit_parent_listed_after_its_child_still_comes_first_and_keeps_its_data():
    text = (
        "KEY;DE;EN;ICON;IMAGE\n"
        "TEXTILES/PARKAS/OTHER;Textil / Parkas / Sonstige;Textiles / Parkas / Other;;\n"
        "TEXTILES;Textilien;Textiles;t.svg;t.png\n"
    )

    result = parse_categories(text)

    assert keys(result) == ["TEXTILES", "TEXTILES/PARKAS", "TEXTILES/PARKAS/OTHER"]
    textiles, parkas, other = result.categories
    # The file's own row wins over names derived from a descendant.
    assert textiles == CategoryRecord(
        "TEXTILES", None, {"de": "Textilien", "en": "Textiles"}, "t.svg", "t.png"
    )
    assert parkas == CategoryRecord(
        "TEXTILES/PARKAS", "TEXTILES", {"de": "Parkas", "en": "Parkas"}, "", ""
    )
    assert other.parent_key == "TEXTILES/PARKAS"
    assert other.names == {"de": "Sonstige", "en": "Other"}


def test_synthesized_parent_names_need_agreeing_depth():
    text = "KEY;DE;EN;FR\nA/B;Alpha / Beta;Only leaf;\n"

    result = parse_categories(text)

    parent, child = result.categories
    assert parent == CategoryRecord("A", None, {"de": "Alpha"}, "", "")
    assert child.names == {"de": "Beta", "en": "Only leaf"}


def test_synthesized_parent_takes_missing_languages_from_later_descendants():
    text = "KEY;DE;EN\nA/B;Alpha / Beta;\nA/C;;Alpha EN / Gamma\n"

    result = parse_categories(text)

    assert result.categories[0] == CategoryRecord(
        "A", None, {"de": "Alpha", "en": "Alpha EN"}, "", ""
    )


def test_plain_slash_paths_are_split_when_depth_matches():
    result = parse_categories("KEY;DE\nOFFICE/PENS;Büro/Stifte\nX/Y;T-Shirts/Polos / Kurz\n")

    assert [c.names for c in result.categories] == [
        {"de": "Büro"},
        {"de": "Stifte"},
        {"de": "T-Shirts/Polos"},  # " / " is the documented separator and wins
        {"de": "Kurz"},
    ]


def test_empty_and_broken_keys_are_malformed_and_blank_rows_skipped():
    text = "KEY;DE\n;Ohne Schlüssel\n\n;;\nBAGS;Taschen\nBAGS;Nochmal\nA//B;Kaputt\n"

    result = parse_categories(text)

    assert keys(result) == ["BAGS"]
    assert result.malformed == (
        MalformedLine(2, ";Ohne Schlüssel", "empty KEY", None),
        MalformedLine(6, "BAGS;Nochmal", "duplicate KEY BAGS (first seen on line 5)", None),
        MalformedLine(7, "A//B;Kaputt", "category key 'A//B' has an empty path segment", None),
    )


def test_short_rows_and_missing_optional_columns():
    result = parse_categories("KEY;DE;EN\nBAGS\nPENS;Stifte\n")

    assert result.categories == (
        CategoryRecord("BAGS", None, {}, "", ""),
        CategoryRecord("PENS", None, {"de": "Stifte"}, "", ""),
    )


@pytest.mark.parametrize("data", ["DE;EN\nBAGS;Bags\n", "", b"\xef\xbb\xbf", "\n;;\n"])
def test_missing_key_column_raises(data):
    with pytest.raises(FeedDataError, match=r"CAT\.csv has no KEY column"):
        parse_categories(data)
