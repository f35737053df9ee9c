"""/metrics: django-prometheus's metrics and RollCall's own, for Prometheus and staff only."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile

from attendance import tasks
from attendance.models import Capture
from tests.conftest import jpeg_bytes
from tests.support.faces import route_tasks_to

pytestmark = pytest.mark.django_db


def capture(session, state: str, **timings) -> Capture:
    photo = Capture(session=session, state=state, timings=timings)
    photo.image.save("class.jpg", ContentFile(jpeg_bytes()), save=False)
    photo.save()
    return photo


@pytest.fixture
def processed(session):
    capture(session, "done", detect=0.4, embed=1.2, match=0.02, faces=30)
    capture(session, "done", detect=0.6, embed=2.0, match=0.03, faces=12)
    capture(session, "queued")
    capture(session, "failed")


@pytest.fixture
def own_queue(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("queue length is read from Redis: CELERY_BROKER_URL=redis://...")
    import redis

    queue = f"rollcall-test-{uuid.uuid4().hex[:8]}"
    undo = route_tasks_to(queue)
    try:
        yield queue
    finally:
        undo()
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_staff_scrape_captures_by_state_stage_durations_faces_and_the_queue(
    client, admin_user, processed, own_queue
):
    tasks.enqueue_capture(Capture.objects.get(state="queued").pk)
    client.force_login(admin_user)

    text = scrape(client)

    assert 'rollcall_captures{state="done"} 2.0' in text
    assert 'rollcall_captures{state="queued"} 1.0' in text
    assert 'rollcall_captures{state="processing"} 0.0' in text
    assert f'rollcall_queue_length{{queue="{own_queue}"}} 1.0' in text
    assert 'rollcall_capture_stage_seconds_bucket{le="0.5",stage="detect"} 1.0' in text
    assert 'rollcall_capture_stage_seconds_bucket{le="+Inf",stage="embed"} 2.0' in text
    assert 'rollcall_capture_stage_seconds_sum{stage="embed"} 3.2' in text
    assert 'rollcall_capture_stage_seconds_count{stage="match"} 2.0' in text
    assert 'rollcall_faces_per_photo_bucket{le="20.0"} 1.0' in text
    assert "rollcall_faces_per_photo_sum 42.0" in text
    assert "django_http_requests_total_by_method_total" in text  # django-prometheus's own


def test_a_scraper_with_the_metrics_token_may_read_them(client, settings):
    settings.ROLLCALL_METRICS_TOKEN = "scrape-me-9f2c"

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-9f2c").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_anonymous_callers_and_teachers_may_not(client, alice, settings):
    settings.ROLLCALL_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 403
    client.force_login(alice)
    assert client.get("/metrics").status_code == 403
