"""Description HTML as the API serves it: the feed's markup, reduced to an allowlist.

Supplier descriptions are HTML written by hand or exported from other systems; a shop
that renders them as they come would run whatever a supplier (or anyone between) put
there. ``nh3`` (the Rust ``ammonia`` sanitiser) keeps text and the formatting tags below,
drops everything else (scripts, styles, event handlers, ``javascript:`` links, iframes),
and closes what was left open. The stored text stays as sent (staff see it, and the raw
family file, in the admin).
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "li", "ol", "p", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(text: str) -> str:
    """``text`` with only the allowed tags and attributes; links get rel="noopener
    noreferrer nofollow". Plain text comes back as it was, with ``<`` and ``&`` escaped."""
    if not text:
        return ""
    return nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def sanitise_texts(texts) -> dict[str, str]:
    """``{language: html}`` with every value sanitised; anything that is not a string
    (the feed's JSON is not always what it should be) is left out."""
    if not isinstance(texts, dict):
        return {}
    return {str(lang): sanitise_html(html) for lang, html in texts.items() if isinstance(html, str)}
