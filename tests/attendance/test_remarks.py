"""A record can carry a short remark ("doctor's note"): set on the page and the API, audited like a
status change, shown in the session sheet and its CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from attendance.errors import InvalidInput
from attendance.models import AttendanceChange, AttendanceRecord
from attendance.services import records as record_services
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db
Status, Source = AttendanceRecord.Status, AttendanceRecord.Source


@pytest.fixture
def excused(session, student, alice):
    return record_services.attendance_mark(
        session=session,
        student=student,
        status=Status.EXCUSED,
        source=Source.MANUAL,
        by=alice,
        reason="ill",
    ).record


def test_a_remark_is_saved_and_audited_like_a_status_change(session, student, alice, excused):
    record_services.attendance_remark(
        session=session, student=student, remark="doctor's note", by=alice
    )
    excused.refresh_from_db()
    assert excused.remark == "doctor's note"
    change = AttendanceChange.objects.order_by("pk").last()
    assert (change.old_remark, change.new_remark, change.changed_by) == ("", "doctor's note", alice)
    assert (change.old_status, change.new_status) == ("excused", "excused")


def test_the_same_remark_twice_writes_one_audit_row(session, student, alice, excused):
    for _ in range(2):
        record_services.attendance_remark(session=session, student=student, remark="note", by=alice)
    assert AttendanceChange.objects.exclude(new_remark="").count() == 1


def test_a_remark_needs_a_mark_first(session, student, alice):
    with pytest.raises(InvalidInput) as error:
        record_services.attendance_remark(session=session, student=student, remark="x", by=alice)
    assert error.value.code == "not_marked"


def test_a_remark_longer_than_the_limit_is_refused(session, student, alice, excused):
    with pytest.raises(InvalidInput) as error:
        record_services.attendance_remark(
            session=session, student=student, remark="x" * 201, by=alice
        )
    assert error.value.code == "remark_too_long"


def test_a_finalized_session_refuses_a_remark(session, student, alice, excused):
    record_services.session_finalize(session=session, by=alice)
    with pytest.raises(Exception) as error:
        record_services.attendance_remark(session=session, student=student, remark="x", by=alice)
    assert error.value.code == "session_finalized"


def test_alice_sets_a_remark_from_the_session_page(client, session, student, alice, excused):
    client.force_login(alice)
    url = reverse("attendance:session_remark", args=[session.pk])
    response = client.post(url, {"student": student.pk, "remark": "doctor's note"})
    assert response.status_code == 302
    assert AttendanceRecord.objects.get().remark == "doctor's note"
    page = client.get(reverse("attendance:session_detail", args=[session.pk]))
    assert "doctor&#x27;s note" in page.content.decode()


def test_bob_cannot_set_a_remark_on_alices_session(client, session, student, bob, excused):
    client.force_login(bob)
    url = reverse("attendance:session_remark", args=[session.pk])
    assert client.post(url, {"student": student.pk, "remark": "x"}).status_code == 404
    assert AttendanceRecord.objects.get().remark == ""


def test_the_api_sets_a_remark_through_the_record_correction(session, student, alice, excused):
    response = api_client(alice).patch(
        f"/api/records/{excused.pk}/", {"remark": "doctor's note"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["remark"] == "doctor's note"
    assert response.json()["status"] == "excused"


def test_the_api_sets_status_and_remark_together(session, student, alice, excused):
    response = api_client(alice).patch(
        f"/api/records/{excused.pk}/",
        {"status": "late", "reason": "came at 9:20", "remark": "bus strike"},
        format="json",
    )
    assert response.status_code == 200, response.content
    record = AttendanceRecord.objects.get()
    assert (record.status, record.remark) == ("late", "bus strike")


def test_the_session_sheet_and_its_csv_show_the_remark(client, session, student, alice, excused):
    record_services.attendance_remark(
        session=session, student=student, remark="doctor's note", by=alice
    )
    client.force_login(alice)
    sheet = client.get(reverse("attendance:report_session", args=[session.pk]))
    assert "doctor&#x27;s note" in sheet.content.decode()
    response = client.get(reverse("attendance:report_session_csv", args=[session.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["remark"] == "doctor's note"
    api = api_client(alice).get(f"/api/reports/sessions/{session.pk}/")
    assert api.json()["lines"][0]["remark"] == "doctor's note"
