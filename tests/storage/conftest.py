"""A real S3 API on loopback (moto's standalone server) behind django-storages.

``moto_endpoint`` starts one server for the session; ``bucket`` creates a fresh bucket per test,
points Django's default storage at it and, after the test, checks that the bucket's objects and
the ``Media`` rows agree exactly. ``s3_calls`` records every S3 API call this process makes
(whatever thread or boto3 session makes it), so a test can count uploads.
"""

from __future__ import annotations

import io
import random
import threading
import uuid
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.client import BaseClient
from django.core.files.storage import default_storage, storages
from moto.server import ThreadedMotoServer
from PIL import Image

from catalog.models import Media

REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "testing-access-key", "testing-secret-key"
UPLOADS = ("PutObject", "CreateMultipartUpload", "CopyObject")


@pytest.fixture(scope="session")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_options(endpoint: str, bucket_name: str, **extra) -> dict:
    """``S3Storage`` options as ``config/settings.py`` builds them, aimed at ``endpoint``."""
    return {
        "bucket_name": bucket_name,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "addressing_style": "path",
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": False,
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        **extra,
    }


def use_s3(settings, endpoint: str, bucket_name: str) -> None:
    """Point the default storage at the bucket, and make sure no cached storage survives."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_options(endpoint, bucket_name),
        },
    }
    # Django's setting_changed handler resets both caches; checked rather than trusted, since
    # a stale filesystem storage would make every assertion below about the wrong store.
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)
    assert default_storage.bucket_name == bucket_name


@dataclass
class Bucket:
    name: str
    client: object

    def objects(self) -> dict[str, dict]:
        """``{key: {"ETag", "LastModified", "Size"}}`` of every object in the bucket."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return {
            obj["Key"]: {k: obj[k] for k in ("ETag", "LastModified", "Size")}
            for page in pages
            for obj in page.get("Contents", [])
        }

    def keys(self) -> set[str]:
        return set(self.objects())

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)


def assert_bucket_matches_media(bucket: Bucket) -> None:
    """The bucket holds exactly one object per ``Media`` row, under the row's key."""
    names = list(Media.objects.values_list("file", flat=True))
    assert len(names) == len(set(names))
    assert bucket.keys() == set(names)
    for media in Media.objects.all():
        assert media.file.name == media.storage_key()


@pytest.fixture
def bucket(moto_endpoint, settings, db) -> Bucket:
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    name = f"media-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    use_s3(settings, moto_endpoint, name)
    made = Bucket(name, client)
    yield made
    assert_bucket_matches_media(made)


@dataclass
class S3Calls:
    """S3 API calls made by this process: ``(operation, bucket, key)``."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def uploads(self, bucket: Bucket) -> list[str]:
        """Keys written to ``bucket`` (single-part, multipart or copy)."""
        with self.lock:
            return [k for op, b, k in self.calls if op in UPLOADS and b == bucket.name]

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


@pytest.fixture
def s3_calls(monkeypatch) -> S3Calls:
    record = S3Calls()
    original = BaseClient._make_api_call

    def counting(client, operation_name, api_params):
        if client.meta.service_model.service_name == "s3":
            with record.lock:
                record.calls.append(
                    (operation_name, api_params.get("Bucket", ""), api_params.get("Key", ""))
                )
        return original(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return record


def encode_image(fmt: str = "PNG", size=(16, 16), *, seed: int = 7, noise: bool = False) -> bytes:
    """Real image bytes: a flat colour from ``seed``, or incompressible noise."""
    rng = random.Random(seed)
    if noise:
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()
