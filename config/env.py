"""The one place that reads the process environment.

Every setting of the project is read here, through a single django-environ reader, with a safe
default. ``config/settings.py`` imports the values; nothing else touches ``os.environ``.
An optional ``.env`` file next to ``manage.py`` is read first (real environment variables win).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_dotenv = BASE_DIR / ".env"
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv), overwrite=False)
