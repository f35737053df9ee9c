"""Files go wherever their rows go: every model that holds a file, every way to delete it (pages,
Django admin, cascades, services, management commands) leaves no file without a row; the orphan
finder lists what is left behind by anything else, and removes it only when asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.urls import reverse

from attendance.files import file_fields, orphan_files, referenced_names, stored_names
from attendance.models import (
    Capture,
    ClassSession,
    Course,
    DetectedFace,
    Job,
    ReferencePhoto,
    Student,
)
from attendance.services import photos as photo_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def test_the_file_holding_models_are_the_ones_this_test_walks():
    fields = {f"{model.__name__}.{field.name}" for model, field in file_fields()}
    assert fields == {
        "ReferencePhoto.image",
        "ReferencePhoto.face_crop",
        "Capture.image",
        "DetectedFace.crop",
        "Job.roster",
        "Job.photos",
    }, "a new file field: add it to the fixture below and to its delete paths"


def with_file(instance, field: str, name: str):
    getattr(instance, field).save(name, ContentFile(jpeg_bytes(16, 16)), save=False)
    return instance


@pytest.fixture
def media(request):
    """Where the files go: the local disk, or (``indirect`` param "s3") a private bucket on
    moto's S3 server, as ROLLCALL_STORAGE_URL=s3://... configures it."""
    if getattr(request, "param", "disk") == "s3":
        return request.getfixturevalue("s3_media")
    return None


@pytest.fixture
def files(media, session, student):
    """One of every file-holding row: Ada's reference photo (image and crop), a class photo of
    her session and her face in it (crop), and an import job's uploaded roster and photos."""
    photo = with_file(
        with_file(ReferencePhoto(student=student), "image", "a.jpg"), "face_crop", "c.jpg"
    )
    photo.save()
    capture = with_file(Capture(session=session, state="done"), "image", "class.jpg")
    capture.save()
    face = DetectedFace(
        capture=capture, index=0, box=[1, 2, 3, 4], detector_score=0.9, decision="unknown"
    )
    with_file(face, "crop", "face.jpg").save()
    job = with_file(
        with_file(Job(kind="roster_import", session=session), "roster", "roster.csv"),
        "photos",
        "photos.zip",
    )
    job.save()
    return {"photo": photo, "capture": capture, "face": face, "job": job}


def on_disk() -> set[str]:
    return set(stored_names(storages["private"]))


def admin_delete(model: str, pk: int) -> Callable:
    def run(client, things):
        url = reverse(f"admin:attendance_{model}_delete", args=[pk() if callable(pk) else pk])
        assert client.post(url, {"post": "yes"}).status_code == 302

    return run


def admin_bulk_delete(model: str, ids: Callable) -> Callable:
    def run(client, things):
        url = reverse(f"admin:attendance_{model}_changelist")
        body = {"action": "delete_selected", "_selected_action": ids(things), "post": "yes"}
        assert client.post(url, body).status_code == 302

    return run


DELETE_PATHS: dict[str, Callable] = {
    "page: delete a reference photo": lambda client, t: client.post(
        reverse("attendance:photo_delete", args=[t["photo"].pk]), {"confirm": "yes"}
    ),
    "page: delete a student": lambda client, t: client.post(
        reverse("attendance:student_delete", args=[t["photo"].student_id]), {"confirm": "yes"}
    ),
    "page: withdraw consent": lambda client, t: client.post(
        reverse("attendance:student_consent", args=[t["photo"].student_id]),
        {"action": "withdraw", "confirm": "yes"},
    ),
    "admin: delete a reference photo": lambda c, t: admin_delete("referencephoto", t["photo"].pk)(
        c, t
    ),
    "admin: delete a capture": lambda c, t: admin_delete("capture", t["capture"].pk)(c, t),
    "admin: delete captures in bulk": admin_bulk_delete("capture", lambda t: [t["capture"].pk]),
    "admin: delete a session (cascade)": lambda c, t: admin_delete(
        "classsession", t["capture"].session_id
    )(c, t),
    "admin: delete a course (cascade)": lambda c, t: admin_delete(
        "course", t["capture"].session.course_id
    )(c, t),
    "admin: delete a student": lambda c, t: admin_delete("student", t["photo"].student_id)(c, t),
    "admin: delete students in bulk": admin_bulk_delete(
        "student", lambda t: [t["photo"].student_id]
    ),
    "service: delete a reference photo": lambda c, t: photo_services.reference_photo_delete(
        photo=t["photo"]
    ),
    "cascade: a course deleted in code": lambda c, t: Course.objects.all().delete(),
    "cascade: a session deleted in code": lambda c, t: ClassSession.objects.all().delete(),
    "cascade: a student deleted in code": lambda c, t: Student.objects.all().delete(),
    "service: a face deleted in code": lambda c, t: DetectedFace.objects.all().delete(),
    "cascade: a job deleted in code": lambda c, t: Job.objects.all().delete(),
    "command: purge past retention": lambda c, t: purge_everything(t),
}


