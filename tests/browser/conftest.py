"""Headless Chromium (Debian's, through Playwright) against pytest-django's live server.

Queue mode runs without REDIS_URL here: ``start_sync`` starts an in-process worker inside
the live server's process, which is this process. The ``in_process_worker`` fixture stops it
before the test's rows are flushed. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q

from promidata_sync.queue.broker import stop_in_process_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        # Never a silent skip: scripts/test.py installs it; anything else must say so.
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test.py does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop registered as running in this thread, which
    # makes Django refuse ORM calls from the test body. The test code is synchronous; the loop
    # only drives the browser connection.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def in_process_worker():
    yield
    stop_in_process_worker()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def make_staff(django_user_model, username: str, *, operate: bool):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    wanted = Q(
        content_type__app_label__in=("catalog", "promidata_sync"), codename__startswith="view_"
    ) | Q(codename="change_supplier")
    if operate:
        wanted |= Q(codename="operate_sync")
    user.user_permissions.add(*Permission.objects.filter(wanted))
    return user


@pytest.fixture
def login(browser, live_server):
    """``login(user)``: a new page of a fresh browser context, logged in to the admin."""
    contexts = []

    def log_in(user, *, width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click('input[type="submit"]')
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    yield log_in
    for context in contexts:
        context.close()
