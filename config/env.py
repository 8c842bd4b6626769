"""The one place that reads the process environment.

Every setting of the project is read here, through a single django-environ reader, with a safe
default. ``config/settings.py`` imports the values; nothing else touches ``os.environ``.
An optional ``.env`` file next to ``manage.py`` is read first (real environment variables win).
"""

import math
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class Env(environ.Env):
    """django-environ's reader, with a value it cannot read named in one clear line.

    ``env.float("PROMIDATA_HTTP_TIMEOUT_SECONDS")`` of ``abc`` raises ``ImproperlyConfigured``
    naming the variable (``manage.py`` prints it and exits 2), not a bare ``ValueError`` from
    deep inside the settings. Floats must also be finite: ``nan`` is no timeout.
    """

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            value = super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{var} cannot be read: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ImproperlyConfigured(f"{var} must be a finite number, not {value}")
        return value


env = Env()
_dotenv = BASE_DIR / ".env"
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv), overwrite=False)
