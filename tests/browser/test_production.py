"""The production configuration, started for real: ``collectstatic``, gunicorn with DEBUG off
and the settings of docs/deployment.md, then Chromium logs in to the admin.

The one relaxation is the one the deployment guide documents for trying the settings on one
machine without TLS: ``DJANGO_SECURE_SSL_REDIRECT=false`` and the local origin trusted for
CSRF. Everything else (secure cookies, HSTS, DEBUG off, a real secret key) stays on; browsers
keep Secure cookies for loopback addresses over plain HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

import pytest
from django.db import connection

from tests.browser.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# docs/deployment.md's production settings (the host names are this machine's).
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "q7Vb2-Lm_9xTz4Kp8Rw1Nc6Hs3Jd0Fg5Ya2Ue7Io4Pl9Mk1Nj6Bh3Gv8Cx5Zt",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # the documented relaxation: no TLS proxy here
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "true",
    "PROMIDATA_LOG_FILE": "",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    """The test database pytest-django created, so gunicorn sees this test's committed rows."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_serving(url: str, server: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}: {server.stderr.read()}")
        try:
            with urlopen(url, timeout=1):
                return
        except HTTPError:
            return  # any HTTP answer means it serves
        except (URLError, OSError):
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer within 15 s")


@pytest.fixture
def production_server(tmp_path, django_user_model):
    """gunicorn serving the collected static files with DEBUG off; yields its base URL."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMIDATA_"))},
        **PRODUCTION,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": origin,
        "DATABASE_URL": _database_url(),
        "PROMIDATA_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    environment.pop("REDIS_URL", None)
    environment.pop("BROKER_URL", None)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css.gz").is_file()  # compressed too

    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            "--threads=4",
            "--graceful-timeout=2",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_serving(f"{origin}/healthz", server, time.monotonic() + 15)
        yield origin
    finally:
        server.terminate()  # SIGTERM: gunicorn's graceful stop, as systemd sends it
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_admin_is_styled_and_clean_under_gunicorn_with_debug_off(production_server, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    stylesheets: dict[str, int] = {}
    page.on(
        "response",
        lambda r: stylesheets.__setitem__(r.url, r.status) if r.url.endswith(".css") else None,
    )
    try:
        # "/" leads to the admin (its login page, for a visitor).
        page.goto(f"{production_server}/")
        assert page.url.startswith(f"{production_server}/admin/login/")
        assert page.title() == "Log in | promidata-sync"
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.click('input[type="submit"]')
        page.wait_for_url(f"{production_server}/admin/")

        # Styled: the admin's stylesheets load, and the header has the admin's colours and
        # layout rather than the browser's defaults.
        base_css = f"{production_server}/static/admin/css/base.css"
        assert stylesheets.get(base_css) == 200, stylesheets
        assert stylesheets.get(f"{production_server}/static/promidata_sync/admin.css") == 200
        header = page.evaluate(
            "() => { const s = getComputedStyle(document.querySelector('#header'));"
            " return {bg: s.backgroundColor, display: s.display}; }"
        )
        assert header["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"), header
        assert header["display"] == "flex", header
        assert page.locator("#site-name").inner_text() == "promidata-sync"
        icon = page.locator('link[rel="icon"]').get_attribute("href")
        assert icon == "/static/promidata_sync/favicon.svg"
        with urlopen(f"{production_server}{icon}", timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("image/svg")
        # Media are not Django's business with DEBUG off (nginx or the bucket serves them).
        with pytest.raises(HTTPError) as missing:
            urlopen(f"{production_server}/media/ab/cd/x.png", timeout=5)
        assert missing.value.code == 404
        assert problems == []
    finally:
        context.close()
