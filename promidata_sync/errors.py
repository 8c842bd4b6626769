"""What went wrong, in words fit to store, and whether trying again can help.

Everything that handles one family, image or supplier catches whatever it raised, expected or
not, and asks two questions of it here:

- ``describe(exc)``: one sanitised line to record on the item (no traceback, no secret). The
  sync's own errors (``FetchError``, ``FeedDataError``, ``InvalidImage``, ``FeedUnreadable``...)
  are written for people and are kept as they are; anything else is an internal error and is
  named with its type, so that the operator can tell a bad file from a bug.
- ``is_permanent(exc)``: False only when a retry later may succeed by itself: the network or a
  server was down or slow, the database or Redis connection broke, a lock was taken. Bad data
  and bugs are permanent: running the same job on the same input fails the same way, so the
  queue fails it at once instead of retrying it five times.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from promidata_sync.environment import environment_message
from promidata_sync.feed import FeedDataError
from promidata_sync.imaging import InvalidImage
from promidata_sync.redaction import sanitize_message

DESCRIPTION_MAX_CHARS = 500


class SyncError(Exception):
    """Base of the sync's own errors: a message written for the operator, and ``permanent``,
    the one answer to "will a retry help?" (``FetchError``, ``FeedUnreadable`` and
    ``StepFailed`` all say it here; ``is_permanent`` answers it for any exception)."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None):
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class StepFailed(SyncError):
    """A queue job whose step failed (``Outcome.failed``): carries the step's sanitised line
    and its verdict. The actors' ``retry_when`` asks ``is_permanent`` of it, so Dramatiq
    fails a permanent one at once and retries a transient one with backoff."""


# Exception type names (module-qualified prefixes) that mean "the infrastructure failed for a
# moment": named rather than imported, so this module needs neither redis nor botocore.
_TRANSIENT_TYPES = (
    "django.db.utils.OperationalError",  # connection lost, deadlock, "database is locked"
    "django.db.utils.InterfaceError",  # connection closed
    "redis.exceptions.ConnectionError",
    "redis.exceptions.TimeoutError",
    "redis.exceptions.BusyLoadingError",
    "botocore.exceptions.EndpointConnectionError",
    "botocore.exceptions.ConnectTimeoutError",
    "botocore.exceptions.ReadTimeoutError",
    "botocore.exceptions.ConnectionClosedError",
    "urllib3.exceptions.ProtocolError",
    "dramatiq.middleware.time_limit.TimeLimitExceeded",  # a hung request: the next may pass
)
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
)


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying ``exc``'s job later cannot help by itself (see the module docstring)."""
    if isinstance(exc, SyncError):
        return exc.permanent
    if isinstance(exc, FeedDataError | InvalidImage):
        return True
    database = _database_verdict(exc)
    if database is not None:
        return database
    for cls in type(exc).__mro__:
        if f"{cls.__module__}.{cls.__qualname__}" in _TRANSIENT_TYPES:
            return False
    if isinstance(exc, ConnectionError | TimeoutError):  # the built-in OSErrors
        return False
    response = getattr(exc, "response", None)  # botocore's ClientError
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return not (code in _TRANSIENT_S3_CODES or int(status) >= 500)
    return True


def _database_verdict(exc: BaseException) -> bool | None:
    """For a database error that says what it is, whether it is permanent; else None.

    PostgreSQL's SQLSTATE class tells a broken connection, a deadlock or a shutdown (08, 40,
    53, 57, 58: try again) from a value or a limit (22, 23, 54: the same row fails again).
    SQLite only says "locked" or "busy" when another writer was in the way.
    """
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return sqlstate[:2] not in _TRANSIENT_SQLSTATE_CLASSES
    if type(cause).__module__ == "sqlite3" and type(exc).__name__ == "OperationalError":
        message = str(exc).lower()
        return not ("locked" in message or "busy" in message)
    return None


def is_expected(exc: BaseException) -> bool:
    """True for the sync's own errors, whose message is written for the operator."""
    return isinstance(exc, SyncError | FeedDataError | InvalidImage)


def describe(exc: BaseException) -> str:
    """One sanitised line saying what ``exc`` was, to store on the item it concerns."""
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else ""
    if is_expected(exc) and first_line:
        return sanitize_message(first_line, max_chars=DESCRIPTION_MAX_CHARS)
    if isinstance(exc, ImproperlyConfigured) and first_line:
        # A setting read late (in a job): the operator's to fix, in the right environment.
        return sanitize_message(
            environment_message(f"configuration error: {first_line}"),
            max_chars=DESCRIPTION_MAX_CHARS,
        )
    name = type(exc).__name__
    detail = f"{name}: {first_line}" if first_line else name
    return sanitize_message(f"internal error: {detail}", max_chars=DESCRIPTION_MAX_CHARS)
