"""The pipeline's steps: each is the one place that does one unit of work.

- ``supplier``: plan a supplier's run from the index;
- ``family``: fetch and write one family file;
- ``image``: download and store one image;
- ``webhook``: make one attempt at one webhook delivery.

A step does its write, its run accounting and its failure classification, and returns an
``Outcome`` (``services.work``); its ``give_up`` records a failure once no retry will come.
Network fetches are separate functions that touch no database, so a driver may run them in
threads. Direct mode (``services.direct``) and the queue's actors (through
``queue.registry``) drive these same functions: every line that decides what happens to the
data is here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe, is_expected, is_permanent
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncRun
from promidata_sync.services.work import Outcome

log = logging.getLogger(__name__)

ProgressReporter = Callable[[str, int], None]
_reporter: ContextVar[ProgressReporter | None] = ContextVar("step_progress", default=None)


@contextmanager
def progress_reported_to(reporter: ProgressReporter) -> Iterator[None]:
    """Within the block, ``report_progress`` calls ``reporter`` (the queue's job record)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def report_progress(step: str, percentage: int) -> None:
    """Tell whoever drives this step how far it got; a no-op when nobody listens."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter(step, percentage)


@functools.lru_cache(maxsize=4)
def _fetcher_for(config: SyncConfig) -> Fetcher:
    return Fetcher(config)


def process_tools() -> tuple[SyncConfig, Fetcher]:
    """The settings' configuration and one fetcher per configuration and process: its
    per-thread sessions keep connections to the feed alive from one job to the next."""
    config = SyncConfig.from_settings()
    return config, _fetcher_for(config)


def open_run(run_id: int) -> SyncRun | None:
    """The run, or None when it is finished or an operator asked it to stop."""
    run = SyncRun.objects.select_related("supplier").filter(pk=run_id).first()
    if run is None or run.finished_at or run.stop_requested:
        return None
    return run


def failure(what: str, error: BaseException) -> Outcome:
    """The outcome of a step stopped by ``error``: its sanitised line and whether a retry may
    help. Expected failures are one log line; an unexpected one takes its traceback along."""
    if is_expected(error):
        log.warning("%s failed: %s", what, describe(error))
    else:
        log.error("%s failed: %s", what, describe(error), exc_info=error)
    return Outcome.failed(describe(error), permanent=is_permanent(error))
