"""API keys: creating them, finding the key behind a bearer token, revoking them.

A key is ``pds_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored; the plain key is returned once, by ``create_key``, and cannot be recovered. The
first characters (``prefix``) name the key in the admin without revealing it.

``settings.PROMIDATA_API_TOKEN``, when set, is a key of its own (the legacy shared token)
that holds every scope; ``settings.PROMIDATA_METRICS_TOKEN``, when set, one that holds only
``metrics:read`` (for a Prometheus server's configuration). Both are compared in constant
time and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from promidata_sync.models import ApiKey

KEY_PREFIX = "pds_"
PREFIX_LENGTH = 12  # "pds_" and 8 random characters: enough to tell keys apart
ALL_SCOPES = tuple(ApiKey.Scope.values)
# last_used_at is written at most this often per key, so that a busy key does not turn
# every read into a write.
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: a key (by id), the legacy token, or a staff user."""

    label: str  # for logs and throttling: "key 12", "token", "user 3"
    scopes: frozenset[str]
    requests_per_minute: int | None = None


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(name: str, scopes, *, created_by=None, requests_per_minute=None):
    """Create a key; return ``(ApiKey, plain key)``. The plain key is shown once.

    ``scopes`` must be a non-empty subset of ``ApiKey.Scope``; ValueError otherwise.
    """
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(ALL_SCOPES)}; got {scopes}")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        prefix=plain[:PREFIX_LENGTH],
        key_hash=hash_key(plain),
        scopes=scopes,
        created_by=created_by,
        requests_per_minute=requests_per_minute,
    )
    return key, plain


def revoke_key(key: ApiKey) -> None:
    """Revoke ``key`` from now on (idempotent: a second revocation keeps the first time)."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def caller_for_token(token: str) -> Caller | None:
    """The caller a bearer token stands for, or None for an unknown or revoked one.

    Records the key's use (at most once a minute, outside any surrounding transaction's
    fate: a failing request still counts as a use).
    """
    if _is_token(token, settings.PROMIDATA_API_TOKEN):
        return Caller(label="token", scopes=frozenset(ALL_SCOPES))
    if _is_token(token, settings.PROMIDATA_METRICS_TOKEN):
        return Caller(label="metrics token", scopes=frozenset({ApiKey.Scope.METRICS_READ.value}))
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    # The lookup is by hash: equal hashes mean equal keys, and nothing about the stored hash
    # leaks through timing that would help guess a 256-bit key.
    key = ApiKey.objects.filter(key_hash=hash_key(token), revoked_at__isnull=True).first()
    if key is None:
        return None
    _touch(key)
    return Caller(
        label=f"key {key.pk}",
        scopes=frozenset(key.scopes or ()),
        requests_per_minute=key.requests_per_minute,
    )


def _is_token(token: str, configured: str) -> bool:
    """Whether ``token`` is the configured one (never, when none is): constant time."""
    return bool(configured) and hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), configured.encode("utf-8", "surrogatepass")
    )


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    last = key.last_used_at
    if last is not None and (now - last).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
        return
    with transaction.atomic():
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
