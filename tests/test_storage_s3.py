"""Private media on S3-compatible storage, chosen by settings: the URL reader, and a private
bucket on moto's S3 server read only through permission-checked views."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from attendance.models import Capture
from config.env import ImproperlyConfiguredEnv, env_storage, parse_storage_url
from tests.conftest import jpeg_bytes

DISK = Path("/srv/rollcall/private")


def test_a_blank_storage_url_keeps_files_on_the_local_disk():
    assert parse_storage_url("", location=DISK) == {
        "BACKEND": "attendance.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": DISK, "base_url": None},
    }
    assert parse_storage_url("file:///data/photos", location=DISK)["OPTIONS"]["location"] == Path(
        "/data/photos"
    )


def test_an_s3_url_names_endpoint_bucket_credentials_and_region():
    entry = parse_storage_url(
        "s3://minio%2Fuser:s3cr%40t@minio:9000/rollcall-private?region=eu-west-1&secure=false",
        location=DISK,
    )

    assert entry == {
        "BACKEND": "attendance.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": "rollcall-private",
            "endpoint_url": "http://minio:9000",
            "access_key": "minio/user",
            "secret_key": "s3cr@t",
            "region_name": "eu-west-1",
            "addressing_style": "path",
        },
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/bucket", "must start with s3:// or file://"),
        ("s3://key:secret@minio:9000/", "names no bucket"),
        ("s3://minio/bucket?acl=public-read", "unknown options ['acl']"),
    ],
)
def test_a_malformed_storage_url_stops_start_up_with_its_name(url, message):
    with pytest.raises(ImproperlyConfiguredEnv, match=message.replace("[", r"\[")):
        parse_storage_url(url, location=DISK)


def test_the_aws_variables_choose_s3_when_no_storage_url_is_set(monkeypatch):
    monkeypatch.delenv("ROLLCALL_STORAGE_URL", raising=False)
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "district-photos")
    monkeypatch.setenv("AWS_S3_REGION_NAME", "us-east-2")

    entry = env_storage("ROLLCALL_STORAGE_URL", location=DISK)

    assert entry["BACKEND"] == "attendance.storage.PrivateS3Storage"
    assert entry["OPTIONS"]["bucket_name"] == "district-photos"
    assert entry["OPTIONS"]["region_name"] == "us-east-2"
    assert entry["OPTIONS"]["endpoint_url"] is None  # AWS itself


@pytest.fixture
def class_photo(s3_media, session):
    capture = Capture(session=session, state="done", width=64, height=48)
    capture.image.save("class.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    return capture


@pytest.mark.django_db
def test_a_class_photo_on_s3_is_served_only_to_who_may_see_its_session(
    class_photo, s3_media, client, alice, bob
):
    url = f"/files/captures/{class_photo.pk}/"
    assert s3_media.object_names() == [class_photo.image.name]

    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == jpeg_bytes()
    assert response["Content-Type"] == "image/jpeg"

    client.force_login(bob)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_the_bucket_is_private_and_the_only_link_is_presigned_for_a_minute(class_photo, s3_media):
    storage = storages["private"]
    acl = s3_media.s3.client.get_object_acl(Bucket=s3_media.bucket, Key=class_photo.image.name)
    grantees = [grant["Grantee"].get("URI", "owner") for grant in acl["Grants"]]

    link = urlparse(storage.url(class_photo.image.name))

    assert grantees == ["owner"]  # no AllUsers / AuthenticatedUsers grant
    assert int(parse_qs(link.query)["X-Amz-Expires"][0]) <= 60
    assert "X-Amz-Signature" in parse_qs(link.query)


@pytest.mark.django_db
def test_readyz_names_a_bucket_that_cannot_be_reached(client, s3_media, settings, monkeypatch):
    from tests.support.s3 import use_storage

    use_storage(s3_media.s3.storage_url("no-such-bucket"), settings, monkeypatch)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["storage"]


@pytest.mark.django_db
def test_readyz_is_ok_on_a_reachable_bucket(client, s3_media):
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"


@pytest.mark.django_db
def test_a_several_photo_upload_job_reads_its_inputs_from_s3_and_deletes_them(
    s3_media, session, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from attendance import tasks
    from attendance.services import jobs

    monkeypatch.setattr(tasks, "_send", lambda *args, **kwargs: True)  # no worker in this test
    inputs = [
        ContentFile(jpeg_bytes(color=(200, 120, 40 + 100 * i)), name=f"p{i}.jpg") for i in range(2)
    ]
    job = jobs.capture_upload_start(session=session, image_files=inputs, by=alice)
    assert len(s3_media.object_names()) == 2  # the uploads, as they came

    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_run(job_id=job.pk)  # what the worker's task does

    captures = list(Capture.objects.filter(session=session))
    assert len(captures) == 2
    assert s3_media.object_names() == sorted(c.image.name for c in captures)  # inputs gone
