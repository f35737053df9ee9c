"""Liveness and readiness for load balancers and compose health checks.

``/healthz`` answers 200 while the process can answer at all. ``/readyz`` answers 200 when the
database, the broker and the file storage can be reached, else 503 naming what is down. Both are
answered by a middleware placed first, before the host check and the HTTPS redirect: a load
balancer probes a backend by its address, over plain HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def database_reachable() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def broker_reachable() -> None:
    from config.celery_app import app

    # One try, within ROLLCALL_BROKER_CONNECT_TIMEOUT: a probe must not wait out a retry loop.
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=settings.ROLLCALL_BROKER_CONNECT_TIMEOUT)


def storage_reachable() -> None:
    storage = storages["private"]
    if hasattr(storage, "bucket_name"):  # S3: the bucket exists and these credentials reach it
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        return
    os.makedirs(storage.location, exist_ok=True)
    if not os.access(storage.location, os.W_OK):
        raise PermissionError(f"{storage.location} is not writable")


CHECKS: dict[str, Callable[[], None]] = {
    "database": database_reachable,
    "broker": broker_reachable,
    "storage": storage_reachable,
}


def readiness() -> dict[str, str]:
    """{"database": "ok", "broker": "down: <why>", ...} for every dependency."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means "not ready", with its reason
            results[name] = f"down: {type(error).__name__}: {error}"[:300]
    return results


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            checks = readiness()
            down = [name for name, result in checks.items() if result != "ok"]
            body = {"status": "down" if down else "ok", "down": down, "checks": checks}
            return JsonResponse(body, status=503 if down else 200)
        return self.get_response(request)
