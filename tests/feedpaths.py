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
