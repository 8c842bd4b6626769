"""Template filters for the admin pages of promidata_sync."""

from django import template

from promidata_sync.redaction import mask_url, redact

register = template.Library()


@register.filter
def masked_url(value: str) -> str:
    """A feed URL shortened by ``mask_url`` (the profile GUID in it is the feed's only
    secret, so pages never show it whole); anything that is not a URL is returned as is."""
    value = str(value or "")
    return mask_url(value) if "://" in value else value


@register.filter
def redacted(value: str) -> str:
    """A stored text (a job's error) with any secret added since it was stored masked."""
    return redact(str(value or ""))
