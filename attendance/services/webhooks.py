"""Webhooks: tell an integrator's system (an LMS, a student information system) what happened.

``webhooks_emit`` is called by the services that do the events, inside their transaction: it
writes one ``WebhookDelivery`` row per subscribed endpoint (so an event is stored exactly when
the change it reports commits, and never lost) and enqueues the sending after commit. The Celery
task ``deliver_webhook`` calls ``webhook_deliver``, which POSTs the JSON and logs the attempt.

Protocol (documented in README, "Webhooks"):

* Body: ``{"id": event uuid, "event": "record.changed", "created_at": ISO 8601, "data": {...}}``.
* ``RollCall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; a receiver
  recomputes it and refuses a timestamp older than ROLLCALL_WEBHOOK_TOLERANCE_SECONDS (300 s), so a
  captured request cannot be replayed later (``webhook_signature_verify`` does both).
* ``RollCall-Event`` and ``RollCall-Delivery`` (the delivery id: the same on every retry).
* Delivery is at least once: a worker killed mid-send sends again, so receivers dedupe by
  ``RollCall-Delivery``. Any 2xx is success; anything else (3xx included: redirects are not
  followed) is tried again after each of ROLLCALL_WEBHOOK_RETRY_DELAYS, then given up.
* Deliveries of one session (same ``order_key``) reach an endpoint in creation order: one waits
  while an earlier one of the same session is still pending (being retried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import mail_admins
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from attendance.models import (
    AttendanceChange,
    Capture,
    ClassSession,
    Student,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
Delivery = WebhookDelivery.State
SIGNATURE_HEADER = "RollCall-Signature"


# --- signing ------------------------------------------------------------------------------------


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``RollCall-Signature`` header value of ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_signature_verify(
    *, secret: str, header: str, body: bytes, now: float | None = None, tolerance: int | None = None
) -> bool:
    """What a receiver does: the signature matches and its timestamp is inside the window."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    window = tolerance if tolerance is not None else settings.ROLLCALL_WEBHOOK_TOLERANCE_SECONDS
    if abs((now if now is not None else time.time()) - timestamp) > window:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, header.strip())


# --- endpoints ----------------------------------------------------------------------------------


def _clean_events(events: list[str]) -> list[str]:
    from attendance.errors import InvalidInput

    unknown = sorted(set(events) - set(Event.values))
    if unknown or not events:
        raise InvalidInput(
            f"Unknown or no events {unknown}; choose from {', '.join(Event.values)}.",
            code="invalid_events",
        )
    return [e for e in Event.values if e in events]


@transaction.atomic
def webhook_endpoint_create(
    *, url: str, events: list[str], secret: str = "", description: str = "", by: User | None
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        url=url,
        events=_clean_events(events),
        secret=secret or webhook_secret_new(),
        description=description,
        created_by=by,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_ensure(
    *, url: str, events: list[str], secret: str = "", description: str = "", by: User | None
) -> tuple[WebhookEndpoint, bool]:
    """``webhook_endpoint_create``, except that the same request again (URL and events, and the
    secret when one is given) returns the endpoint made the first time: a retried call never
    subscribes twice (which would send every event twice). Returns (endpoint, created)."""
    wanted = sorted(_clean_events(events))
    for endpoint in WebhookEndpoint.objects.filter(url=url).order_by("pk"):
        if sorted(endpoint.events) == wanted and (not secret or secret == endpoint.secret):
            return endpoint, False
    created = webhook_endpoint_create(
        url=url, events=events, secret=secret, description=description, by=by
    )
    return created, True


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change url, events, secret, description or active; switching it on again sends what
    waited while it was off."""
    if "events" in fields:
        fields["events"] = _clean_events(fields["events"])
    if fields.get("active") and not endpoint.active:
        return _enable(endpoint, **fields)
    for name in ("url", "events", "secret", "description", "active"):
        if name in fields:
            setattr(endpoint, name, fields[name])
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def _enable(endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    for name in ("url", "events", "secret", "description"):
        if name in fields:
            setattr(endpoint, name, fields[name])
    endpoint.active, endpoint.consecutive_failures = True, 0
    endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.full_clean()
    endpoint.save()
    waiting = list(endpoint.deliveries.filter(state=Delivery.PENDING).values_list("pk", flat=True))
    transaction.on_commit(lambda: _enqueue_all(waiting))
    return endpoint


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return webhook_endpoint_update(endpoint=endpoint, active=True)


# --- emitting -----------------------------------------------------------------------------------


def webhooks_emit(*, event: str, payload: dict[str, Any]) -> list[int]:
    """Store ``event`` for every active endpoint that subscribed to it and send it after the
    caller's transaction commits (a rolled-back change sends nothing). Returns delivery ids.

    Deliveries that name a ``session`` in their payload are ordered per session."""
    return webhooks_emit_many(event=event, payloads=[payload])


def webhooks_emit_many(*, event: str, payloads: list[dict[str, Any]]) -> list[int]:
    """``webhooks_emit`` for several events of one kind (a class photo's marks), in order: one
    query for the endpoints and one insert, whatever their number."""
    if not payloads:
        return []
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if event in e.events]
    if not endpoints:
        return []
    deliveries = []
    for payload in payloads:
        envelope = {
            "id": str(uuid.uuid4()),
            "event": event,
            "created_at": timezone.now().isoformat(),
            "data": payload,
        }
        envelope = json.loads(json.dumps(envelope, cls=DjangoJSONEncoder))
        order_key = f"session:{payload['session']}" if payload.get("session") else ""
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_id=envelope["id"],
                payload=envelope,
                order_key=order_key,
            )
            for endpoint in endpoints
        ]
    ids = [d.pk for d in WebhookDelivery.objects.bulk_create(deliveries)]
    transaction.on_commit(lambda: _enqueue_all(ids))
    return ids


def _enqueue_all(ids: list[int]) -> None:
    from attendance.tasks import enqueue_webhook

    for pk in ids:
        enqueue_webhook(pk)


def _user(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def record_changed_payload(change: AttendanceChange) -> dict[str, Any]:
    return {
        "session": change.session_id,
        "course": change.session.course_id,
        "student": change.student_id,
        "record": change.record_id,
        "old_status": change.old_status,
        "new_status": change.new_status,
        "source": change.new_source,
        "changed_by": _user(change.changed_by),
        "changed_at": change.changed_at,
        "reason": change.reason,
    }


def capture_done_payload(capture: Capture) -> dict[str, Any]:
    return {
        "capture": capture.pk,
        "session": capture.session_id,
        "course": ClassSession.objects.values_list("course_id", flat=True).get(
            pk=capture.session_id
        ),
        "state": capture.state,
        "faces": capture.faces.count(),
        "failure_code": capture.failure_code,
        "failure_reason": capture.failure_reason,
        "url": f"/api/captures/{capture.pk}/",
    }


def session_finalized_payload(session: ClassSession, absent: int) -> dict[str, Any]:
    return {
        "session": session.pk,
        "course": session.course_id,
        "date": session.date,
        "finalized_at": session.finalized_at,
        "finalized_by": _user(session.finalized_by),
        "marked_absent": absent,
        "url": f"/api/reports/sessions/{session.pk}/",
    }


def student_erased_payload(student: Student) -> dict[str, Any]:
    return {"student": student.pk, "student_number": student.student_number}


# --- sending ------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET without the body: report it as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(status code or None, error text) of one POST."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.ROLLCALL_WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {getattr(error, 'reason', error)}"


def webhook_deliver(*, delivery_id: int) -> str:
    """Send one delivery if it is due and first in line; returns what happened.

    The delivery's row stays locked while the POST is in flight, so two runs of the task (the
    retry and the sweep) never send it at once; a worker killed mid-send drops its connection
    and with it the lock, and the redelivered task sends again (at least once)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "busy_or_gone"
        if delivery.state != Delivery.PENDING:
            return delivery.state
        if not delivery.endpoint.active:
            return "endpoint_disabled"  # waits; enabling the endpoint sends it
        if delivery.next_attempt_at > timezone.now() + timedelta(seconds=1):
            return "not_due"
        if _earlier_pending(delivery):
            return "waiting"  # the earlier one sends this one on when it is done
        return _attempt(delivery)


def _earlier_pending(delivery: WebhookDelivery) -> bool:
    if not delivery.order_key:
        return False
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        order_key=delivery.order_key,
        state=Delivery.PENDING,
        pk__lt=delivery.pk,
    ).exists()


