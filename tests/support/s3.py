"""S3 for the tests: moto's standalone server (the real S3 protocol over HTTP) on 127.0.0.1.

``moto_s3`` starts ``python -m moto.server`` once per test session on a free port. ``s3_media``
points this process's private storage at a fresh bucket on it, exactly as ROLLCALL_STORAGE_URL
does at start-up (settings.STORAGES and the file fields, which Django binds to their storage when
the models load); ``storage_url`` is the URL to give a worker process for the same bucket.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from tests.support.outages import free_port

KEY, SECRET, REGION = "rollcall-test", "rollcall-test-secret", "us-east-1"


@dataclass
class MotoS3:
    endpoint: str
    process: subprocess.Popen

    @cached_property
    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def storage_url(self, bucket: str) -> str:
        host = self.endpoint.removeprefix("http://")
        return f"s3://{KEY}:{SECRET}@{host}/{bucket}?region={REGION}&secure=false"


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory) -> Iterator[MotoS3]:
    pytest.importorskip("moto.server", reason="moto[server] is in requirements-dev.txt")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start:\n{log.read_text()}") from None
            time.sleep(0.2)
    try:
        yield MotoS3(endpoint=endpoint, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class S3Media:
    s3: MotoS3
    bucket: str

    @property
    def storage_url(self) -> str:
        return self.s3.storage_url(self.bucket)

    def object_names(self) -> list[str]:
        listed = self.s3.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def empty(self) -> None:
        for key in self.object_names():
            self.s3.client.delete_object(Bucket=self.bucket, Key=key)


def use_storage(url: str, settings, monkeypatch) -> None:
    """Configure this process's private storage from ``url``, as start-up would."""
    from django.core.files.storage import storages

    from attendance.files import file_fields
    from config.env import parse_storage_url

    entry = parse_storage_url(url, location=Path(settings.PRIVATE_MEDIA_ROOT))
    settings.STORAGES = {**settings.STORAGES, "default": entry, "private": dict(entry)}
    for _, field in file_fields():
        monkeypatch.setattr(field, "storage", storages["private"])


@pytest.fixture
def s3_media(moto_s3, settings, monkeypatch) -> S3Media:
    bucket = f"rollcall-{uuid.uuid4().hex[:12]}"
    moto_s3.client.create_bucket(Bucket=bucket)
    media = S3Media(s3=moto_s3, bucket=bucket)
    use_storage(media.storage_url, settings, monkeypatch)
    return media
