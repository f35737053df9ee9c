"""Webhooks sent by a real Celery worker (a separate process on Redis) to a real receiver:
retries after a 500, and no delivery lost when the worker process is killed mid-send."""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest
from django.conf import settings

from attendance.models import WebhookDelivery, WebhookEndpoint
from attendance.services import records as record_services
from attendance.services import webhooks
from tests.support.faces import Worker, route_tasks_to, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(django_db_blocker):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the worker tests need CELERY_BROKER_URL=redis://... (see the Makefile)")
    queue = f"rollcall-webhooks-{uuid.uuid4().hex[:8]}"
    undo = route_tasks_to(queue)
    worker = Worker(
        broker=settings.CELERY_BROKER_URL,
        queue=queue,
        env={"ROLLCALL_WEBHOOK_RETRY_DELAYS": "1,1,1,1,1", "ROLLCALL_WEBHOOK_TIMEOUT": "60"},
    )
    with django_db_blocker.unblock():
        worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        undo()


def subscribe(receiver, admin_user) -> WebhookEndpoint:
    return webhooks.webhook_endpoint_create(
        url=receiver.url, events=WebhookEndpoint.Event.values, secret="s3cret", by=admin_user
    )


def delivered(pk: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(pk=pk, state="delivered").first()


def test_the_worker_sends_a_mark_and_tries_again_after_a_500(
    worker, receiver, admin_user, alice, session, student
):
    subscribe(receiver, admin_user)
    receiver.answers = [500]

    record_services.attendance_mark(
        session=session, student=student, status="late", source="manual", by=alice, reason="bus"
    )

    delivery = WebhookDelivery.objects.get()
    done = wait_until(lambda: delivered(delivery.pk), timeout=90, what="the delivery")
    assert [entry["status_code"] for entry in done.log] == [500, 200]
    assert len(receiver.requests) == 2
    last = receiver.requests[-1]
    assert json.loads(last.body)["data"]["new_status"] == "late"
    assert webhooks.webhook_signature_verify(
        secret="s3cret", header=last.headers["RollCall-Signature"], body=last.body
    )


def test_a_worker_killed_mid_send_loses_no_delivery(
    worker, receiver, admin_user, alice, session, student
):
    subscribe(receiver, admin_user)
    receiver.hold_first = 30  # the first POST hangs while the worker is killed

    record_services.attendance_mark(
        session=session, student=student, status="present", source="manual", by=alice
    )
    delivery = WebhookDelivery.objects.get()
    receiver.wait_for(1, timeout=90)
    killed = worker.pool_pids()
    assert killed, "the worker has no pool process"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)

    done = wait_until(lambda: delivered(delivery.pk), timeout=120, what="the redelivery")
    # Sent again by a new process (at least once: the receiver dedupes by RollCall-Delivery).
    assert receiver.delivery_ids() == [str(delivery.pk)] * 2
    assert set(worker.pool_pids()).isdisjoint(killed)
    assert done.attempts == 1 and done.last_status_code == 200  # the killed try left no trace
