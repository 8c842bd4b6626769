"""Changing one family of the loopback feed the way a supplier would: new content, new hash."""

from __future__ import annotations

import hashlib
import json

from tests.feedpaths import family_path, import_path


def family_change(feed, server, sku: str, *, brand: str, name_en: str) -> None:
    """Serve ``sku`` with another brand and English name, and an Import.txt whose line for it
    carries the new content's hash (every other line as the feed publishes it)."""
    code = sku.split("-")[0]
    family = json.loads(feed.family_json(code, sku, server.base_url))
    family["NonLanguageDependedProductDetails"]["Brand"] = brand
    family["ProductDetails"]["en"]["Name"] = name_en
    for child in family["ChildProducts"]:
        child["NonLanguageDependedProductDetails"]["Brand"] = brand
    body = json.dumps(family).encode()
    server.replace(family_path(server, sku), body, "application/json")
    digest = hashlib.sha1(body).hexdigest().upper()
    lines = []
    for line in feed.import_txt(server.base_url).decode().splitlines():
        url, sep, _ = line.partition("|")
        lines.append(f"{url}|{digest}" if sep and url.endswith(f"/{sku}.json") else line)
    server.replace(import_path(server), ("\n".join(lines) + "\n").encode(), "text/plain")
