"""The retention purge runs as a Celery task on the real worker (beat sends it periodically)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from attendance import tasks
from attendance.models import Capture, ClassSession
from tests.conftest import jpeg_bytes
from tests.support.faces import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_deletes_class_photos_past_retention_and_keeps_recent_ones(
    celery_worker, session, course
):
    old = Capture(session=session, state="done")
    old.image.save("old.jpg", ContentFile(jpeg_bytes()), save=True)
    ClassSession.objects.filter(pk=session.pk).update(
        state="finalized", finalized_at=timezone.now() - timedelta(days=31)
    )
    recent_session = ClassSession.objects.create(
        course=course,
        date=session.date + timedelta(days=1),
        start_time=session.start_time,
        end_time=session.end_time,
        state="finalized",
        finalized_at=timezone.now() - timedelta(days=2),
    )
    recent = Capture(session=recent_session, state="done")
    recent.image.save("recent.jpg", ContentFile(jpeg_bytes()), save=True)

    # Task results are not stored (the rows carry the outcome), so the test watches the rows.
    tasks.retention_purge.apply_async(queue=celery_worker.queue)

    wait_until(
        lambda: Capture.objects.get(pk=old.pk).image.name == "",
        timeout=120,
        what="the worker to purge the old class photo",
    )
    store = storages["private"]
    wait_until(lambda: not store.exists(old.image.name), timeout=30, what="the old photo to go")
    assert store.exists(recent.image.name)
    assert Capture.objects.get(pk=old.pk).image.name == ""
