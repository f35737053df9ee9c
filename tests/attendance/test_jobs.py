"""Long work runs in the background: a roster import or several class photos become a job that
the request stores and answers at once; the worker works through it in batches, each line or
photo all or nothing, with a report; a job whose worker died resumes where it stopped."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import Capture, Enrollment, Job, ReferencePhoto, Student
from attendance.services import jobs as job_services
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def roster(lines: int, *, courses: str = "BIO101") -> SimpleUploadedFile:
    rows = ["student_number,name,email,courses,consent"]
    rows += [
        f"N{n:05d},Student {n:05d},s{n}@example.edu,{courses},{'yes' if n % 2 else 'no'}"
        for n in range(1, lines + 1)
    ]
    return SimpleUploadedFile("roster.csv", "\n".join(rows).encode(), content_type="text/csv")


def test_a_10000_line_roster_is_imported_completely_with_a_report(
    client, admin_user, course, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    response = client.post(reverse("attendance:roster_import"), {"roster": roster(10_000)})
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.state, job.total, job.done) == ("queued", 10_000, 0)
    assert not Student.objects.exists()  # the request only stored the file

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        job_services.job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    print(f"\n10,000-line roster imported in {elapsed:.1f} s")

    job.refresh_from_db()
    assert (job.state, job.done, job.percent) == ("done", 10_000, 100)
    assert job_services.job_counts(job) == {
        "created": 10_000,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
    }
    assert Student.objects.count() == 10_000
    assert Enrollment.objects.filter(course=course).count() == 10_000
    assert Student.objects.filter(consent_given_by=admin_user).count() == 5_000
    assert [line["where"] for line in job.report[:2]] == ["roster line 2", "roster line 3"]
    assert job.report[-1]["message"].startswith("N10000 Student 10000: enrolled in BIO101")
    assert not job.roster.storage.exists(job.roster.name)  # the input is not kept


def test_each_line_is_all_or_nothing_among_new_and_known_students(client, admin_user, course):
    Student.objects.create(student_number="S1", full_name="Ada Lovelace")
    text = (
        "student_number,name,courses\n"
        "S1,Ada Lovelace,BIO101\n"  # known: enrolled now
        "S2,Alan Turing,BIO101;NOPE\n"  # an unknown course: neither student nor enrollment
        'S3,"Grace\rHopper",BIO101\n'  # a control character in the name
        "S4,Katherine Johnson,BIO101\n"
        "S4,Someone Else,BIO101\n"  # the same number twice in one file
    )
    client.force_login(admin_user)
    client.post(reverse("attendance:roster_import"), {"roster": roster_file(text)})
    job = job_services.job_run(job_id=Job.objects.get().pk)
    outcomes = [(line["where"], line["outcome"]) for line in job.report]
    assert outcomes == [
        ("roster line 2", "updated"),
        ("roster line 3", "skipped"),
        ("roster line 4", "skipped"),
        ("roster line 5", "created"),
        ("roster line 6", "skipped"),
    ]
    assert "control characters" in job.report[2]["message"]
    assert "belongs to Katherine Johnson" in job.report[4]["message"]
    assert set(Student.objects.values_list("student_number", flat=True)) == {"S1", "S4"}
    assert Enrollment.objects.count() == 2


def roster_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the job catches it, nothing after it runs."""


def test_a_job_whose_worker_died_resumes_where_it_stopped(admin_user, course, monkeypatch):
    job = job_services.roster_import_start(roster_file=roster(7), photos_zip=None, by=admin_user)
    monkeypatch.setattr(job_services, "ROSTER_BATCH", 3)
    real = job_services.imports.roster_rows_import
    calls = []

    def dies_in_the_second_batch(report, rows, by):
        calls.append(len(rows))
        real(report, rows, by)
        if len(calls) == 2:
            raise WorkerKilled

    monkeypatch.setattr(job_services.imports, "roster_rows_import", dies_in_the_second_batch)
    with pytest.raises(WorkerKilled):
        job_services.job_run(job_id=job.pk)
    job.refresh_from_db()
    # The first batch committed; the second rolled back with its lines.
    assert (job.state, job.done, len(job.report), Student.objects.count()) == ("running", 3, 3, 3)

    job_services.job_run(job_id=job.pk)  # the sweep sent it again
    job.refresh_from_db()
    assert (job.state, job.done) == ("done", 7)
    assert [line["outcome"] for line in job.report] == ["created"] * 7
    assert Student.objects.count() == 7


