"""The roster import as an admin meets it: a template to fill, a dry run that lists the skipped
lines first (downloadable), then the import, whose result shows each photo's face check."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from attendance.models import Job, ReferencePhoto, Student
from attendance.services import imports
from attendance.services import jobs as job_services
from tests.attendance.test_import import csv_file, zip_file
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_template_csv_is_a_roster_the_import_reads(client, admin_user, course):
    client.force_login(admin_user)
    students = client.get(reverse("attendance:student_list")).content.decode()
    assert reverse("attendance:roster_import") in students

    response = client.get(reverse("attendance:roster_template"))

    rows = read_csv(response)
    assert rows[0] == ["student_number", "name", "email", "courses", "consent"]
    parsed = imports.roster_read(io.BytesIO(response.content))
    assert [row["student_number"] for _, row in parsed] == ["S001", "S002"]


def test_the_preview_lists_skipped_lines_first_and_imports_nothing(client, admin_user, course):
    client.force_login(admin_user)

    response = client.post(
        reverse("attendance:roster_import"), {"roster": csv_file(), "preview": "1"}
    )

    job = Job.objects.get()
    assert response["Location"] == reverse("attendance:job_detail", args=[job.pk])
    assert (job.state, Student.objects.count()) == ("preview", 0)
    page = client.get(response["Location"])
    lines = page.context["lines"]
    assert [(line["where"], line["outcome"]) for line in lines] == [
        ("roster line 3", "skipped"),
        ("roster line 4", "skipped"),
        ("roster line 6", "skipped"),
        ("roster line 2", "created"),
        ("roster line 5", "created"),
    ]
    assert "there is no course NOPE999" in lines[0]["message"]
    assert "Nothing is imported yet" in page.content.decode()
    skipped = read_csv(client.get(reverse("attendance:job_skipped_csv", args=[job.pk])))
    assert [row[0] for row in skipped] == [
        "where",
        "roster line 3",
        "roster line 4",
        "roster line 6",
    ]


def test_importing_the_previewed_files_does_what_the_preview_said(client, admin_user, course):
    client.force_login(admin_user)
    client.post(reverse("attendance:roster_import"), {"roster": csv_file(), "preview": "1"})
    job = Job.objects.get()
    preview = sorted((line["where"], line["outcome"]) for line in job.report)

    client.post(reverse("attendance:job_confirm", args=[job.pk]))
    client.post(reverse("attendance:job_confirm", args=[job.pk]))
    job_services.job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == "done"
    assert sorted((line["where"], line["outcome"]) for line in job.report) == preview
    assert sorted(Student.objects.values_list("student_number", flat=True)) == ["S101", "S104"]


def test_the_import_result_shows_each_photos_face_check_when_it_is_done(
    client, admin_user, student
):
    client.force_login(admin_user)
    client.post(
        reverse("attendance:roster_import"),
        {
            "photos": zip_file(
                {"S001/1.jpg": jpeg_bytes(), "S001/2.jpg": jpeg_bytes(color=(40, 120, 200))}
            )
        },
    )
    job = Job.objects.get()
    job_services.job_run(job_id=job.pk)
    url = reverse("attendance:job_detail", args=[job.pk])

    checking = client.get(url)
    assert checking.context["status"]["photos_pending"] == 2
    assert "attendance/job.js" in checking.content.decode()

    first, second = ReferencePhoto.objects.order_by("pk")
    ReferencePhoto.objects.filter(pk=first.pk).update(status="ready")
    ReferencePhoto.objects.filter(pk=second.pk).update(
        status="rejected", rejection_reason="No face was found in the photo."
    )
    done = client.get(url)
    body = done.content.decode()

    assert done.context["status"]["photos_pending"] == 0
    assert "face found" in body and "No face was found in the photo." in body
    assert "attendance/job.js" not in body


def test_a_preview_of_photos_names_folders_without_a_student_or_consent(client, admin_user, course):
    client.force_login(admin_user)
    roster = "student_number,name,courses,consent\nS201,Mary Jackson,BIO101,yes\n"

    client.post(
        reverse("attendance:roster_import"),
        {
            "roster": csv_file(roster),
            "photos": zip_file({"S201/1.jpg": jpeg_bytes(), "S999/1.jpg": jpeg_bytes()}),
            "preview": "1",
        },
    )

    report = {line["where"]: line for line in Job.objects.get().report}
    assert report["photos S201/1.jpg"]["outcome"] == "created"
    assert report["photos S999/1.jpg"]["outcome"] == "skipped"
    assert ReferencePhoto.objects.count() == 0


def test_a_preview_nobody_imports_is_deleted_with_its_files_after_a_day(
    client, admin_user, course, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(admin_user)
    client.post(reverse("attendance:roster_import"), {"roster": csv_file(), "preview": "1"})
    job = Job.objects.get()
    storage, name = job.roster.storage, job.roster.name

    assert job_services.previews_expire(now=timezone.now() + timedelta(hours=23)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert job_services.previews_expire(now=timezone.now() + timedelta(hours=25)) == 1

    assert not Job.objects.exists()
    assert not storage.exists(name)
