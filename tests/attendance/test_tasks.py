"""Thin tasks and the recovery sweep: what is sent again, and what a broker outage looks like."""

from __future__ import annotations

import io
import socket
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

import facerec
from attendance import tasks
from attendance.models import Capture, ReferencePhoto, Student
from attendance.services import captures as capture_services
from tests.conftest import jpeg_bytes
from tests.support.faces import lfw_or_skip, model_or_skip

pytestmark = pytest.mark.django_db


def make_capture(session, state: str, *, age: timedelta = timedelta(0)) -> Capture:
    capture = Capture(session=session, state=state)
    capture.image.save("c.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    then = timezone.now() - age
    Capture.objects.filter(pk=capture.pk).update(created_at=then, updated_at=then, started_at=then)
    return capture


def test_the_sweep_resends_captures_left_queued_or_stuck_and_nothing_else(session, monkeypatch):
    old_queued = make_capture(session, "queued", age=timedelta(minutes=5))
    make_capture(session, "queued")  # just uploaded: its own message is on the way
    stuck = make_capture(session, "processing", age=timedelta(hours=1))
    make_capture(session, "processing", age=timedelta(seconds=10))  # a worker is on it
    make_capture(session, "done", age=timedelta(hours=1))
    sent = []
    monkeypatch.setattr(tasks, "enqueue_capture", lambda pk, **kw: sent.append(pk) or True)
    count = capture_services.captures_sweep(queued_for=60, processing_for=900)
    assert (count, sent) == (2, [old_queued.pk, stuck.pk])


def test_a_long_capture_whose_worker_still_beats_is_not_sent_again(session, monkeypatch):
    slow = make_capture(session, "processing", age=timedelta(minutes=10))
    Capture.objects.filter(pk=slow.pk).update(updated_at=timezone.now())  # a heartbeat
    sent = []
    monkeypatch.setattr(tasks, "enqueue_capture", lambda pk, **kw: sent.append(pk) or True)
    assert capture_services.captures_sweep(queued_for=30, processing_for=20) == 0
    assert sent == []


def test_a_capture_sent_again_is_queued_and_left_alone_by_the_next_sweeps(session, monkeypatch):
    stuck = make_capture(session, "processing", age=timedelta(minutes=1))
    sent = []
    monkeypatch.setattr(tasks, "enqueue_capture", lambda pk, **kw: sent.append(pk) or True)
    for _ in range(3):  # sweeps that piled up while a restarted worker loaded its models
        capture_services.captures_sweep(queued_for=30, processing_for=20)
    assert sent == [stuck.pk]
    stuck.refresh_from_db()
    assert stuck.state == "queued"


@pytest.mark.django_db(transaction=True)  # the heartbeat writes from its own thread
def test_a_worker_processing_a_capture_beats_so_the_sweep_leaves_it_alone(
    session, monkeypatch, settings
):
    model_or_skip()
    settings.ROLLCALL_HEARTBEAT_SECONDS = 0.2
    capture = make_capture(session, "queued", age=timedelta(minutes=1))
    seen = []

    def slow_analysis(**kwargs):
        time.sleep(1.5)  # a big photo on a loaded machine
        seen.append(Capture.objects.values_list("updated_at", flat=True).get(pk=capture.pk))
        raise facerec.FaceRecError("no_face_found", "No face in this photo.")

    monkeypatch.setattr(capture_services, "capture_analyze", slow_analysis)
    claimed = timezone.now()
    capture_services.capture_process(capture_id=capture.pk)
    assert seen and seen[0] > claimed + timedelta(seconds=1)


def test_with_an_unreachable_broker_enqueueing_reports_false_instead_of_failing(session):
    from config.celery_app import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    previous = app.conf.broker_write_url
    app.conf.broker_write_url = f"redis://127.0.0.1:{closed_port}/0"
    app._pool, app.amqp._producer_pool = None, None
    try:
        assert tasks.enqueue_capture(12345) is False
    finally:
        app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None


def test_a_task_for_a_deleted_capture_or_photo_does_nothing(session):
    model_or_skip()
    capture = make_capture(session, "queued")
    capture.delete()
    assert tasks.process_capture.apply(args=[capture.pk]).get() == "gone"
    assert tasks.embed_reference_photo.apply(args=[987654]).get() == "gone"


def test_seed_demo_gives_each_demo_student_two_lfw_reference_photos_once(
    settings, django_capture_on_commit_callbacks
):
    lfw_or_skip()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("seed_demo", stdout=out)
    students = Student.objects.filter(student_number__startswith="D")
    assert students.count() == 8
    assert {s.photos.count() for s in students} == {2}
    assert len(callbacks) == 16  # one embedding task per photo, sent after the commit
    assert "16 reference photo(s) added" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())
    assert ReferencePhoto.objects.count() == 16


def test_seed_demo_says_when_the_face_data_is_absent(settings, tmp_path):
    settings.ROLLCALL_DATASETS_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "No LFW folder" in out.getvalue()
    assert not ReferencePhoto.objects.exists()
