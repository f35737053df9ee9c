"""Reports people open in a spreadsheet: the course grid (CSV and XLSX) read back against the
matrix, a BOM on every CSV, times in the installation's zone, and the pages around them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import AttendanceRecord, Capture
from attendance.selectors.reports import course_matrix
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db

BOM = "\ufeff".encode()


def grid_from_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_grid_csv_has_one_row_per_student_and_one_column_per_session(client, alice, term):
    client.force_login(alice)

    response = client.get(reverse("attendance:report_course_grid", args=[term.course.pk, "csv"]))
    grid = grid_from_csv(response)

    assert response["Content-Disposition"] == 'attachment; filename="BIO101_2026-fall_grid.csv"'
    assert grid[0] == [
        "student_number",
        "student_name",
        "2026-10-05 09:00",
        "2026-10-12 09:00",
        "2026-10-19 09:00",
        "2099-01-05 09:00",
        "rate",
        "flagged",
    ]
    assert grid[1:] == [
        ["S001", "Ada Lovelace", "present", "late", "excused", "unmarked", "75.0", "yes"],
        ["S002", "Ben Franklin", "", "absent", "unmarked", "unmarked", "0.0", "yes"],
        ["", "Session rate", "100.0", "25.0", "0.0", "", "37.5", ""],
    ]
    matrix = course_matrix(course=term.course)
    assert [row[1] for row in grid[1:-1]] == [row.full_name for row in matrix.students]


def test_the_grid_xlsx_holds_the_same_cells_with_rates_as_numbers(client, alice, term):
    client.force_login(alice)
    csv_grid = grid_from_csv(
        client.get(reverse("attendance:report_course_grid", args=[term.course.pk, "csv"]))
    )

    response = client.get(reverse("attendance:report_course_grid", args=[term.course.pk, "xlsx"]))

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == 'attachment; filename="BIO101_2026-fall_grid.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1][6] == 75.0 and rows[3][6] == 37.5
    as_text = [
        ["" if v is None else v if isinstance(v, str) else f"{v:.1f}" for v in row] for row in rows
    ]
    assert as_text == csv_grid
    assert sheet.freeze_panes == "C2"


def test_the_grid_follows_the_date_range_and_bob_gets_404(client, alice, bob, term):
    url = reverse("attendance:report_course_grid", args=[term.course.pk, "csv"])
    client.force_login(bob)
    assert client.get(url).status_code == 404
    client.force_login(alice)

    grid = grid_from_csv(client.get(url, {"date_from": "2026-10-10", "date_to": "2026-10-12"}))

    assert grid[0][2:-2] == ["2026-10-12 09:00"]
    assert client.get(url.replace("/csv/", "/pdf/")).status_code == 404


def test_every_csv_starts_with_a_bom_so_excel_reads_utf8(client, alice, term):
    client.force_login(alice)
    for name, pk in [
        ("attendance:report_course_csv", term.course.pk),
        ("attendance:report_session_csv", term.oct12.pk),
        ("attendance:report_student_csv", term.ada.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).content.startswith(BOM), name


def test_csv_times_are_in_the_installations_time_zone(client, alice, term, settings):
    settings.TIME_ZONE = "Europe/Paris"
    AttendanceRecord.objects.filter(session=term.oct12, student=term.ada).update(
        marked_at=datetime(2026, 10, 12, 7, 5, tzinfo=UTC)
    )
    client.force_login(alice)

    response = client.get(reverse("attendance:report_session_csv", args=[term.oct12.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))

    assert rows[0]["marked_at"] == "2026-10-12T09:05:00+02:00"


def test_automatic_marks_say_face_recognition(client, alice, term):
    from attendance.services.records import attendance_mark

    attendance_mark(
        session=term.oct19, student=term.ben, status="present", source="face", confidence=0.91
    )
    client.force_login(alice)

    sheet = client.get(reverse("attendance:report_session_csv", args=[term.oct19.pk]))
    matrix = client.get(reverse("attendance:report_course_csv", args=[term.course.pk]))
    page = client.get(reverse("attendance:report_session", args=[term.oct19.pk]))

    for response in (sheet, matrix):
        rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
        ben = [
            r
            for r in rows
            if r["student_number"] == "S002" and r["session_id"] == str(term.oct19.pk)
        ]
        assert ben[0]["marked_by"] == "face recognition"
    assert "<td>face recognition</td>" in page.content.decode()


def test_the_matrix_links_names_to_history_and_marks_the_latest_held_session(client, alice, term):
    client.force_login(alice)

    body = client.get(reverse("attendance:report_course", args=[term.course.pk])).content.decode()

    history = reverse("attendance:report_student", args=[term.ada.pk])
    assert f'<a href="{history}">Ada Lovelace</a>' in body
    # Oct 19 is the last session before today; 2099 is still to come.
    assert 'id="latest-held" title="Mon 2026-10-19 09:00"' in body
    assert "attendance/matrix.js" in body
    assert reverse("attendance:report_course_grid", args=[term.course.pk, "xlsx"]) in body


def test_history_chips_carry_the_status_letter(client, alice, term):
    client.force_login(alice)

    body = client.get(reverse("attendance:report_student", args=[term.ada.pk])).content.decode()

    assert '10-12 <b aria-hidden="true">L</b><span class="sr-only">: late</span>' in body


def test_the_printable_sheet_shows_the_class_photo_to_whoever_may_see_it(client, alice, bob, term):
    capture = Capture.objects.create(
        session=term.oct12,
        image=SimpleUploadedFile("class.jpg", jpeg_bytes(), content_type="image/jpeg"),
        state="done",
    )
    client.force_login(alice)

    body = client.get(reverse("attendance:report_session", args=[term.oct12.pk])).content.decode()

    photo = reverse("attendance:capture_file", args=[capture.pk])
    assert f'<img class="thumb" src="{photo}"' in body
    assert 'media="print"' in body
    assert client.get(photo).status_code == 200
    client.force_login(bob)
    assert client.get(photo).status_code == 404


def test_every_page_names_a_favicon(client, alice):
    body = client.get(reverse("login")).content.decode()

    assert 'rel="icon"' in body and "favicon.svg" in body
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
