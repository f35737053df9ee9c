"""Prometheus metrics: django-prometheus's request, database and cache metrics, plus RollCall's.

RollCall's own are read from the shared database and broker when Prometheus scrapes, not counted
in process memory: any web process answers for the whole stack (every worker's class photos
included), and a restart or ``--scale`` loses nothing. The worker already stores each capture's
seconds per stage and number of faces (``Capture.timings``); the histograms are built from them.

- ``rollcall_captures{state}``: class photos per state (queued, processing, done, failed).
- ``rollcall_queue_length{queue}``: messages waiting in the Celery queue (Redis broker).
- ``rollcall_capture_stage_seconds{stage}``: seconds per stage (detect, embed, match) of
  processed class photos.
- ``rollcall_faces_per_photo``: faces found per processed class photo.

``/metrics`` is for Prometheus, not the public: signed-in staff, or a scraper sending
``Authorization: Bearer <ROLLCALL_METRICS_TOKEN>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, FloatField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

STAGES = ("detect", "embed", "match")
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FACE_BUCKETS = (0, 1, 5, 10, 20, 30, 40, 60, 100)


def _histogram(queryset, key: str, buckets: tuple[float, ...]) -> tuple[list, float]:
    """Cumulative bucket counts and the sum of ``timings[key]`` over ``queryset``, in one query."""
    value = Cast(KeyTextTransform(key, "timings"), FloatField())
    has_key = Q(**{"timings__has_key": key})
    aggregates = {f"le{i}": Count("pk", filter=has_key & Q(**{f"timings__{key}__lte": b}))
                  for i, b in enumerate(buckets)}  # fmt: skip
    row = queryset.aggregate(
        total=Count("pk", filter=has_key), sum=Sum(value, filter=has_key), **aggregates
    )
    counts = [(str(float(b)), row[f"le{i}"]) for i, b in enumerate(buckets)]
    return [*counts, ("+Inf", row["total"])], float(row["sum"] or 0.0)


def queue_length() -> int | None:
    from config.celery_app import app

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
    try:
        return int(client.llen(app.conf.task_default_queue))
    finally:
        client.close()


class RollCallCollector:
    def describe(self) -> Iterator[Metric]:
        # Names only: without describe() the registry would call collect(), and so query the
        # database, when the app loads.
        yield GaugeMetricFamily("rollcall_captures", "", labels=["state"])
        yield GaugeMetricFamily("rollcall_queue_length", "", labels=["queue"])
        yield HistogramMetricFamily("rollcall_capture_stage_seconds", "", labels=["stage"])
        yield HistogramMetricFamily("rollcall_faces_per_photo", "")

    def collect(self) -> Iterator[Metric]:
        from attendance.models import Capture
        from config.celery_app import app

        by_state = dict(Capture.objects.values_list("state").annotate(n=Count("pk")))
        captures = GaugeMetricFamily(
            "rollcall_captures", "Class photos by processing state.", labels=["state"]
        )
        for state in Capture.State.values:
            captures.add_metric([state], by_state.get(state, 0))
        yield captures

        length = queue_length()
        if length is not None:
            queue = GaugeMetricFamily(
                "rollcall_queue_length", "Tasks waiting in the Celery queue.", labels=["queue"]
            )
            queue.add_metric([app.conf.task_default_queue], length)
            yield queue

        processed = Capture.objects.filter(state=Capture.State.DONE)
        stages = HistogramMetricFamily(
            "rollcall_capture_stage_seconds",
            "Seconds per stage of processing a class photo.",
            labels=["stage"],
        )
        for stage in STAGES:
            buckets, total = _histogram(processed, stage, STAGE_BUCKETS)
            stages.add_metric([stage], buckets, total)
        yield stages

        buckets, total = _histogram(processed, "faces", FACE_BUCKETS)
        faces = HistogramMetricFamily(
            "rollcall_faces_per_photo", "Faces found in one processed class photo."
        )
        faces.add_metric([], buckets, total)
        yield faces


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        from prometheus_client import REGISTRY

        REGISTRY.register(RollCallCollector())
        _registered = True


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.ROLLCALL_METRICS_TOKEN
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and sent and hmac.compare_digest(sent.encode(), token.encode()):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


def metrics_view(request: HttpRequest) -> HttpResponse:
    from django_prometheus.exports import ExportToDjangoView

    if not _may_scrape(request):
        return HttpResponse(
            "Metrics are for staff, or a scraper sending the metrics token.\n",
            status=403,
            content_type="text/plain",
        )
    return ExportToDjangoView(request)