def _attempt(delivery: WebhookDelivery) -> str:
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RollCall-Webhooks/1",
        "RollCall-Event": delivery.event,
        "RollCall-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    status_code, error = _post(endpoint.url, body, headers)
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error
    delivery.log = [
        *delivery.log,
        {
            "attempt": delivery.attempts,
            "at": timezone.now().isoformat(),
            "status_code": status_code,
            "error": error,
            "ms": round((time.monotonic() - started) * 1000),
        },
    ]
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        delivery.state, delivery.delivered_at = Delivery.DELIVERED, timezone.now()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
    else:
        _schedule_retry(delivery)
        _count_failure(endpoint, error or f"HTTP {status_code}")
    delivery.save()
    if delivery.state != Delivery.PENDING:
        _send_next_in_line(delivery)
    return delivery.state


def _schedule_retry(delivery: WebhookDelivery) -> None:
    delays = settings.ROLLCALL_WEBHOOK_RETRY_DELAYS
    if delivery.attempts > len(delays):
        delivery.state = Delivery.FAILED
        return
    delay = delays[delivery.attempts - 1]
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    pk = delivery.pk

    def enqueue() -> None:
        from attendance.tasks import enqueue_webhook

        enqueue_webhook(pk, countdown=delay)

    transaction.on_commit(enqueue)


def _count_failure(endpoint: WebhookEndpoint, error: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    endpoint.refresh_from_db(fields=["consecutive_failures", "active"])
    limit = settings.ROLLCALL_WEBHOOK_DISABLE_AFTER
    if endpoint.active and endpoint.consecutive_failures >= limit:
        _disable(endpoint, f"Disabled after {limit} failed attempts in a row; the last: {error}.")


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    # The notice: in the log, by mail to ADMINS, and on the endpoint in the admin.
    logger.warning("webhook endpoint #%s %s disabled: %s", endpoint.pk, endpoint.url, reason)
    subject = f"Webhook endpoint {endpoint.url} was disabled"
    transaction.on_commit(lambda: mail_admins(subject, reason, fail_silently=True))


def _send_next_in_line(delivery: WebhookDelivery) -> None:
    if not delivery.order_key:
        return
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            order_key=delivery.order_key,
            state=Delivery.PENDING,
            pk__gt=delivery.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        transaction.on_commit(lambda: _enqueue_all([following]))


def webhooks_sweep(*, late_by: float) -> int:
    """Send again deliveries due for ``late_by`` seconds whose message was lost (the broker was
    down at commit, or a retry's message died with Redis); the task is safe to run twice."""
    due = WebhookDelivery.objects.filter(
        state=Delivery.PENDING,
        endpoint__active=True,
        next_attempt_at__lte=timezone.now() - timedelta(seconds=late_by),
    ).values_list("pk", flat=True)
    ids = list(due[:1000])
    _enqueue_all(ids)
    return len(ids)
