"""A request body over the size limit is refused from its Content-Length, before it is read."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from attendance.models import Capture

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads from it."""

    reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        type(self).reads += 1
        raise AssertionError("the body of a request over the limit was read")

    readinto = read  # type: ignore[assignment]


def huge_post(client: Client, path: str, **headers):
    UnreadableBody.reads = 0
    return client.generic(
        "POST",
        path,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(300 * MB),
        **{"wsgi.input": UnreadableBody()},
        headers=headers,
    )


def test_a_300_mb_api_upload_gets_413_without_its_body_being_read(client, alice, session):
    client.force_login(alice)

    response = huge_post(client, "/api/captures/")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert "at most 210 MB can be sent at once" in response.json()["error"]["message"]
    assert response["Connection"] == "close"
    assert UnreadableBody.reads == 0
    assert not Capture.objects.exists()


def test_a_300_mb_page_upload_gets_a_413_page(client, alice, session):
    client.force_login(alice)

    response = huge_post(client, f"/sessions/{session.pk}/captures/")

    assert response.status_code == 413
    assert "The upload is too large" in response.content.decode()
    assert UnreadableBody.reads == 0


def test_a_request_under_the_limit_goes_through(client, alice, session):
    client.force_login(alice)
    response = client.post(f"/sessions/{session.pk}/captures/", {})
    assert response.status_code == 400  # no photo chosen: the view answered, not the guard
    assert "Choose a photo" in response.content.decode()
