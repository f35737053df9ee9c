"""Webhooks against a real HTTP receiver on 127.0.0.1: what is sent, how it is signed, retries,
order per session, and an endpoint switched off after failing again and again.

The sending is called in-process here (``webhook_deliver``, the task's body); the broker is the
outer edge, so enqueueing is only recorded. tests/webhooks/test_worker.py runs a real worker.
"""

from __future__ import annotations

import json
import time

import pytest
from django.core import mail

from attendance import tasks
from attendance.models import WebhookDelivery, WebhookEndpoint
from attendance.services import records as record_services
from attendance.services import students as student_services
from attendance.services import webhooks
from attendance.services.captures import _fail

pytestmark = pytest.mark.django_db

ALL_EVENTS = WebhookEndpoint.Event.values


@pytest.fixture
def sent(monkeypatch) -> list[tuple[int, float | None]]:
    """What was handed to the broker: (delivery id, countdown)."""
    calls: list[tuple[int, float | None]] = []
    monkeypatch.setattr(
        tasks, "enqueue_webhook", lambda pk, countdown=None: calls.append((pk, countdown))
    )
    return calls


@pytest.fixture
def endpoint(receiver, admin_user):
    return webhooks.webhook_endpoint_create(
        url=receiver.url, events=ALL_EVENTS, secret="s3cret", by=admin_user
    )


def mark(session, student, status, by):
    return record_services.attendance_mark(
        session=session, student=student, status=status, source="manual", by=by, reason="r"
    )


def deliveries(event: str | None = None) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects.order_by("pk")
    return list(rows.filter(event=event) if event else rows)


