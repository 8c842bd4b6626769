"""Static files (the admin's CSS and JS) served by the application itself, with DEBUG off too.

WhiteNoise serves what ``collectstatic`` put into STATIC_ROOT. Before anyone ran it (a fresh
checkout, the tests), STATIC_ROOT does not exist: then the apps' own static folders are served
(``WHITENOISE_USE_FINDERS``, decided in the settings), and the missing folder is no warning on
every request handler.
"""

from pathlib import Path

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise without its "No directory at STATIC_ROOT" warning: the finders cover it."""

    def add_files(self, root, prefix=None):
        if not Path(root).is_dir():
            return
        super().add_files(root, prefix)
