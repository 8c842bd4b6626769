"""Is the media storage usable? A start-up check, explicit and as a Django system check.

A missing key is caught when the settings load (``ImproperlyConfigured``); what only the
network can tell (a wrong endpoint, a bucket that does not exist, keys the store refuses) is
checked here, so that a misconfigured store stops a process at start-up with one line instead
of failing every image of a sync.

``storage_check()`` is called by the commands that store images before they start. The system
check is tagged ``promidata_storage`` and registered as a deployment check: ``manage.py check
--deploy`` runs it, while ordinary commands (``migrate``, ``promidata_status``...) do not pay a
network round trip, nor stop working while the bucket is down.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.checks import Error, register

# A start-up check must answer quickly: one attempt, short timeouts (seconds).
CHECK_CONNECT_TIMEOUT_SECONDS = 5
CHECK_READ_TIMEOUT_SECONDS = 10


class StorageUnavailable(Exception):
    """The media storage cannot be used; the message says which and why, without secrets."""


def storage_check() -> None:
    """Raise ``StorageUnavailable`` with one clear line unless media can be stored.

    S3 and S3-compatible stores: the bucket must answer ``HeadBucket`` with the configured
    keys. Local files: the media folder (or its nearest existing parent) must be writable.
    Other backends are trusted.
    """
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["default"]
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        S3Storage = None
    if S3Storage is not None and isinstance(storage, S3Storage):
        _check_bucket(storage)
    elif isinstance(storage, FileSystemStorage):
        _check_folder(Path(storage.location))


def local_media_shared_warning() -> str | None:
    """A warning when media go to this machine's disk while workers on other machines run:
    each machine would then store images on its own disk, which the others (and the web
    machines) cannot see. None otherwise. Only machines already running can be seen."""
    from django.core.files.storage import FileSystemStorage, storages
    from django.db import DatabaseError

    from promidata_sync.services.workers import hosts_live_elsewhere

    if not isinstance(storages["default"], FileSystemStorage):
        return None
    try:
        others = hosts_live_elsewhere()
    except DatabaseError:
        return None  # a warning is no reason to stop; the workers report the database
    if not others:
        return None
    return (
        f"warning: media are stored on this machine's disk (MEDIA_ROOT) while workers on "
        f"{', '.join(others)} also run: images one machine stores are missing on the others; "
        "use S3 or R2 (docs/storage.md, docs/scaling.md), or ignore this if they are all on "
        "this machine"
    )


def _check_bucket(storage) -> None:
    from botocore.config import Config

    where = f"bucket {storage.bucket_name!r} at {storage.endpoint_url or 'AWS S3'}"
    config = storage.client_config.merge(
        Config(
            connect_timeout=CHECK_CONNECT_TIMEOUT_SECONDS,
            read_timeout=CHECK_READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1},
        )
    )
    try:
        # The storage's own session (keys or profile), with a client of our short timeouts.
        client = storage._create_session().client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            verify=storage.verify,
            config=config,
        )
        client.head_bucket(Bucket=storage.bucket_name)
    except Exception as exc:
        raise StorageUnavailable(
            f"media storage unreachable: {where}: {_describe(exc)}; check "
            "AWS_S3_ENDPOINT_URL, AWS_STORAGE_BUCKET_NAME, AWS_S3_REGION_NAME and the keys"
        ) from None


def _describe(exc: Exception) -> str:
    """The error in a few words: the S3 error code when there is one (a 403 or 404)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.get("Code") or "")
        meaning = {"403": "access denied", "404": "no such bucket"}.get(str(status), "")
        words = meaning or (code if code != str(status) else "")
        return f"HTTP {status}" + (f" ({words})" if words else "")
    return f"{type(exc).__name__}: {exc}"


def _check_folder(location: Path) -> None:
    existing = location
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise StorageUnavailable(
            f"media folder {location} is not writable ({existing} is not a writable folder); "
            "check MEDIA_ROOT or PROMIDATA_VAR_DIR"
        )


@register("promidata_storage", deploy=True)
def media_storage_check(app_configs=None, **kwargs) -> list[Error]:
    """``manage.py check --deploy``: the media storage must be usable."""
    try:
        storage_check()
    except StorageUnavailable as exc:
        return [
            Error(
                str(exc),
                hint="See docs/storage.md for the storage settings.",
                id="promidata_sync.E040",
            )
        ]
    return []


def secret_key_problem() -> str | None:
    """Why ``SECRET_KEY`` is unfit for production, or None."""
    from django.conf import settings

    key = settings.SECRET_KEY or ""
    if not key.strip():
        return "DJANGO_SECRET_KEY is empty"
    if key == settings.DEV_SECRET_KEY:
        return "DJANGO_SECRET_KEY is not set (the development key is public)"
    return None


def require_safe_to_serve() -> None:
    """Stop a web process that would serve with DEBUG off and an unfit secret key.

    Called by ``config/wsgi.py`` and ``config/asgi.py`` (so by ``runserver`` too). Signed
    cookies and password-reset tokens made with a key anyone can read in this repository
    would be forgeable. Commands and workers sign nothing and do not check it.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    problem = None if settings.DEBUG else secret_key_problem()
    if problem:
        raise ImproperlyConfigured(
            f"{problem}: set DJANGO_SECRET_KEY to a long random value before serving with "
            'DEBUG off, e.g. python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )


@register("promidata_security", deploy=True)
def secret_key_check(app_configs=None, **kwargs) -> list[Error]:
    """``manage.py check --deploy``: a real secret key (Django's own W009 lets the public
    development key through: it is long and varied enough)."""
    problem = secret_key_problem()
    if problem:
        return [
            Error(
                problem,
                hint="Set DJANGO_SECRET_KEY to a long random value (docs/deployment.md).",
                id="promidata_sync.E050",
            )
        ]
    return []
