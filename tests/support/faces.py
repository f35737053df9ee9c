"""Fixtures for the face pipeline: LFW people, real embeddings, and a real Celery worker.

``session_worker`` starts ``celery -A config worker`` as a separate process on the real broker
(CELERY_BROKER_URL, Redis db 15 in CI) and the pytest test database, once per test session, on a
queue of its own so that other runs sharing the Redis never take its tasks. Tests that use it
must be ``django_db(transaction=True)``: the worker only sees committed rows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from datetime import time as clock
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.models import Capture, ReferencePhoto
from attendance.services import courses as course_services
from attendance.services import photos as photo_services
from attendance.services import students as student_services
from tests.conftest import DATASETS, PROJECT_ROOT

LFW = DATASETS / "lfw"
CELERY = str(Path(sys.executable).with_name("celery"))
# LFW people with 4+ photos: two are enrolled as reference photos, a later one goes in the
# class photo. Fixed so that a failure can be reproduced by hand.
CLASS = [
    "Colin_Powell",
    "Tony_Blair",
    "Jacques_Chirac",
    "Vladimir_Putin",
    "Gloria_Macapagal_Arroyo",
]
STRANGER = "Serena_Williams"


def lfw_or_skip() -> Path:
    if not LFW.is_dir():
        pytest.skip(f"LFW not found at {LFW} (set ROLLCALL_DATASETS to a folder with lfw/)")
    return LFW


def lfw_photo(person: str, number: int) -> Path:
    return lfw_or_skip() / person / f"{person}_{number:04d}.jpg"


def model_or_skip() -> None:
    import facerec
    from facerec.errors import FaceRecError

    try:
        facerec.model_version()
    except FaceRecError as error:
        pytest.skip(f"face model not available: {error}")


@pytest.fixture(scope="session")
def face_models() -> None:
    """Load the detector and the embedding model once in the pytest process."""
    lfw_or_skip()
    model_or_skip()
    import facerec

    facerec.analyze_photo(facerec.load_image(lfw_photo("Colin_Powell", 1)))


def add_photo(student, path: Path) -> ReferencePhoto:
    photo = ReferencePhoto(student=student, status=ReferencePhoto.Status.PENDING)
    photo.image.save(path.name, ContentFile(path.read_bytes()), save=False)
    photo.save()
    return photo


@dataclass
class Classroom:
    """A course taught by alice with LFW people enrolled, and one open session."""

    course: object
    session: object
    students: dict[str, object] = field(default_factory=dict)  # LFW name -> Student

    def student(self, person: str):
        return self.students[person]


def make_classroom(admin_user, alice, people: list[str], *, photos: tuple[int, ...] = (1, 2)):
    """Enroll ``people`` (LFW names) in alice's course, each with the given reference photos
    saved as pending (not embedded yet)."""
    course = course_services.course_create(
        code="FACE101", title="Faces", term="2026-fall", teachers=[alice]
    )
    session = course_services.session_create(
        course=course, date=date(2026, 10, 5), start_time=clock(9), end_time=clock(10)
    )
    room = Classroom(course=course, session=session)
    for i, person in enumerate(people):
        student = student_services.student_create(
            student_number=f"L{i + 1:03d}",
            full_name=person.replace("_", " "),
            consent_by=admin_user,
        )
        course_services.enrollment_create(
            student=student, course=course, joined_on=date(2026, 9, 1)
        )
        for number in photos:
            add_photo(student, lfw_photo(person, number))
        room.students[person] = student
    return room


def class_photo_bytes(people: list[str], *, number: int = 4, seed: int = 3, **options) -> bytes:
    """A composed class photo with photo ``number`` of each person (never a reference photo)."""
    from benchmarks.synth import compose_class_photo

    chosen = [(p, lfw_photo(p, number)) for p in people]
    options.setdefault("width", 1280)
    options.setdefault("height", 720)
    return compose_class_photo(chosen, seed=seed, **options).jpeg


# --- a real worker ------------------------------------------------------------------------------


class Worker:
    """A ``celery worker`` subprocess (prefork, one pool process unless told) on the test
    database."""

    def __init__(
        self,
        *,
        broker: str,
        queue: str,
        beat: bool = False,
        env: dict | None = None,
        concurrency: int = 1,
        database_url: str | None = None,
        cwd: Path = PROJECT_ROOT,
        name: str = "",
    ):
        from django.db import connection

        db = connection.settings_dict
        self.broker, self.queue, self.beat, self.cwd = broker, queue, beat, cwd
        self.concurrency = concurrency
        # One log per worker, even on a shared queue: waiting for "ready." must not find the
        # line of a worker started before.
        log = f"worker-{queue}{name}-{uuid.uuid4().hex[:4]}.log"
        self.log = Path(settings.PRIVATE_MEDIA_ROOT).parent / log
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url
            or f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "ROLLCALL_TASK_QUEUE": queue,
            "ROLLCALL_PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
            "PYTHONUNBUFFERED": "1",
            # The project's code, whichever folder the worker runs in.
            "PYTHONPATH": str(PROJECT_ROOT),
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Worker:
        command = [
            CELERY, "-A", "config", "worker", "--pool=prefork", f"--concurrency={self.concurrency}",
            f"--queues={self.queue}", f"--hostname={self.queue}-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.beat:
            command += ["--beat", f"--schedule={self.log.with_suffix('.beat')}"]
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.wait_for_log("ready.", timeout=timeout)
        return self

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, *, timeout: float, after: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text()[after:]:
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log_text()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(
            f"{text!r} not in the worker log after {timeout}s:\n{self.log_text()[-3000:]}"
        )

    def warm_pids(self) -> set[int]:
        """Pids of live pool processes that have loaded the face models."""
        loaded = re.findall(r"face models loaded in [\d.]+ s \(process (\d+)\)", self.log_text())
        return {int(pid) for pid in loaded} & set(self.pool_pids())

    def processing_pid(self, capture_id: int, after: int = 0) -> int | None:
        """The pid of the pool process that logged it took ``capture_id``, if any."""
        pattern = rf"capture {capture_id}: processing in process (\d+)"
        found = re.findall(pattern, self.log_text()[after:])
        return int(found[-1]) if found else None

    def pool_pids(self) -> list[int]:
        """Pids of the pool processes (children of the main worker process)."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def route_tasks_to(queue: str) -> Callable[[], None]:
    """Make this process send tasks to ``queue``; returns the undo."""
    from config.celery_app import app

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    return lambda: setattr(app.conf, "task_default_queue", previous)


