"""Keeping secrets out of logs, stored messages, pages and API answers.

The feed's one secret is the profile GUID inside every feed URL (Promidata's only access
control); beside it, the Redis and RabbitMQ passwords, the S3 keys, the API token, the database
password and Django's ``SECRET_KEY``. Two defences, both applied by ``redact``:

- every URL in a text is shortened by ``mask_url`` (scheme, host and the last two path
  segments; never userinfo, query or the folders that hold the GUID);
- every known secret value that is still there (read from the settings) is replaced by
  ``********``, so a secret is hidden even where it does not appear as a URL (a database error
  quoting a key, a repr of a message's arguments).

``sanitize_message`` is what every stored error or warning text goes through: redacted, NUL
and control characters removed, bounded in length.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "********"
# URLs as they appear inside free text: a scheme, then anything up to whitespace or a quote.
_URL_IN_TEXT = re.compile(
    r"\b(?:https?|rediss?|unix|file|postgres(?:ql)?|amqps?|s3)://[^\s'\"<>`]+", re.IGNORECASE
)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# Control characters, and the bidirectional controls that make a line read as another one.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A kept path segment longer than this is shortened: a 10 KB file name says nothing more.
SEGMENT_SHOWN_CHARS = 80
# A secret shorter than this is not replaced: it would mangle ordinary words.
MIN_SECRET_LENGTH = 6
MESSAGE_MAX_CHARS = 2000
# Path segments of the import URL that are the same for every profile (not secret).
_PUBLIC_SEGMENTS = frozenset({"profiles", "live", "import", "import.txt"})


def mask_url(url: str) -> str:
    """``url`` safe to show: scheme, host (and port) and the last two path segments only.

    Never raises, whatever the input (an invalid port, a NUL, a bracket): a URL that cannot be
    parsed comes back as ``<invalid URL>``. Userinfo, query and fragment are always dropped. A
    kept segment that is a GUID or a known secret (a file right in the profile folder, such as
    CAT.csv, has the profile GUID as its folder) shows as ``********``; a long one is shortened.
    """
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
        segments = [s for s in parts.path.split("/") if s]
    except ValueError:
        return "<invalid URL>"
    tail = "/".join(_shown_segment(segment) for segment in segments[-2:])
    if parts.scheme == "file":
        return _ANY_CONTROL.sub("", f"file://…/{tail}")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal, bracketed as it was written
    if port:
        host = f"{host}:{port}"
    prefix = "/…/" if len(segments) > 2 else "/"
    return _ANY_CONTROL.sub("", f"{parts.scheme}://{host}{prefix}{tail}")


def _shown_segment(segment: str) -> str:
    if _UUID.match(unquote(segment)) or segment in known_secrets():
        return REDACTED
    if len(segment) > SEGMENT_SHOWN_CHARS:
        return segment[: SEGMENT_SHOWN_CHARS - 1] + "…"
    return segment


def masked_redis_url(url: str) -> str:
    """A Redis URL with its password hidden, in every form redis-py accepts.

    ``redis://:pw@host``, ``redis://user:pw@host``, ``redis://pw@host`` (redis-py reads a lone
    userinfo as the password), ``?password=pw`` and ``unix://:pw@/path``. The host, port,
    database and other query options stay visible: they are what an operator checks.
    """
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc
    except ValueError:
        return "<invalid URL>"
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if colon and user else f":{REDACTED}@{hostport}"
    path = parts.path
    if not netloc and "@" in path:
        # No "//": "user:pw@host:6379" parses as scheme "user" and path "pw@host:6379".
        path = f"{REDACTED}@{path.rpartition('@')[2]}"
    query = "&".join(
        f"{key}={REDACTED if key.lower() == 'password' else value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    text = f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    return _ANY_CONTROL.sub("", text)


def redact(text: str) -> str:
    """``text`` with every URL masked and every known secret replaced by ``********``."""
    text = redact_secrets(text)
    return _URL_IN_TEXT.sub(lambda match: _mask_any(match.group(0)), text) if text else text


def redact_secrets(text: str) -> str:
    """``text`` with every known secret replaced by ``********`` (URLs otherwise kept)."""
    if not text:
        return text or ""
    text = str(text)
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def sanitize_message(text: str, *, max_chars: int = MESSAGE_MAX_CHARS) -> str:
    """A text fit to store and show: redacted, without NUL or control characters (tabs and
    newlines stay), without lone surrogates, and at most ``max_chars`` long."""
    text = redact(str(text or ""))
    text = _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text


def _mask_any(url: str) -> str:
    scheme = url.partition(":")[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        return masked_redis_url(url)
    return mask_url(url)


def known_secrets() -> tuple[str, ...]:
    """The secret values of the current settings, longest first (empty outside Django)."""
    try:
        from django.conf import settings

        if not settings.configured:
            return ()
        storage = settings.STORAGES.get("default", {}).get("OPTIONS", {})
        databases = tuple(db.get("PASSWORD") or "" for db in settings.DATABASES.values())
        # The SMTP password is one more password to hide (passed with the databases').
        databases += (getattr(settings, "EMAIL_HOST_PASSWORD", "") or "",)
        return _secrets_of(
            settings.PROMIDATA_IMPORT_URL,
            settings.REDIS_URL,
            getattr(settings, "BROKER_URL", ""),
            settings.PROMIDATA_API_TOKEN,
            getattr(settings, "PROMIDATA_METRICS_TOKEN", ""),
            settings.SECRET_KEY,
            storage.get("secret_key") or "",
            databases,
        )
    except Exception:  # never let redaction itself break a log line or an error path
        return ()


@functools.lru_cache(maxsize=8)
def _secrets_of(
    import_url: str,
    redis_url: str,
    broker_url: str,
    api_token: str,
    metrics_token: str,
    secret_key: str,
    s3_secret: str,
    db_passwords: tuple[str, ...],
) -> tuple[str, ...]:
    found = {api_token, metrics_token, secret_key, s3_secret, *db_passwords}
    found.update(profile_secrets(import_url))
    found.update(_redis_passwords(redis_url))
    found.update(_redis_passwords(broker_url))  # amqp:// userinfo reads the same way
    secrets = {s for s in found if s and len(s) >= MIN_SECRET_LENGTH}
    return tuple(sorted(secrets, key=len, reverse=True))


def profile_secrets(import_url: str) -> set[str]:
    """The secret parts of an http(s) import URL: its GUID-like path segments, raw and
    decoded. A ``file://`` URL names local folders, which are not secret."""
    try:
        parts = urlsplit(import_url or "")
    except ValueError:
        return set()
    if parts.scheme not in ("http", "https"):
        return set()
    secrets = set()
    for segment in parts.path.split("/"):
        decoded = unquote(segment)
        if decoded.lower() in _PUBLIC_SEGMENTS:
            continue
        if _UUID.match(decoded) or len(decoded) >= 16:
            secrets.update({segment, decoded})
    if parts.query:
        secrets.add(parts.query)
    return secrets


def _redis_passwords(url: str) -> set[str]:
    try:
        parts = urlsplit(url or "")
        found = {parts.password or ""}
        if parts.username and parts.password is None:
            found.add(parts.username)  # redis-py takes a lone userinfo as the password
        found.update(v for k, v in parse_qsl(parts.query) if k.lower() == "password")
    except ValueError:
        return set()
    return {unquote(s) for s in found if s} | {s for s in found if s}