def test_a_stalled_running_job_and_an_old_queued_job_are_swept(admin_user, monkeypatch):
    from attendance import tasks

    stalled = Job.objects.create(kind=Job.Kind.ROSTER_IMPORT, state="running", created_by=None)
    waiting = Job.objects.create(kind=Job.Kind.ROSTER_IMPORT, created_by=None)
    Job.objects.create(kind=Job.Kind.ROSTER_IMPORT, state="done", created_by=None)
    fresh = Job.objects.create(kind=Job.Kind.ROSTER_IMPORT, state="running", created_by=None)
    long_ago = time_ago(120)
    Job.objects.filter(pk=stalled.pk).update(updated_at=long_ago)
    Job.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    sent = []
    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: sent.append(job_id) or True)
    assert job_services.jobs_sweep(queued_for=30, stalled_for=60) == 2
    assert sorted(sent) == sorted([stalled.pk, waiting.pk])
    assert fresh.pk not in sent


def time_ago(seconds: float):
    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)


def test_several_class_photos_become_a_job_with_a_report_per_photo(
    client, alice, session, monkeypatch
):
    from attendance import tasks

    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    client.force_login(alice)
    photos = [
        SimpleUploadedFile("front.jpg", jpeg_bytes(), content_type="image/jpeg"),
        SimpleUploadedFile("notes.txt", b"not a photo", content_type="text/plain"),
        SimpleUploadedFile("back.jpg", jpeg_bytes(color=(1, 2, 3)), content_type="image/jpeg"),
        SimpleUploadedFile("front-again.jpg", jpeg_bytes(), content_type="image/jpeg"),
    ]
    response = client.post(
        reverse("attendance:capture_upload", args=[session.pk]),
        {"images": photos},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json()["job_url"] == response["Location"] == f"/jobs/{job.pk}/"
    assert not Capture.objects.exists()  # nothing is decoded in the request

    job_services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert [(line["where"], line["outcome"]) for line in job.report] == [
        ("front.jpg", "created"),
        ("notes.txt", "skipped"),
        ("back.jpg", "created"),
        ("front-again.jpg", "skipped"),
    ]
    assert job.report[3]["message"].startswith("the same photo as capture #")
    assert "not an image" in job.report[1]["message"]
    assert Capture.objects.filter(session=session, taken_by=alice).count() == 2

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "2 created, 0 updated, 0 unchanged, 2 skipped" in page.content.decode()


def test_the_job_page_polls_with_a_static_script_while_the_job_runs(client, admin_user):
    job = Job.objects.create(kind=Job.Kind.ROSTER_IMPORT, created_by=admin_user, total=40)
    Job.objects.filter(pk=job.pk).update(state="running", done=10)
    client.force_login(admin_user)
    page = client.get(reverse("attendance:job_detail", args=[job.pk])).content.decode()
    assert '<script src="/static/attendance/job.js" defer></script>' in page
    assert "<script>" not in page
    status = client.get(reverse("attendance:job_status", args=[job.pk])).json()
    assert (status["state"], status["done"], status["total"], status["percent"]) == (
        "running",
        10,
        40,
        25,
    )
    assert status["finished"] is False


def test_only_whoever_started_a_job_or_an_admin_sees_it(client, alice, bob, admin_user, session):
    job = Job.objects.create(kind=Job.Kind.CAPTURE_UPLOAD, created_by=alice, session=session)
    for user, expected in [(alice, 200), (bob, 404), (admin_user, 200)]:
        client.force_login(user)
        assert client.get(reverse("attendance:job_detail", args=[job.pk])).status_code == expected
        assert client.get(reverse("attendance:job_status", args=[job.pk])).status_code == expected


def test_the_api_imports_in_the_background_and_answers_202_with_the_job(
    admin_user, course, monkeypatch
):
    from rest_framework.test import APIClient

    from attendance import tasks

    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post("/api/imports/", {"roster": roster(3)}, format="multipart")
    assert response.status_code == 202
    job = Job.objects.get()
    assert response["Location"].endswith(f"/api/jobs/{job.pk}/")
    job_services.job_run(job_id=job.pk)
    body = api.get(f"/api/jobs/{job.pk}/").json()
    assert (body["state"], body["done"], body["counts"]["created"]) == ("done", 3, 3)


# --- several reference photos -------------------------------------------------------------------


def photo_upload(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes() if data is None else data, "image/jpeg")


def test_several_reference_photos_become_a_job_with_a_report_per_photo(
    client, admin_user, student, monkeypatch, django_capture_on_commit_callbacks
):
    from attendance import tasks

    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    monkeypatch.setattr(tasks, "enqueue_reference_photo", lambda photo_id: True)
    client.force_login(admin_user)
    photos = [
        photo_upload("front.jpg"),
        photo_upload("notes.jpg", b"these are my lecture notes, not a photo"),
        photo_upload("side.jpg", jpeg_bytes(color=(1, 2, 3))),
    ]
    response = client.post(
        reverse("attendance:photo_add", args=[student.pk]),
        {"photos": photos},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.kind, job.student, job.total) == ("reference_photos", student, 3)
    assert job.state == "queued"
    assert response.json()["job_url"] == response["Location"] == f"/jobs/{job.pk}/"
    assert not ReferencePhoto.objects.exists()  # nothing is decoded in the request

    with django_capture_on_commit_callbacks(execute=True):
        job_services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert [(line["where"], line["outcome"]) for line in job.report] == [
        ("front.jpg", "created"),
        ("notes.jpg", "skipped"),
        ("side.jpg", "created"),
    ]
    assert "not an image" in job.report[1]["message"]
    assert list(student.photos.values_list("status", flat=True)) == ["pending", "pending"]
    assert not any(job.roster.storage.exists(image["path"]) for image in job.images)

    page = client.get(response["Location"]).content.decode()
    assert "2 created, 0 updated, 0 unchanged, 1 skipped" in page
    assert reverse("attendance:student_detail", args=[student.pk]) in page  # the way back


def test_a_plain_form_with_several_reference_photos_goes_to_the_job_page(
    client, admin_user, student, monkeypatch
):
    from attendance import tasks

    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:photo_add", args=[student.pk]),
        {"photos": [photo_upload("a.jpg"), photo_upload("b.jpg")]},
    )
    job = Job.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}/")


