"""Import.txt parsing: line 1 = CAT.csv, then ``url|hash`` lines; never raises."""

import random

import pytest

from promidata_sync.feed import ImportEntry, ImportIndex, MalformedLine, parse_import_index

BASE = "https://promi-dl.de/Profiles/Live/00000000-0000-0000-0000-000000000000"
INDEX_URL = f"{BASE}/Import/Import.txt"
HASH_A = "751159B8B70A7230BA6701227C1C5C63F9F2D108"
HASH_B = "0123456789ABCDEF0123456789ABCDEF01234567"


def parse(text: str | bytes) -> ImportIndex:
    return parse_import_index(text, base_url=INDEX_URL)


def product(path: str, hash_token: str = HASH_A) -> str:
    return f"{BASE}/{path}|{hash_token}"


def test_realistic_file_with_bom_crlf_blanks_duplicates_and_broken_lines():
    lines = [
        f"{BASE}/CAT.csv",  # 1
        product("A23/A23-100804.json"),  # 2
        "",  # 3 blank
        product("A23/A23-100805.json", HASH_B.lower()),  # 4
        "   ",  # 5 blank
        product("A36/A36-MO1001b.json"),  # 6
        product("A23/A23-100804.json"),  # 7 exact repeat
        product("A23/A23-100805.json", HASH_A),  # 8 conflicting hash
        f"{BASE}/A36/A36-MO1002.json",  # 9 no pipe
        product("A36/A36-MO1003.json", ""),  # 10 empty hash
        product("A36/A36-MO1004.xml"),  # 11 not json
        f"ftp://promi-dl.de/A36/A36-MO1005.json|{HASH_A}",  # 12 bad scheme
        f"|{HASH_A}",  # 13 empty url
        product("A36/A36-MO1006.json", "AB CD"),  # 14 whitespace in hash
        f"https://promi-dl.de/A36-MO1007.json|{HASH_A}",  # 15 no supplier folder
        product("A360/A360-CMSOCK_CS01.json"),  # 16
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")

    index = parse(data)

    assert index.categories_url == f"{BASE}/CAT.csv"
    assert index.entries == (
        ImportEntry(f"{BASE}/A23/A23-100804.json", HASH_A, "A23", "A23-100804", 2),
        ImportEntry(f"{BASE}/A23/A23-100805.json", HASH_B, "A23", "A23-100805", 4),
        ImportEntry(f"{BASE}/A36/A36-MO1001b.json", HASH_A, "A36", "A36-MO1001b", 6),
        ImportEntry(f"{BASE}/A360/A360-CMSOCK_CS01.json", HASH_A, "A360", "A360-CMSOCK_CS01", 16),
    )
    assert index.duplicate_lines == 1
    assert [(m.line_number, m.reason, m.supplier_code) for m in index.malformed] == [
        (8, "conflicting hash for family A23-100805 (first seen on line 4)", "A23"),
        (9, "no '|' separator", "A36"),
        (10, "empty hash", "A36"),
        (11, "URL is not a .json file", "A36"),
        (12, "URL scheme 'ftp' is not http, https or file", "A36"),
        (13, "empty URL", None),
        (14, "hash contains whitespace", "A36"),
        (15, "no supplier folder", None),
    ]
    assert index.malformed[1].text == lines[8]
    assert index.supplier_codes() == ["A23", "A36", "A360"]
    assert [e.family_sku for e in index.by_supplier()["A23"]] == ["A23-100804", "A23-100805"]


@pytest.mark.parametrize(
    ("path", "supplier", "family_sku"),
    [
        ("A23/A23-P300.18.json", "A23", "A23-P300.18"),
        ("A36/A36-MO1001b.json", "A36", "A36-MO1001b"),
        ("A360/A360-CMSOCK_CS01.json", "A360", "A360-CMSOCK_CS01"),
        ("A403/A403-K3022IC.JSON", "A403", "A403-K3022IC"),
        ("A23/A23-100%20804.json", "A23", "A23-100 804"),
        ("A23/A23-P%2B1.json", "A23", "A23-P+1"),
        ("A23/A23-P+1.json", "A23", "A23-P+1"),
        ("A23/A23-x.json.json", "A23", "A23-x.json"),
        ("A%2D23/A23-1.json", "A-23", "A23-1"),
    ],
)
def test_file_names_keep_dots_case_and_are_url_decoded(path, supplier, family_sku):
    index = parse(f"{BASE}/CAT.csv\n{product(path)}\n")

    assert index.malformed == ()
    (entry,) = index.entries
    assert (entry.supplier_code, entry.family_sku) == (supplier, family_sku)
    assert entry.url == f"{BASE}/{path}"  # the URL itself is never rewritten


def test_relative_urls_resolve_against_the_index_url():
    index = parse(f"../CAT.csv\n../A23/A23-1.json|{HASH_A}\nA24/A24-2.json|{HASH_B}\n")

    assert index.categories_url == f"{BASE}/CAT.csv"
    assert [(e.url, e.supplier_code, e.family_sku) for e in index.entries] == [
        (f"{BASE}/A23/A23-1.json", "A23", "A23-1"),
        (f"{BASE}/Import/A24/A24-2.json", "A24", "A24-2"),
    ]


def test_hash_is_stripped_and_upper_cased_and_duplicates_compare_case_insensitively():
    index = parse(
        f"{BASE}/CAT.csv\n"
        f"  {BASE}/A23/A23-1.json  |  {HASH_A.lower()}  \n"
        f"{BASE}/A23/A23-1.json|{HASH_A}\n"
    )

    assert [e.hash for e in index.entries] == [HASH_A]
    assert index.duplicate_lines == 1
    assert index.malformed == ()


def test_only_the_first_pipe_splits_and_the_hash_is_an_opaque_token():
    index = parse(f"{BASE}/CAT.csv\n{BASE}/A23/A23-1.json|{HASH_A}|extra\n")

    assert [(e.family_sku, e.hash) for e in index.entries] == [("A23-1", f"{HASH_A}|EXTRA")]
    assert index.malformed == ()


def test_categories_line_with_pipe_uses_the_part_before_it():
    index = parse(f"{BASE}/CAT.csv|{HASH_A}\n{product('A23/A23-1.json')}\n")

    assert index.categories_url == f"{BASE}/CAT.csv"
    assert len(index.entries) == 1


def test_product_line_first_means_no_categories_url():
    index = parse(f"\n\n{product('A23/A23-1.json')}\n{product('A23/A23-2.json')}\n")

    assert index.categories_url is None
    assert [(e.family_sku, e.line_number) for e in index.entries] == [
        ("A23-1", 3),
        ("A23-2", 4),
    ]


@pytest.mark.parametrize("data", [b"", "", "\n\n  \r\n", "\ufeff"])
def test_empty_input(data):
    index = parse(data)

    assert index == ImportIndex(None, (), (), 0)
    assert index.supplier_codes() == []


def test_invalid_utf8_is_replaced_and_the_line_reported():
    data = f"{BASE}/CAT.csv\n".encode() + b"\xff\xfe garbage\n" + product("A1/A1-1.json").encode()

    index = parse(data)

    assert [e.family_sku for e in index.entries] == ["A1-1"]
    (bad,) = index.malformed
    assert bad.line_number == 2
    assert bad.reason == "no '|' separator"
    assert "\ufffd" in bad.text


def test_long_malformed_line_text_is_cut_to_200_characters():
    index = parse(f"{BASE}/CAT.csv\n{'x' * 500}\n")

    assert index.malformed == (MalformedLine(2, "x" * 200, "no '|' separator", None),)


def test_file_scheme_is_accepted():
    index = parse_import_index(
        f"file:///srv/feed/CAT.csv\nfile:///srv/feed/A23/A23-1.json|{HASH_A}\n",
        base_url="file:///srv/feed/Import/Import.txt",
    )

    assert index.categories_url == "file:///srv/feed/CAT.csv"
    assert index.entries[0].url == "file:///srv/feed/A23/A23-1.json"


def test_broken_urls_never_raise():
    index = parse(f"{BASE}/CAT.csv\nhttp://[::1/A1/A1-1.json|{HASH_A}\n")

    assert index.entries == ()
    assert index.malformed[0].reason == "invalid URL"


def test_random_bytes_never_crash_seeded():
    """Deterministic fuzz that runs even where hypothesis is not installed."""
    rng = random.Random(20240601)
    alphabet = b"|/.:%\r\n\t jsonJSONhtpfileA0123456789\xef\xbb\xbf\xff\x00["
    for _ in range(500):
        size = rng.randint(0, 300)
        if rng.random() < 0.5:
            data = bytes(rng.getrandbits(8) for _ in range(size))
        else:
            data = bytes(rng.choice(alphabet) for _ in range(size))
        index = parse(data)
        assert isinstance(index, ImportIndex)
        for entry in index.entries:
            assert entry.url and entry.hash and entry.supplier_code and entry.family_sku


def test_random_bytes_never_crash_hypothesis():
    import hypothesis
    from hypothesis import strategies

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(data=strategies.binary(max_size=500), base=strategies.text(max_size=40))
    def check(data, base):
        index = parse_import_index(data, base_url=base)
        assert isinstance(index, ImportIndex)

    check()
