"""Shared fixtures. Three people, as in every test here: alice teaches a course, bob teaches
another and must never see alice's things, and an admin (staff) sees everything."""

from __future__ import annotations

import io
import os
from datetime import date, time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from attendance.services import courses as course_services
from attendance.services import students as student_services

# Face fixtures and the real Celery worker, shared by every folder of tests (one worker per run).
pytest_plugins = ["tests.support.faces", "tests.support.s3"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# A test that needs these loads the face models (seconds of TensorFlow start-up, then real
# embeddings): it is "slow" wherever it lives, so `make test-fast` leaves it to CI.
LOADS_THE_MODELS = {"face_models", "models_loaded", "session_worker"}


# `make test` runs the suite in parallel (pytest-xdist, `--dist loadgroup`). Each test file is a
# group of its own, so a module-scoped fixture (a model, a compose file, two workers) is built once
# and a file's tests keep their order; every test that runs a real Celery worker (the session
# worker, or workers of its own on the shared Redis) goes to one group, so that a run starts one
# session worker (a TensorFlow process of ~3 GB) rather than one per xdist process.
WORKER_GROUP = "real-worker"


def xdist_group_of(item: pytest.Item) -> str:
    if item.get_closest_marker("worker") or "session_worker" in getattr(item, "fixturenames", ()):
        return WORKER_GROUP
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LOADS_THE_MODELS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))


DATASETS = Path(os.environ.get("ROLLCALL_DATASETS", PROJECT_ROOT.parent / "shared" / "datasets"))


def datasets_or_skip() -> Path:
    if not (DATASETS / "lfw").is_dir():
        pytest.skip(
            f"real face data not found at {DATASETS} (set ROLLCALL_DATASETS to a folder with lfw/)"
        )
    return DATASETS


@pytest.fixture(autouse=True)
def broker_memory_forgotten():
    """A failed send makes this process skip sends for a few seconds (attendance.tasks); a test
    that took the broker down must not leave that memory to whichever test runs next in the
    same process (the order differs between pytest-xdist processes)."""
    from attendance import tasks

    tasks._broker_down_until = 0.0
    yield
    tasks._broker_down_until = 0.0


@pytest.fixture
def datasets() -> Path:
    return datasets_or_skip()


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_user(
        "admin", "admin@example.edu", "admin-pass-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.edu", "alice-pass-1")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.edu", "bob-pass-1")


@pytest.fixture
def course(alice):
    return course_services.course_create(
        code="BIO101", title="Biology", term="2026-fall", teachers=[alice]
    )


@pytest.fixture
def bobs_course(bob):
    return course_services.course_create(
        code="CHE201", title="Chemistry", term="2026-fall", teachers=[bob]
    )


@pytest.fixture
def student(admin_user, course):
    ada = student_services.student_create(
        student_number="S001", full_name="Ada Lovelace", consent_by=admin_user
    )
    course_services.enrollment_create(student=ada, course=course, joined_on=date(2026, 9, 1))
    return ada


@pytest.fixture
def session(course):
    return course_services.session_create(
        course=course, date=date(2026, 10, 5), start_time=time(9), end_time=time(10, 30), room="B12"
    )


def jpeg_bytes(width: int = 64, height: int = 48, color=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def jpeg_upload():
    return SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg")
