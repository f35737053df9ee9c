"""Stateless processes: two real worker processes, each in its own folder with its own (empty)
media folder, share nothing but PostgreSQL, Redis and a private bucket on moto's S3 server. The
whole flow runs on S3: reference photos, class photos, crops, serving with permission, deletion.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from datetime import time as clock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.models import AttendanceRecord, Capture, Course, DetectedFace, ReferencePhoto
from attendance.services import courses as course_services
from attendance.services import students as student_services
from attendance.storage import PrivateS3Storage
from tests.support.faces import (
    CLASS,
    Worker,
    class_photo_bytes,
    enroll_with_photos,
    lfw_or_skip,
    model_or_skip,
    route_tasks_to,
    wait_for_capture,
)
from tests.support.s3 import S3Media, use_storage

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PEOPLE = CLASS[:4]
CAPTURES = 10
SUCCEEDED = re.compile(r"Task attendance\.process_capture\[[0-9a-f-]+\] succeeded")


@pytest.fixture(scope="module")
def two_workers(moto_s3, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator:
    """Two workers on one queue, the test Redis and a bucket of their own; each runs in its own
    folder, with ROLLCALL_VAR_DIR and ROLLCALL_PRIVATE_MEDIA_ROOT inside it (and so nothing on
    a disk the other, or this process, can see)."""
    lfw_or_skip()
    model_or_skip()
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the worker tests need CELERY_BROKER_URL=redis://... (see the Makefile)")
    media = S3Media(s3=moto_s3, bucket=f"rollcall-{uuid.uuid4().hex[:12]}")
    moto_s3.client.create_bucket(Bucket=media.bucket)
    queue = f"rollcall-test-{uuid.uuid4().hex[:8]}"
    workers = []
    with django_db_blocker.unblock():
        for name in ("a", "b"):
            home = tmp_path_factory.mktemp(f"worker-{name}")
            env = {
                "ROLLCALL_STORAGE_URL": media.storage_url,
                "ROLLCALL_VAR_DIR": str(home / "var"),
                "ROLLCALL_PRIVATE_MEDIA_ROOT": str(home / "var" / "private"),
                "ROLLCALL_SWEEP_ON_WORKER_START": "false",  # every task here is one we sent
            }
            worker = Worker(broker=settings.CELERY_BROKER_URL, queue=queue, env=env, cwd=home)
            worker.log = worker.log.with_name(f"worker-{queue}-{name}.log")
            workers.append(worker)
        try:
            for worker in workers:
                worker.start()
            yield media, workers
        finally:
            for worker in workers:
                worker.stop()


def names(people) -> list[str]:
    return [p.replace("_", " ") for p in people]


def upload(client, session, people: list[str], seed: int) -> int:
    image = SimpleUploadedFile("class.jpg", class_photo_bytes(people, seed=seed))
    response = client.post("/api/captures/", {"session": session.pk, "image": image})
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_two_workers_without_a_shared_disk_take_attendance_from_s3_and_deleting_empties_it(
    two_workers, client, admin_user, alice, bob, settings, monkeypatch
):
    media, workers = two_workers
    use_storage(media.storage_url, settings, monkeypatch)  # this process: the web side
    undo = route_tasks_to(workers[0].queue)
    try:
        room = enroll_with_photos(admin_user, alice, PEOPLE)  # embedded by the workers, on S3
        sessions = [
            course_services.session_create(
                course=room.course,
                date=date(2026, 10, 6 + i),
                start_time=clock(9),
                end_time=clock(10),
            )
            for i in range(CAPTURES)
        ]
        # Capture i shows two or three of the four people: each session's marks differ.
        expected = {
            i: {PEOPLE[i % 4], PEOPLE[(i + 1) % 4]} | ({PEOPLE[(i + 2) % 4]} if i % 2 else set())
            for i in range(CAPTURES)
        }
        client.force_login(alice)
        ids = {i: upload(client, sessions[i], sorted(expected[i]), seed=i) for i in expected}
        captures = {i: wait_for_capture(pk, timeout=600) for i, pk in ids.items()}
    finally:
        undo()

    # Processed exactly once each, by one worker or the other, and each session marked right.
    done = [len(SUCCEEDED.findall(w.log_text())) for w in workers]
    assert sum(done) == CAPTURES and min(done) >= 1, done
    automatic_total = 0
    for i, capture in captures.items():
        assert capture.state == Capture.State.DONE, capture.failure_reason
        faces = DetectedFace.objects.filter(capture=capture).select_related("student")
        # Each face is linked to the right student: marked at once, or suggested for review
        # when the match is less sure; and exactly the automatic ones are marked present.
        assert sorted(f.student.full_name for f in faces) == sorted(names(expected[i]))
        automatic = {f.student.full_name for f in faces if f.decision == "auto"}
        present = AttendanceRecord.objects.filter(session=sessions[i], status="present")
        assert {r.student.full_name for r in present} == automatic
        automatic_total += len(automatic)
    assert automatic_total >= CAPTURES * 2  # most faces are sure enough to mark at once

    # Every file is an object in the bucket; no worker wrote to its own disk.
    assert isinstance(Capture.image.field.storage, PrivateS3Storage)
    stored = set(media.object_names())
    assert {c.image.name for c in captures.values()} <= stored
    assert {f.crop.name for f in DetectedFace.objects.all()} <= stored
    assert {p.face_crop.name for p in ReferencePhoto.objects.all()} <= stored
    for worker in workers:
        assert not any(p.is_file() for p in (worker.cwd / "var").rglob("*"))

    # Served through the permission-checked views only.
    face = DetectedFace.objects.filter(capture=captures[0]).first()
    response = client.get(f"/files/faces/{face.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    client.force_login(bob)
    assert client.get(f"/files/faces/{face.pk}/").status_code == 404
    assert client.get(f"/files/captures/{captures[0].pk}/").status_code == 404

    # Deleting the students and the course takes every object with it.
    for student in list(room.students.values()):
        student_services.student_delete(student=student, by=admin_user)
    Course.objects.all().delete()
    assert media.object_names() == []


def test_a_worker_keeps_one_pool_process_and_so_loads_the_model_once(two_workers):
    # ROLLCALL_WORKER_MAX_MEMORY_MB is compared with the pool process's peak memory after each
    # task: set below the model's own peak, every task would start a new process and load the
    # model again (it did, at 3072 MB). After the test above, each worker still has its first.
    for worker in two_workers[1]:
        log = worker.log_text()
        assert log.count("face models loaded") == 1, log[-2000:]
        assert "ForkPoolWorker-2" not in log