def test_reference_photos_without_consent_are_refused_before_anything_is_stored(client, admin_user):
    from attendance.services import students as student_services

    bea = student_services.student_create(student_number="S002", full_name="Bea Noconsent")
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:photo_add", args=[bea.pk]),
        {"photos": [photo_upload("a.jpg"), photo_upload("b.jpg")]},
    )
    assert response.status_code == 409
    assert "no recorded photo consent" in response.content.decode()
    assert not Job.objects.exists() and not ReferencePhoto.objects.exists()


def test_consent_withdrawn_while_the_photos_wait_adds_none_and_keeps_none(
    admin_user, student, django_capture_on_commit_callbacks
):
    from attendance.services import students as student_services

    job = job_services.reference_photos_upload_start(
        student=student, image_files=[photo_upload("a.jpg"), photo_upload("b.jpg")], by=admin_user
    )
    student_services.consent_withdraw(student=student, by=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        job_services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert [line["outcome"] for line in job.report] == ["skipped", "skipped"]
    assert "no recorded photo consent" in job.report[0]["message"]
    assert not ReferencePhoto.objects.exists()
    assert not any(job.roster.storage.exists(image["path"]) for image in job.images)


def test_deleting_a_student_takes_the_photos_of_their_waiting_job_with_it(
    admin_user, student, django_capture_on_commit_callbacks
):
    from attendance.files import orphan_files
    from attendance.services import students as student_services

    job = job_services.reference_photos_upload_start(
        student=student, image_files=[photo_upload("a.jpg"), photo_upload("b.jpg")], by=admin_user
    )
    storage = job.roster.storage
    paths = [image["path"] for image in job.images]
    assert all(storage.exists(path) for path in paths)
    assert not set(paths) & set(orphan_files(min_age=timedelta(0)))  # a waiting job's input

    with django_capture_on_commit_callbacks(execute=True):
        student_services.student_delete(student=student, by=admin_user)
    assert not Job.objects.exists()
    assert not any(storage.exists(path) for path in paths)