def purge_everything(things) -> None:
    session = things["capture"].session
    ClassSession.objects.filter(pk=session.pk).update(
        state="finalized", finalized_at=session.created_at - timedelta(days=400)
    )
    call_command("purge_retention", stdout=StringIO())


@pytest.mark.parametrize("path", DELETE_PATHS)
def test_no_file_outlives_its_row(
    path, client, admin_user, files, django_capture_on_commit_callbacks
):
    before_test = on_disk() - {f.name for t in files.values() for f in _files_of(t)}
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        DELETE_PATHS[path](client, files)
    ours = on_disk() - before_test
    assert ours <= referenced_names(), f"{path} left files with no row: {ours - referenced_names()}"
    assert ours != {f.name for t in files.values() for f in _files_of(t)}, f"{path} deleted nothing"


def _files_of(instance) -> list:
    return [
        getattr(instance, field.name)
        for model, field in file_fields()
        if isinstance(instance, model)
    ]


def test_a_rolled_back_delete_keeps_the_files(files, django_capture_on_commit_callbacks):
    from django.db import transaction

    path = storages["private"].path(files["capture"].image.name)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        Capture.objects.all().delete()
        raise RuntimeError("the database went away")
    assert os.path.exists(path)


def test_the_orphan_finder_lists_and_only_on_request_removes_files_without_a_row(files):
    storage = storages["private"]
    stray = storage.save("captures/stray.jpg", ContentFile(b"not anybody's"))
    old = Path(settings.PRIVATE_MEDIA_ROOT) / stray
    os.utime(old, (1, 1))  # written long ago: not an upload in flight

    assert stray in orphan_files()
    assert files["capture"].image.name not in orphan_files(min_age=timedelta(0))
    out = StringIO()
    call_command("find_orphan_files", stdout=out)
    assert f"orphan: {stray}" in out.getvalue() and storage.exists(stray)

    call_command("find_orphan_files", "--delete", stdout=StringIO())
    assert not storage.exists(stray)
    assert storage.exists(files["capture"].image.name)


# Every path ends in the same storage.delete after commit: one of each kind runs on S3 too.
ON_S3 = [
    "page: withdraw consent",
    "admin: delete a course (cascade)",
    "service: delete a reference photo",
    "cascade: a student deleted in code",
    "cascade: a job deleted in code",
    "command: purge past retention",
]


@pytest.mark.parametrize("media", ["s3"], indirect=True)
@pytest.mark.parametrize("path", ON_S3)
def test_no_object_outlives_its_row_on_s3(
    path, media, client, admin_user, files, django_capture_on_commit_callbacks
):
    from attendance.storage import PrivateS3Storage

    assert isinstance(files["capture"].image.storage, PrivateS3Storage)
    assert files["capture"].image.name in media.object_names()
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        DELETE_PATHS[path](client, files)

    left = set(media.object_names())
    assert left <= referenced_names(), (
        f"{path} left objects with no row: {left - referenced_names()}"
    )
    assert left != {f.name for t in files.values() for f in _files_of(t)}, f"{path} deleted nothing"


@pytest.mark.parametrize("media", ["s3"], indirect=True)
def test_the_orphan_finder_and_the_student_export_read_the_bucket(media, files, admin_user):
    import io
    import zipfile

    from attendance.services import students as student_services

    storage = storages["private"]
    stray = storage.save("captures/stray.jpg", ContentFile(b"not anybody's"))
    assert stray in orphan_files(min_age=timedelta(0))
    assert files["capture"].image.name not in orphan_files(min_age=timedelta(0))

    call_command("find_orphan_files", "--delete", "--min-age-minutes=0", stdout=StringIO())
    assert stray not in media.object_names()
    assert files["capture"].image.name in media.object_names()
    exported = student_services.student_export(student=files["photo"].student, by=admin_user)
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        photos = [n for n in archive.namelist() if n.endswith(".jpg")]
        assert photos and all(archive.read(n)[:2] == b"\xff\xd8" for n in photos)
