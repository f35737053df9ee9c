"""The admin-only webhooks API: register, change, switch on again, read the delivery log."""

from __future__ import annotations

import pytest

from attendance.models import WebhookEndpoint
from attendance.services import records as record_services
from attendance.services import webhooks

pytestmark = pytest.mark.django_db


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(clients):
    response = clients["admin"].post(
        "/api/webhooks/",
        {"url": "https://sis.example.edu/hooks", "events": ["record.changed", "capture.done"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["events"] == ["capture.done", "record.changed"]
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == body["secret"]
    listed = clients["admin"].get("/api/webhooks/").json()["results"]
    assert all("secret" not in row for row in listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://x.example.edu/", "events": ["lesson.started"]}, "events.0"),
        ({"url": "https://x.example.edu/", "events": []}, "events"),
        ({"url": "ftp://x.example.edu/", "events": ["capture.done"]}, "url"),
        ({"url": "not a url", "events": ["capture.done"]}, "url"),
    ],
)
def test_a_bad_endpoint_is_a_400_naming_the_field(clients, body, field):
    response = clients["admin"].post("/api/webhooks/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


def test_a_teacher_cannot_see_or_register_endpoints(clients, alices):
    response = clients["alice"].post(
        "/api/webhooks/", {"url": "https://evil.example/", "events": ["record.changed"]}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert WebhookEndpoint.objects.count() == 1


def test_the_delivery_log_shows_each_attempt_with_its_status_code(clients, alices, alice, receiver):
    endpoint = alices.webhook
    webhooks.webhook_endpoint_update(endpoint=endpoint, url=receiver.url)
    receiver.answers = [500]
    record_services.session_finalize(session=alices.session, by=alice, force=True)
    delivery = endpoint.deliveries.get()
    webhooks.webhook_deliver(delivery_id=delivery.pk)

    response = clients["admin"].get(f"/api/webhooks/{endpoint.pk}/deliveries/")

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["event"], row["state"], row["attempts"]) == ("session.finalized", "pending", 1)
    assert row["last_status_code"] == 500
    assert [entry["status_code"] for entry in row["log"]] == [500]


def test_switching_a_disabled_endpoint_on_again_resets_it(clients, alices):
    WebhookEndpoint.objects.filter(pk=alices.webhook.pk).update(
        active=False, consecutive_failures=18, disabled_reason="Disabled after 18 failed attempts"
    )

    response = clients["admin"].patch(
        f"/api/webhooks/{alices.webhook.pk}/", {"active": True}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["active"], body["consecutive_failures"], body["disabled_reason"]) == (
        True,
        0,
        "",
    )
