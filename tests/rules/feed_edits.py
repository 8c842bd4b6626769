"""Changing families of the loopback feed the way a supplier would: new content, new hash."""

from __future__ import annotations

import hashlib
import json

from tests.feedpaths import family_path, import_path


def family_change(feed, server, *skus: str, brand: str, name_en: str) -> None:
    """Serve each of ``skus`` with another brand and English name, and an Import.txt whose
    lines for them carry the new content's hash (every other line as the feed publishes it).
    Replaces any earlier change: pass every family to change in one call."""
    digests = {}
    for sku in skus:
        code = sku.split("-")[0]
        family = json.loads(feed.family_json(code, sku, server.base_url))
        family["NonLanguageDependedProductDetails"]["Brand"] = brand
        family["ProductDetails"]["en"]["Name"] = name_en
        for child in family["ChildProducts"]:
            child["NonLanguageDependedProductDetails"]["Brand"] = brand
        body = json.dumps(family).encode()
        server.replace(family_path(server, sku), body, "application/json")
        digests[f"/{sku}.json"] = hashlib.sha1(body).hexdigest().upper()
    lines = []
    for line in feed.import_txt(server.base_url).decode().splitlines():
        url, sep, _ = line.partition("|")
        tail = url[url.rfind("/") :]
        lines.append(f"{url}|{digests[tail]}" if sep and tail in digests else line)
    server.replace(import_path(server), ("\n".join(lines) + "\n").encode(), "text/plain")
