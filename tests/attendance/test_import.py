"""Bulk import: a roster CSV and a ZIP of photo folders, checked in the request, imported by a
background job and reported line by line."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance import tasks
from attendance.models import Enrollment, Job, ReferencePhoto, Student
from attendance.services import jobs as job_services
from attendance.services import students as student_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db

ROSTER = """student_number,name,email,courses,consent
S101,Ada Lovelace,ada@example.edu,BIO101,yes
S102,Alan Turing,alan@example.edu,BIO101;NOPE999,yes
S103,Grace Hopper,not-an-email,BIO101,yes
S104,Katherine Johnson,kj@example.edu,BIO101,no
,Nameless,,BIO101,yes
"""


def csv_file(text: str = ROSTER) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")


def zip_file(files: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("photos.zip", buffer.getvalue(), content_type="application/zip")


def post(client, **files):
    return client.post(reverse("attendance:roster_import"), files)


def imported(client, **files):
    """Post the files, run the job the page answers with (as the worker would), and return the
    job's page with its report."""
    response = post(client, **files)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get()
    assert response["Location"] == reverse("attendance:job_detail", args=[job.pk])
    job_services.job_run(job_id=job.pk)
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def outcomes(response) -> list[tuple[str, str, str]]:
    return [(line["where"], line["outcome"], line["message"]) for line in job(response).report]


def job(response) -> Job:
    return response.context["job"]


def test_a_bad_row_is_reported_and_does_not_undo_the_good_ones(client, admin_user, course):
    client.force_login(admin_user)
    response = imported(client, roster=csv_file())
    lines = outcomes(response)
    assert [(where, outcome) for where, outcome, _ in lines] == [
        ("roster line 2", "created"),
        ("roster line 3", "skipped"),
        ("roster line 4", "skipped"),
        ("roster line 5", "created"),
        ("roster line 6", "skipped"),
    ]
    assert "there is no course NOPE999" in lines[1][2]
    assert "email" in lines[2][2].lower()
    assert "student number and a name" in lines[4][2]
    assert set(Student.objects.values_list("student_number", flat=True)) == {"S101", "S104"}
    ada = Student.objects.get(student_number="S101")
    assert ada.has_photo_consent and ada.consent_given_by == admin_user
    assert not Student.objects.get(student_number="S104").has_photo_consent
    assert Enrollment.objects.filter(course=course).count() == 2
    page = response.content.decode()
    assert "2 created" in page and "3 skipped" in page


def test_importing_the_same_roster_again_creates_nothing_twice(client, admin_user, course):
    client.force_login(admin_user)
    imported(client, roster=csv_file("student_number,name,courses\nS101,Ada Lovelace,BIO101\n"))
    Job.objects.all().delete()
    response = imported(
        client, roster=csv_file("student_number,name,courses\nS101,Ada Lovelace,BIO101\n")
    )
    assert outcomes(response)[0][1] == "unchanged"
    assert Student.objects.count() == 1 and Enrollment.objects.count() == 1


