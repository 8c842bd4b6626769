"""Storage from the environment: S3 when a bucket is set, and clear failures when it is wrong."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from promidata_sync.checks import StorageUnavailable, storage_check
from tests.storage.conftest import use_s3

ROOT = django_settings.BASE_DIR
PRINT_STORAGE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.STORAGES['default']))"
)


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose settings load from ``env`` (and no AWS_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("keys", "missing"),
    [
        ({}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are"),
        ({"AWS_ACCESS_KEY_ID": "key-id", "AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY is"),
    ],
)
def test_bucket_without_keys_stops_the_start_with_one_clear_line(keys, missing):
    result = run_django(PRINT_STORAGE, AWS_STORAGE_BUCKET_NAME="catalog-media", **keys)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "django.core.exceptions.ImproperlyConfigured: AWS_STORAGE_BUCKET_NAME is set "
        f"('catalog-media') but {missing} not: set the bucket's access keys, or unset "
        "AWS_STORAGE_BUCKET_NAME to keep media on the local disk"
    )


def test_without_a_bucket_media_stay_on_the_local_disk():
    result = run_django(PRINT_STORAGE)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_r2_settings_build_an_s3_storage_for_content_addressed_keys():
    result = run_django(
        PRINT_STORAGE,
        AWS_STORAGE_BUCKET_NAME="catalog-media",
        AWS_ACCESS_KEY_ID="key-id",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_S3_ENDPOINT_URL="https://0123abcd.r2.cloudflarestorage.com",
        AWS_S3_REGION_NAME="auto",
        AWS_S3_CUSTOM_DOMAIN="media.example.com",
    )

    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "catalog-media"
    assert options["endpoint_url"] == "https://0123abcd.r2.cloudflarestorage.com"
    assert options["region_name"] == "auto"
    assert options["custom_domain"] == "media.example.com"
    assert options["file_overwrite"] is True
    assert options["default_acl"] is None
    assert options["querystring_auth"] is False  # public custom domain: plain URLs


def test_private_aws_bucket_signs_its_urls_unless_told_otherwise():
    env = {
        "AWS_STORAGE_BUCKET_NAME": "catalog-media",
        "AWS_ACCESS_KEY_ID": "key-id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_S3_REGION_NAME": "eu-central-1",
    }
    signed = json.loads(run_django(PRINT_STORAGE, **env).stdout)["OPTIONS"]
    plain = json.loads(run_django(PRINT_STORAGE, **env, AWS_QUERYSTRING_AUTH="false").stdout)

    assert (signed["endpoint_url"], signed["custom_domain"]) == (None, None)
    assert signed["querystring_auth"] is True
    assert plain["OPTIONS"]["querystring_auth"] is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("fault", ["no-such-bucket", "nothing-listening"])
@pytest.mark.django_db
def test_unreachable_bucket_fails_the_check_and_the_commands_that_store_images(
    moto_endpoint, settings, fault
):
    if fault == "no-such-bucket":
        endpoint, expected = moto_endpoint, "HTTP 404 (no such bucket)"
    else:
        endpoint, expected = f"http://127.0.0.1:{_closed_port()}", "EndpointConnectionError"
    name = f"missing-{uuid.uuid4().hex[:8]}"
    use_s3(settings, endpoint, name)

    with pytest.raises(StorageUnavailable) as raised:
        storage_check()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"media storage unreachable: bucket '{name}' at {endpoint}: ")
    assert expected in message

    errors = run_checks(include_deployment_checks=True, tags=["promidata_storage"])
    assert [(e.id, e.msg) for e in errors] == [("promidata_sync.E040", message)]
    assert run_checks(tags=["promidata_storage"]) == []  # not on every command, only --deploy

    with pytest.raises(CommandError) as stopped:
        call_command("promidata_sync", "--direct")
    assert (str(stopped.value), stopped.value.returncode) == (message, 2)
    with pytest.raises(CommandError, match="media storage unreachable"):
        call_command("promidata_media_prune")


def test_reachable_bucket_and_writable_media_folder_pass(bucket, settings, tmp_path):
    storage_check()
    assert run_checks(include_deployment_checks=True, tags=["promidata_storage"]) == []

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = str(tmp_path / "not" / "created" / "yet")
    storage_check()
