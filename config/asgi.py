"""ASGI entry point. Refuses to start with DEBUG off and no real secret key."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from promidata_sync.checks import require_safe_to_serve  # noqa: E402  (needs the settings)

require_safe_to_serve()
