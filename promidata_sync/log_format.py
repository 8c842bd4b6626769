"""Log formatting that keeps secrets out of every log line, Dramatiq's included.

``RedactingFormatter`` passes the whole formatted record (message, arguments and traceback)
through ``redaction.redact``, so a feed URL or a password in a log line comes out masked
whoever logged it. Configured for every handler in ``config/settings.py``.

With ``tracebacks=False`` (the console, when a log file takes the tracebacks) a record's
exception is shortened to one line: an operator at a terminal reads what failed; the
traceback is in the file.
"""

from __future__ import annotations

import logging

from promidata_sync.redaction import redact


class RedactingFormatter(logging.Formatter):
    def __init__(self, *args, tracebacks: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not self.tracebacks:
            record = _without_traceback(record)
        return redact(super().format(record))


def _without_traceback(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` whose exception is one line at the end of the message."""
    exc = record.exc_info[1] if record.exc_info else None
    copy = logging.makeLogRecord(record.__dict__)
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    message = record.getMessage()
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    # The message often names the error already ("family X failed: <the error>").
    suffix = (
        "traceback in the log file"
        if text and text in message
        else f"{detail}; traceback in the log file"
    )
    copy.msg, copy.args = f"{message} [{suffix}]", None
    copy.exc_info, copy.exc_text = None, None
    return copy