def test_a_mark_is_posted_as_signed_json_that_the_receiver_can_verify(
    receiver, endpoint, session, student, alice, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mark(session, student, "late", alice)
    (delivery,) = deliveries()
    assert sent == [(delivery.pk, None)]  # enqueued once the mark committed

    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "delivered"

    (request,) = receiver.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["RollCall-Event"] == "record.changed"
    assert request.headers["RollCall-Delivery"] == str(delivery.pk)
    body = json.loads(request.body)
    assert body["event"] == "record.changed"
    assert body["data"]["session"] == session.pk
    assert body["data"]["course"] == session.course_id
    assert body["data"]["student"] == student.pk
    assert (body["data"]["old_status"], body["data"]["new_status"]) == ("", "late")
    assert body["data"]["changed_by"] == "alice"
    signature = request.headers["RollCall-Signature"]
    assert signature.startswith("t=") and ",v1=" in signature
    assert webhooks.webhook_signature_verify(secret="s3cret", header=signature, body=request.body)
    assert not webhooks.webhook_signature_verify(
        secret="wrong", header=signature, body=request.body
    )
    assert not webhooks.webhook_signature_verify(
        secret="s3cret", header=signature, body=request.body + b" "
    )
    # Outside the replay window (300 s) the same, correct signature is refused.
    assert not webhooks.webhook_signature_verify(
        secret="s3cret", header=signature, body=request.body, now=time.time() + 301
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
    header = webhooks.webhook_signature(secret="key", timestamp=1700000000, body=b"{}")
    assert header == f"t=1700000000,v1={expected}"


def test_a_500_is_tried_again_with_growing_delays_until_it_is_delivered(
    receiver, endpoint, session, student, alice, sent, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 500]
    mark(session, student, "present", alice)
    (delivery,) = deliveries()

    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"
    assert sent == [(delivery.pk, 30.0)]
    # Not due yet: a second message for it (the sweep, a duplicate) sends nothing.
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "not_due"
    assert len(receiver.requests) == 1

    for expected_delay in (120.0,):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00Z")
        with django_capture_on_commit_callbacks(execute=True):
            assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"
        assert sent[-1] == (delivery.pk, expected_delay)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00Z")
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "delivered"

    delivery.refresh_from_db()
    assert [entry["status_code"] for entry in delivery.log] == [500, 500, 200]
    assert receiver.delivery_ids() == [str(delivery.pk)] * 3  # the same id on every try
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_six_tries_spread_over_about_an_hour_then_it_gives_up(
    receiver, endpoint, session, student, alice, sent
):
    receiver.answers = [500] * 10
    mark(session, student, "present", alice)
    (delivery,) = deliveries()

    outcomes = []
    for _ in range(7):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00Z")
        outcomes.append(webhooks.webhook_deliver(delivery_id=delivery.pk))

    assert outcomes == ["pending"] * 5 + ["failed", "failed"]
    assert len(receiver.requests) == 6
    delays = webhooks.settings.ROLLCALL_WEBHOOK_RETRY_DELAYS
    assert len(delays) + 1 == 6 and 50 * 60 <= sum(delays) <= 75 * 60


def test_deliveries_of_one_session_are_sent_in_order_and_another_session_is_not_held_up(
    receiver, endpoint, session, course, student, alice, sent, django_capture_on_commit_callbacks
):
    from datetime import date
    from datetime import time as clock

    from attendance.services import courses as course_services

    other = course_services.session_create(
        course=course, date=date(2026, 10, 6), start_time=clock(9), end_time=clock(10)
    )
    receiver.answers = [500]
    mark(session, student, "present", alice)
    mark(session, student, "late", alice)
    mark(other, student, "absent", alice)
    mark(session, student, "excused", alice)
    first, second, elsewhere, third = deliveries()

    assert webhooks.webhook_deliver(delivery_id=first.pk) == "pending"  # 500: retried later
    assert webhooks.webhook_deliver(delivery_id=second.pk) == "waiting"
    assert webhooks.webhook_deliver(delivery_id=third.pk) == "waiting"
    assert webhooks.webhook_deliver(delivery_id=elsewhere.pk) == "delivered"
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at="2000-01-01T00:00Z")
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_deliver(delivery_id=first.pk) == "delivered"
    assert sent == [(second.pk, None)]  # the first sends the next in line on
    assert webhooks.webhook_deliver(delivery_id=second.pk) == "delivered"
    assert webhooks.webhook_deliver(delivery_id=third.pk) == "delivered"

    statuses = [json.loads(r.body)["data"]["new_status"] for r in receiver.requests]
    assert statuses == ["present", "absent", "present", "late", "excused"]


def test_an_endpoint_failing_again_and_again_is_disabled_with_a_notice(
    receiver, endpoint, session, student, alice, sent, settings, django_capture_on_commit_callbacks
):
    settings.ROLLCALL_WEBHOOK_DISABLE_AFTER = 3
    settings.ADMINS = [("Admin", "admin@example.edu")]
    receiver.answers = [503] * 10
    for status in ("present", "late", "absent"):
        mark(session, student, status, alice)
    rows = deliveries()
    WebhookDelivery.objects.update(order_key="")  # three independent deliveries

    with django_capture_on_commit_callbacks(execute=True):
        for delivery in rows:
            webhooks.webhook_deliver(delivery_id=delivery.pk)

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "3 failed attempts in a row" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    assert [m.subject for m in mail.outbox] == [
        f"[Django] Webhook endpoint {receiver.url} was disabled"
    ]
    mark(session, student, "excused", alice)
    waiting = deliveries()
    assert len(waiting) == 3  # a disabled endpoint gets no new deliveries
    WebhookDelivery.objects.update(next_attempt_at="2000-01-01T00:00Z")
    assert webhooks.webhook_deliver(delivery_id=rows[0].pk) == "endpoint_disabled"

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_endpoint_enable(endpoint=endpoint)
    assert sorted(pk for pk, _ in sent) == [d.pk for d in rows]  # what waited is sent again
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0 and not endpoint.disabled_reason


def test_a_redirect_is_a_failure_not_a_post_turned_into_a_get(
    receiver, admin_user, session, student, alice, sent
):
    receiver.answers = [302]
    webhooks.webhook_endpoint_create(url=receiver.url, events=ALL_EVENTS, by=admin_user)
    mark(session, student, "present", alice)

    assert webhooks.webhook_deliver(delivery_id=deliveries()[0].pk) == "pending"
    assert deliveries()[0].last_status_code == 302


def test_an_unreachable_endpoint_is_logged_as_a_failure(admin_user, session, student, alice, sent):
    webhooks.webhook_endpoint_create(
        url="http://127.0.0.1:9/nothing-listens", events=ALL_EVENTS, by=admin_user
    )
    mark(session, student, "present", alice)
    (delivery,) = deliveries()

    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert "Connection refused" in delivery.last_error or "URLError" in delivery.last_error


# --- the four events, each from the service that does it ------------------------------------


def test_finalizing_sends_the_absences_then_session_finalized(
    endpoint, admin_user, course, session, student, alice, sent
):
    from datetime import date

    from attendance.services import courses as course_services

    bea = student_services.student_create(student_number="S002", full_name="Bea")
    course_services.enrollment_create(student=bea, course=course, joined_on=date(2026, 9, 1))
    mark(session, student, "present", alice)

    record_services.session_finalize(session=session, by=alice)

    events = [(d.event, d.payload["data"].get("new_status")) for d in deliveries()]
    # The absences are written in bulk at finalization: session.finalized reports their count.
    assert events == [("record.changed", "present"), ("session.finalized", None)]
    finalized = deliveries("session.finalized")[0].payload["data"]
    assert finalized["session"] == session.pk and finalized["marked_absent"] == 1
    assert finalized["finalized_by"] == "alice"
    assert {d.order_key for d in deliveries()} == {f"session:{session.pk}"}


def test_a_processed_capture_sends_capture_done(endpoint, session, alice, sent):
    from attendance.services.captures import capture_create
    from tests.api.conftest import jpeg_upload

    capture = capture_create(session=session, image_file=jpeg_upload(), source="api", by=alice)
    assert deliveries() == []  # queued is not done

    _fail(capture.pk, "v1", "no_face_found", "No face was found.")

    (delivery,) = deliveries()
    assert delivery.event == "capture.done"
    data = delivery.payload["data"]
    assert (data["capture"], data["session"], data["state"]) == (capture.pk, session.pk, "failed")
    assert data["url"] == f"/api/captures/{capture.pk}/"


def test_withdrawn_consent_sends_student_erased(endpoint, student, sent):
    student_services.consent_withdraw(student=student)

    (delivery,) = deliveries()
    assert delivery.event == "student.erased"
    assert delivery.payload["data"] == {"student": student.pk, "student_number": "S001"}
    assert delivery.order_key == ""


def test_an_endpoint_gets_only_the_events_it_subscribed_to(
    receiver, admin_user, session, student, alice, sent
):
    webhooks.webhook_endpoint_create(url=receiver.url, events=["session.finalized"], by=admin_user)
    mark(session, student, "present", alice)
    record_services.session_finalize(session=session, by=alice)

    assert [d.event for d in deliveries()] == ["session.finalized"]


def test_a_change_that_rolls_back_sends_nothing(endpoint, session, student, alice, sent):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        mark(session, student, "present", alice)
        raise RuntimeError("the caller failed after the mark")

    assert deliveries() == [] and sent == []


def test_the_sweep_sends_deliveries_whose_message_was_lost(endpoint, session, student, alice, sent):
    mark(session, student, "present", alice)
    WebhookDelivery.objects.update(next_attempt_at="2000-01-01T00:00Z")

    assert webhooks.webhooks_sweep(late_by=60) == 1
    assert sent == [(deliveries()[0].pk, None)]