def test_photos_go_to_the_folder_named_by_number_or_name(
    client, admin_user, course, django_capture_on_commit_callbacks, monkeypatch
):
    client.force_login(admin_user)
    sent = []
    monkeypatch.setattr(tasks, "enqueue_reference_photo", sent.append)
    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    with django_capture_on_commit_callbacks(execute=True):
        response = imported(
            client,
            roster=csv_file(
                "student_number,name,courses,consent\nS101,Ada Lovelace,BIO101,yes\n"
                "S102,George W Bush,BIO101,yes\nS103,No Consent,BIO101,no\n"
            ),
            photos=zip_file(
                {
                    "S101/1.jpg": jpeg_bytes(),
                    "S101/2.jpg": jpeg_bytes(color=(1, 2, 3)),
                    "George_W_Bush/George_W_Bush_0001.jpg": jpeg_bytes(),
                    "S103/1.jpg": jpeg_bytes(),
                    "S999/1.jpg": jpeg_bytes(),
                    "S101/notes.txt": b"not a photo",
                    "loose.jpg": jpeg_bytes(),
                    "__MACOSX/S101/._1.jpg": b"junk",
                }
            ),
        )
    by_file = {where: (outcome, message) for where, outcome, message in outcomes(response)}
    assert by_file["photos S101/1.jpg"][0] == "created"
    assert by_file["photos George_W_Bush/George_W_Bush_0001.jpg"][0] == "created"
    assert "no recorded photo consent" in by_file["photos S103/1.jpg"][1]
    assert "no student has the number or name 'S999'" in by_file["photos S999/1.jpg"][1]
    assert "not an image" in by_file["photos S101/notes.txt"][1]
    assert "not in a person folder" in by_file["photos loose.jpg"][1]
    assert not any("__MACOSX" in where for where in by_file)
    photos = ReferencePhoto.objects.values_list("student__student_number", "status")
    assert sorted(photos) == [("S101", "pending"), ("S101", "pending"), ("S102", "pending")]
    # One embedding task per saved photo, sent after the commit.
    assert sorted(sent) == sorted(ReferencePhoto.objects.values_list("pk", flat=True))


def test_a_zip_made_from_a_parent_folder_is_read_one_level_down(client, admin_user, student):
    client.force_login(admin_user)
    response = imported(client, photos=zip_file({"class/S001/1.jpg": jpeg_bytes()}))
    assert job_services.job_counts(job(response))["created"] == 1
    assert student.photos.count() == 1


def test_photos_in_nested_folders_are_skipped_with_the_reason(client, admin_user, student):
    client.force_login(admin_user)
    response = imported(
        client,
        photos=zip_file({"S001/1.jpg": jpeg_bytes(), "S001/old/2009/2.jpg": jpeg_bytes()}),
    )
    lines = outcomes(response)
    assert lines[0][:2] == ("photos S001/1.jpg", "created")
    assert lines[1][:2] == ("photos S001/old/2009/2.jpg", "skipped")
    assert "folders inside a person's folder" in lines[1][2]
    assert student.photos.count() == 1


@pytest.mark.parametrize("evil", ["../x.jpg", "S001/../../etc/x.jpg", "/etc/x.jpg"])
def test_a_zip_with_a_path_leaving_its_folder_is_refused_whole(client, admin_user, student, evil):
    student_services.student_create(student_number="S777", full_name="Kept Student")
    client.force_login(admin_user)
    response = post(client, photos=zip_file({"S001/1.jpg": jpeg_bytes(), evil: jpeg_bytes()}))
    assert response.status_code == 400
    page = response.content.decode()
    assert "points outside its folder" in page and "nothing was imported" in page
    assert not ReferencePhoto.objects.exists() and not Job.objects.exists()
    assert Student.objects.filter(student_number="S777").exists()


def test_a_file_that_is_not_a_zip_gets_a_clear_message(client, admin_user):
    client.force_login(admin_user)
    response = post(client, photos=SimpleUploadedFile("photos.zip", b"PK but not really"))
    assert response.status_code == 400
    assert "not a ZIP archive" in response.content.decode()


def test_a_roster_without_the_needed_columns_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = post(client, roster=csv_file("who,when\nAda,today\n"))
    assert response.status_code == 400
    assert "needs the columns student_number and name" in response.content.decode()
    assert not Student.objects.exists() and not Job.objects.exists()


def test_a_roster_that_is_not_text_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = post(client, roster=SimpleUploadedFile("roster.csv", jpeg_bytes()))
    assert response.status_code == 400
    assert "not a UTF-8 text file" in response.content.decode()


def test_the_import_form_needs_at_least_one_file(client, admin_user):
    client.force_login(admin_user)
    response = post(client)
    assert response.status_code == 400
    assert "Choose a roster CSV, a photos ZIP, or both." in response.content.decode()


def test_teachers_cannot_import(client, alice):
    client.force_login(alice)
    assert client.get(reverse("attendance:roster_import")).status_code == 404
    assert post(client, roster=csv_file()).status_code == 404
    assert not Student.objects.exists()
