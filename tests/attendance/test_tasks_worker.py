"""The must-hold scenario with a real Celery worker process on the real Redis and PostgreSQL:
LFW people enrolled with two reference photos each, a class photo with some of them and a
stranger, then finalizing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import AttendanceRecord, Capture, Job, ReferencePhoto
from tests.support.faces import (
    CLASS,
    STRANGER,
    class_photo_bytes,
    lfw_photo,
    make_classroom,
    wait_for_capture,
    wait_for_photos,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def jpeg(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def test_a_real_worker_enrolls_lfw_people_and_takes_attendance_from_a_class_photo(
    celery_worker, client, admin_user, alice
):
    room = make_classroom(admin_user, alice, CLASS, photos=())
    client.force_login(admin_user)
    for person, student in room.students.items():
        response = client.post(
            reverse("attendance:photo_add", args=[student.pk]),
            {"photos": [jpeg(lfw_photo(person, 1)), jpeg(lfw_photo(person, 2))]},
        )
        assert response.status_code == 302  # to the page of the job that adds them
    wait_until(
        lambda: Job.objects.filter(state="done").count() == len(CLASS),
        timeout=180,
        what="the jobs adding the reference photos",
    )
    photos = list(ReferencePhoto.objects.all())
    assert len(photos) == 2 * len(CLASS)
    wait_for_photos(photos)
    assert set(ReferencePhoto.objects.values_list("status", flat=True)) == {"ready"}

    in_photo = CLASS[:3]
    client.force_login(alice)
    response = client.post(
        reverse("attendance:capture_upload", args=[room.session.pk]),
        {"images": SimpleUploadedFile("class.jpg", class_photo_bytes([*in_photo, STRANGER]))},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["captures"][0]["queued"] is True
    capture = wait_for_capture(response.json()["captures"][0]["id"])
    assert capture.state == Capture.State.DONE, capture.failure_reason

    status = client.get(reverse("attendance:capture_status", args=[capture.pk])).json()
    assert (status["faces"], status["matched"], status["unknown"]) == (4, 3, 1)
    unknown = capture.faces.get(student__isnull=True)
    assert unknown.decision == "unknown"
    present = {r.student.full_name for r in AttendanceRecord.objects.select_related("student")}
    assert present == {p.replace("_", " ") for p in in_photo}

    client.post(reverse("attendance:session_finalize", args=[room.session.pk]))
    final = dict(
        AttendanceRecord.objects.values_list("student__full_name", "status").order_by("student")
    )
    assert final == {p.replace("_", " "): "present" if p in in_photo else "absent" for p in CLASS}
