"""Django's debug page without our secrets (``DJANGO_DEBUG=true`` is the quick start's advice).

Django hides settings whose names look secret (KEY, TOKEN, PASS...), but not
``PROMIDATA_IMPORT_URL`` (the profile GUID), ``REDIS_URL``, the broker options or environment
variables in ``request.META``, nor the values of local variables in the traceback. Here every
setting, META value and frame variable goes through ``redaction.redact``, and the whole page
through ``redaction.redact_secrets``. Wired in by ``DEFAULT_EXCEPTION_REPORTER`` and
``DEFAULT_EXCEPTION_REPORTER_FILTER`` in ``config/settings.py``.
"""

from __future__ import annotations

import pprint

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from promidata_sync.redaction import redact, redact_secrets


class _Shown:
    """A frame variable as the page prints it: its redacted pretty-printed form."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SecretsFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return redact(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        shown = []
        for name, value in variables:
            try:
                text = pprint.pformat(value)
            except Exception:
                text = f"<{type(value).__name__}>"
            shown.append((name, _Shown(redact(text))))
        return shown


class SecretsReporter(ExceptionReporter):
    def get_traceback_html(self):
        return redact_secrets(super().get_traceback_html())

    def get_traceback_text(self):
        return redact_secrets(super().get_traceback_text())