@pytest.fixture(scope="session")
def session_worker(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    """One real worker process for the whole test session, on the test database and a queue of
    its own (use ``celery_worker``, which also routes the test's tasks to that queue)."""
    lfw_or_skip()
    model_or_skip()
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the worker tests need CELERY_BROKER_URL=redis://... (see the Makefile)")
    queue = f"rollcall-test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        worker = Worker(broker=settings.CELERY_BROKER_URL, queue=queue).start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def celery_worker(session_worker) -> Iterator[Worker]:
    """The shared worker, with this test's tasks sent to its queue (undone after the test)."""
    undo = route_tasks_to(session_worker.queue)
    try:
        yield session_worker
    finally:
        undo()


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_photos(photos, *, timeout: float = 180) -> None:
    ids = [p.pk for p in photos]
    wait_until(
        lambda: not ReferencePhoto.objects.filter(pk__in=ids, status="pending").exists(),
        timeout=timeout,
        what="reference photos to be processed",
    )


def wait_for_capture(capture_id: int, *, timeout: float = 180) -> Capture:
    return wait_until(
        lambda: Capture.objects.filter(pk=capture_id, state__in=["done", "failed"]).first(),
        timeout=timeout,
        what=f"capture #{capture_id} to be processed",
    )


def enroll_with_photos(admin_user, alice, people):
    """A classroom whose reference photos are enqueued like an admin's uploads."""
    room = make_classroom(admin_user, alice, people, photos=())
    for person, student in room.students.items():
        for number in (1, 2):
            path = lfw_photo(person, number)
            photo_services.reference_photo_add(
                student=student,
                image_file=SimpleUploadedFile(path.name, path.read_bytes()),
                by=admin_user,
            )
    wait_for_photos(ReferencePhoto.objects.all())
    assert set(ReferencePhoto.objects.values_list("status", flat=True)) == {"ready"}
    return room
