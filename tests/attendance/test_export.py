"""An admin downloads everything held about one student as one ZIP with a JSON manifest."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from attendance.models import AuditEvent, Capture, DetectedFace, ReferencePhoto
from attendance.services import records as record_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def adas_data(session, student, alice):
    photo = ReferencePhoto(student=student, status="ready")
    photo.image.save("ada.jpg", ContentFile(jpeg_bytes()), save=False)
    photo.save()
    capture = Capture(session=session, state="done")
    capture.image.save("class.jpg", ContentFile(jpeg_bytes(64, 48)), save=False)
    capture.save()
    face = DetectedFace(
        capture=capture, index=0, box=[1, 2, 3, 4], detector_score=0.9, decision="auto"
    )
    face.student = student
    face.crop.save("f.jpg", ContentFile(jpeg_bytes(8, 8)), save=False)
    face.save()
    record_services.attendance_mark(
        session=session, student=student, status="late", source="manual", by=alice, reason="bus"
    )
    record_services.attendance_remark(session=session, student=student, remark="bus", by=alice)
    return photo, face


def test_the_admin_downloads_a_zip_with_a_manifest_and_her_files(
    client, admin_user, student, adas_data
):
    photo, face = adas_data
    client.force_login(admin_user)
    response = client.get(reverse("attendance:student_export", args=[student.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["student"]["student_number"] == "S001"
    assert manifest["consent"]["given_by"] == "admin"
    assert [e["action"] for e in manifest["consent"]["history"]] == ["consent_recorded"]
    assert manifest["attendance_records"][0]["status"] == "late"
    assert manifest["attendance_records"][0]["remark"] == "bus"
    assert len(manifest["attendance_changes"]) == 2
    (ref,) = manifest["reference_photos"]
    (seen,) = manifest["faces_in_class_photos"]
    assert archive.read(ref["image"])[:2] == b"\xff\xd8"
    assert archive.read(seen["crop"])[:2] == b"\xff\xd8"
    # The whole class photo shows other students: never in her export.
    assert not [n for n in archive.namelist() if "captures" in n]
    assert AuditEvent.objects.filter(action="data_exported", student=student).count() == 1


def test_teachers_cannot_export_a_student(client, alice, student):
    client.force_login(alice)
    assert client.get(reverse("attendance:student_export", args=[student.pk])).status_code == 404
