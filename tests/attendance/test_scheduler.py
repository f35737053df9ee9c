"""One scheduler's worth of scheduled work: beat is one compose service, and should two ever run
(a second beat, a worker's start-up sweep beside beat's) the sweep still runs once per period."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from attendance import tasks
from attendance.models import Capture
from tests.conftest import jpeg_bytes
from tests.support.faces import route_tasks_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_queue():
    """Route this test's sends (and the lease, which is per queue) to a queue of its own."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the lease lives in Redis: CELERY_BROKER_URL=redis://... (see the Makefile)")
    queue = f"rollcall-test-{uuid.uuid4().hex[:8]}"
    undo = route_tasks_to(queue)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        yield client, queue
    finally:
        undo()
        client.delete(queue, *client.keys(f"rollcall:lease:{queue}:*"))


@pytest.fixture
def lost_capture(session):
    """A class photo saved while the broker was down: queued, long enough ago to be sent again."""
    capture = Capture(session=session, state="queued", width=64, height=48)
    capture.image.save("class.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    Capture.objects.filter(pk=capture.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    return capture


def test_two_schedulers_sweeping_at_once_send_a_lost_capture_once(own_queue, lost_capture):
    client, queue = own_queue
    results: list[dict] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        results.append(tasks.sweep())

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results, key=len) == [
        {"skipped": 1},
        {"captures": 1, "photos": 0, "jobs": 0, "webhooks": 0},
    ]
    assert client.llen(queue) == 1  # one process_capture message, not two


def test_the_next_period_sweeps_again(own_queue, lost_capture, settings):
    import time

    settings.ROLLCALL_SWEEP_SECONDS = 0.5
    assert tasks.sweep()["captures"] == 1
    assert tasks.sweep() == {"skipped": 1}

    time.sleep(0.5)
    # The first sweep's send counts as a sign of life; the capture is lost again a period later.
    Capture.objects.filter(pk=lost_capture.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )

    assert tasks.sweep()["captures"] == 1
