"""Where this process's settings come from, for messages about a setting that is missing.

A worker started in another shell, or by systemd, does not see what the operator exported in
the shell that starts syncs. A message saying "PROMIDATA_IMPORT_URL is not set", read in the
admin, then points at the wrong place: this module lets a worker say it is the worker's
environment, and which ``.env`` it reads.
"""

from __future__ import annotations

_worker_process = False


def mark_worker_process() -> None:
    """Called once by a worker group process before it consumes anything."""
    global _worker_process
    _worker_process = True


def is_worker_process() -> bool:
    return _worker_process


def environment_message(problem: str, *, hint: str = "") -> str:
    """``problem`` (``"PROMIDATA_IMPORT_URL is not set"``) with ``hint`` after a colon; in a
    worker, prefixed ``worker environment:`` and naming the ``.env`` the worker reads."""
    if _worker_process:
        from django.conf import settings

        problem = (
            f"worker environment: {problem} (this worker reads .env from {settings.BASE_DIR} "
            "and its own environment)"
        )
    return f"{problem}: {hint}" if hint else problem
