"""Users and clients for the admin and API tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q

VIEW_APPS = ("catalog", "promidata_sync")


def staff_user(django_user_model, username: str, *, operate: bool, password: str | None = None):
    """A staff user who may view everything of the two apps and change suppliers; with
    ``operate`` also ``promidata_sync.operate_sync``. Without a password (no slow hashing)
    log in with ``force_login``."""
    user = django_user_model.objects.create_user(username, password=password, is_staff=True)
    wanted = Q(content_type__app_label__in=VIEW_APPS, codename__startswith="view_") | Q(
        codename="change_supplier"
    )
    if operate:
        wanted |= Q(codename="operate_sync")
    user.user_permissions.add(*Permission.objects.filter(wanted))
    return user


@pytest.fixture
def operator(django_user_model):
    return staff_user(django_user_model, "operator", operate=True)


@pytest.fixture
def viewer(django_user_model):
    return staff_user(django_user_model, "viewer", operate=False)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def no_in_process_worker(monkeypatch):
    """Queue syncs without starting the in-process worker: these tests look at what the
    admin asked for, not at the jobs running (the browser tests run them)."""
    monkeypatch.setattr("promidata_sync.operations.ensure_in_process_worker", lambda: None)
