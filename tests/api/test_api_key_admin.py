"""API keys in the admin: the key is shown once on creation and works; the list shows the
prefix and last use, never the key; revocation cuts it off at once."""

from __future__ import annotations

import re

import pytest

from promidata_sync.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", password=None)
    client.force_login(admin)
    return client


def test_a_new_key_is_shown_once_and_then_works(admin_client_, client):
    response = admin_client_.post(
        "/admin/promidata_sync/apikey/add/",
        {"name": "web shop", "scopes": ["catalog:read"], "requests_per_minute": ""},
    )

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plain = re.search(r'<code id="api-key"[^>]*>([^<]+)</code>', response.content.decode())[1]
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.created_by.username) == ("web shop", ["catalog:read"], "boss")

    listing = admin_client_.get("/admin/promidata_sync/apikey/").content.decode()
    page = admin_client_.get(f"/admin/promidata_sync/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in listing and plain not in listing and plain not in page

    admin_client_.logout()
    api = client.get("/api/catalog/categories/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.status_code == 200


def test_a_key_needs_a_scope(admin_client_):
    response = admin_client_.post("/admin/promidata_sync/apikey/add/", {"name": "x"})
    assert response.status_code == 200 and b"This field is required" in response.content
    assert not ApiKey.objects.exists()


def test_revoking_from_the_list_cuts_the_key_off(admin_client_, client):
    from promidata_sync.services.api_keys import create_key

    key, plain = create_key("erp", ["catalog:read"])
    response = admin_client_.post(
        "/admin/promidata_sync/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    api = client.get("/api/catalog/categories/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.status_code == 401


def test_a_viewer_cannot_create_keys(viewer_client):
    response = viewer_client.post(
        "/admin/promidata_sync/apikey/add/", {"name": "sneaky", "scopes": ["sync:operate"]}
    )
    assert response.status_code == 403 and not ApiKey.objects.exists()
