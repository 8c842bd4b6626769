"""WSGI entry point. Refuses to start with DEBUG off and no real secret key."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from promidata_sync.checks import require_safe_to_serve  # noqa: E402  (needs the settings)

require_safe_to_serve()
