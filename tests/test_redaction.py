"""Secrets stay secret: masked URLs, redacted texts, log lines, the debug page, the secret key."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response
from hypothesis import given
from hypothesis import strategies as st

from promidata_sync.log_format import RedactingFormatter
from promidata_sync.redaction import mask_url, masked_redis_url, redact, sanitize_message

ROOT = Path(__file__).resolve().parents[1]
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
IMPORT_URL = f"https://promi-dl.de/Profiles/Live/{GUID}/Import/Import.txt"
REDIS_PASSWORD = "s3cret-redis-pw"


@pytest.fixture
def secret_settings(settings):
    settings.PROMIDATA_IMPORT_URL = IMPORT_URL
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
    settings.PROMIDATA_API_TOKEN = "api-token-value-123"
    return settings


@given(st.text(max_size=300))
def test_mask_url_never_raises_and_never_returns_control_characters(text):
    for candidate in (text, f"http://{text}", f"http://h:{text}/x", f"file:///{text}"):
        masked = mask_url(candidate)
        assert isinstance(masked, str)
        assert not any(ord(c) < 32 for c in masked)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (IMPORT_URL, "https://promi-dl.de/…/Import/Import.txt"),
        ("http://host:99999/x.png", "http://host/x.png"),
        ("http://host:abc/x.png", "http://host/x.png"),
        ("http://[::1]:8080/a/b/c.json", "http://[::1]:8080/…/b/c.json"),
        ("http://user:pw@host/a.json?token=x#f", "http://host/a.json"),
        ("file:///srv/feed/%00/A1.json", "file://…/%00/A1.json"),
        ("http://[broken/x", "<invalid URL>"),
    ],
)
def test_mask_url_shows_host_and_last_two_segments_only(url, shown):
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{REDIS_PASSWORD}@h:6379/0",
        f"rediss://user:{REDIS_PASSWORD}@h/1",
        f"redis://h/0?password={REDIS_PASSWORD}&db=1",
        f"unix://:{REDIS_PASSWORD}@/run/redis.sock?db=0",
        f"redis://{REDIS_PASSWORD}@h",
        # Typed without a scheme: the user name parses as one and the password as the path.
        f"guest:{REDIS_PASSWORD}@mq:5672/vhost",
    ],
)
def test_redis_urls_are_masked_in_every_form(url):
    masked = masked_redis_url(url)
    assert REDIS_PASSWORD not in masked
    assert "********" in masked


def test_redact_hides_every_known_secret_wherever_it_appears(secret_settings):
    text = (
        f"DETAIL: Key (url)=({IMPORT_URL.replace('Import/Import.txt', 'A23/A23-1.json')}) "
        f"exists; profile {GUID}; {secret_settings.REDIS_URL}; token api-token-value-123; "
        f"sync_product_family(url='http://promi-dl.de/Profiles/Live/{GUID}/A23/A23-1.json')"
    )

    redacted = redact(text)

    assert GUID not in redacted
    assert REDIS_PASSWORD not in redacted
    assert "api-token-value-123" not in redacted
    assert "A23/A23-1.json" in redacted  # what an operator needs to see stays


def test_sanitize_message_is_fit_to_store():
    message = sanitize_message("bad\x00 value \x07" + "\ud800" + "x" * 5000, max_chars=100)
    assert len(message) == 100 and "\x00" not in message and "\x07" not in message
    message.encode("utf-8")  # no lone surrogate left


def test_log_lines_are_redacted_and_the_console_gets_one_line(secret_settings):
    try:
        raise ValueError(f"could not read {IMPORT_URL}")
    except ValueError:
        record = logging.getLogger("dramatiq.worker").makeRecord(
            "dramatiq.worker",
            logging.ERROR,
            __file__,
            1,
            "Failed to process message sync_product_family(url=%r)",
            (IMPORT_URL,),
            sys.exc_info(),
        )

    console = RedactingFormatter("%(message)s", tracebacks=False).format(record)
    full = RedactingFormatter("%(message)s").format(record)

    assert GUID not in console and GUID not in full
    assert "\n" not in console and "ValueError" in console and "traceback in the log" in console
    assert "Traceback (most recent call last)" in full


def test_the_debug_page_shows_no_secret(secret_settings, monkeypatch):
    secret_settings.DEBUG = True
    monkeypatch.setenv("PROMIDATA_IMPORT_URL", IMPORT_URL)
    request = RequestFactory().get("/admin/")
    request.META["PROMIDATA_IMPORT_URL"] = IMPORT_URL  # the environment, as runserver passes it
    import_url = IMPORT_URL  # a local variable of the failing frame  # noqa: F841
    try:
        raise RuntimeError(f"feed at {IMPORT_URL} broke")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())

    page = response.content.decode()
    assert response.status_code == 500
    assert GUID not in page
    assert REDIS_PASSWORD not in page
    assert "PROMIDATA_IMPORT_URL" in page  # the setting is listed, its secret part is not


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_production_refuses_to_serve_with_the_default_or_an_empty_secret_key():
    for key in (None, ""):
        env = {"DJANGO_DEBUG": "false"}
        if key is not None:
            env["DJANGO_SECRET_KEY"] = key
        result = _python("import config.wsgi", **env)
        assert result.returncode != 0
        # Ours for the public development key; Django's own for an empty one.
        assert "ImproperlyConfigured:" in result.stderr and "SECRET_KEY" in result.stderr

    assert _python("import config.wsgi", DJANGO_DEBUG="true").returncode == 0
    served = _python("import config.asgi", DJANGO_SECRET_KEY="k" * 20 + "x9!Q-long-random-value")
    assert served.returncode == 0, served.stderr


def test_check_deploy_is_clean_on_the_documented_production_settings(tmp_path):
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "y8Jz2-Qe_4kRv9wLmN3pXs7tUa1bCd6fGh0iJk5lMn8oPq2rSt4uVw6xYz",
        "DJANGO_ALLOWED_HOSTS": "sync.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://sync.example.com",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_SECURE_HSTS_SECONDS": "31536000",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_SECURE_HSTS_PRELOAD": "true",
        "DJANGO_SECURE_COOKIES": "true",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROMIDATA_VAR_DIR": str(tmp_path / "var"),
    }
    code = (
        "import os, sys; sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'];"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(sys.argv)"
    )
    clean = _python(code, **production)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    del production["DJANGO_SECRET_KEY"]
    flagged = _python(code, **production)
    assert flagged.returncode != 0
    assert "promidata_sync.E050" in flagged.stdout + flagged.stderr


def test_a_file_right_in_the_profile_folder_hides_the_guid(secret_settings):
    for url in [f"https://promi-dl.de/Profiles/Live/{GUID}/CAT.csv", f"http://h/x/{GUID}/a.png"]:
        assert GUID not in mask_url(url)
    # A GUID-like folder is hidden even where the import URL is not known (another process).
    assert "9c2f" not in mask_url("http://h/Live/9c2f1b52-1111-2222-3333-444455556666/CAT.csv")


def test_a_long_segment_is_shortened_and_bidi_controls_are_removed():
    shown = mask_url("http://h/a/" + "n" * 10_000 + "\u202egnp.exe")
    assert len(shown) < 120 and "\u202e" not in shown
    assert "\u202e" not in sanitize_message("file \u202egnp.exe failed")
