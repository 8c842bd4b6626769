"""Paths on the loopback feed server, for fault injection."""

from urllib.parse import urlsplit


def base_path(server) -> str:
    return urlsplit(server.base_url).path


def import_path(server) -> str:
    return urlsplit(server.import_url).path


def family_path(server, sku: str) -> str:
    return f"{base_path(server)}/{sku.split('-')[0]}/{sku}.json"


def port(server) -> int:
    return urlsplit(server.url).port


def index_line(feed, server, sku: str) -> tuple[str, str]:
    """``(url, hash)`` of the family ``sku`` in the feed's Import.txt."""
    for line in feed.import_txt(server.base_url).decode().splitlines()[1:]:
        url, _, digest = line.partition("|")
        if url.endswith(f"/{sku}.json"):
            return url, digest
    raise AssertionError(f"{sku} not in Import.txt")
