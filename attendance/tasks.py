"""Celery tasks: thin wrappers that take ids and call a service. Every task is safe to run twice.

Enqueue through ``enqueue_*`` (after the transaction commits): they report a broker that cannot
be reached instead of failing the upload, and the periodic ``sweep`` sends what was missed.
"""

from __future__ import annotations

import logging
import os
import time

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseDown
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# A task that finds the database unreachable (stopped, restarting) is tried again, after 2, 4, 8
# and then every 10 s, for as long as it takes: its row was not changed (every write is one
# transaction), and the capture, photo or job must not be lost or marked failed for an outage.
RETRY_WHILE_THE_DATABASE_IS_DOWN = {
    "autoretry_for": (DatabaseDown, DatabaseInterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 10,
    "retry_jitter": False,
    "max_retries": None,
}


@shared_task(name="attendance.process_capture", **RETRY_WHILE_THE_DATABASE_IS_DOWN)
def process_capture(capture_id: int, force: bool = False) -> str:
    from attendance.services.captures import capture_process

    capture = capture_process(capture_id=capture_id, force=force)
    return capture.state if capture is not None else "gone"


@shared_task(name="attendance.embed_reference_photo", **RETRY_WHILE_THE_DATABASE_IS_DOWN)
def embed_reference_photo(photo_id: int, from_image: bool = False) -> str:
    from attendance.services.photos import reference_photo_process

    photo = reference_photo_process(photo_id=photo_id, from_image=from_image)
    return photo.status if photo is not None else "gone"


@shared_task(name="attendance.deliver_webhook", **RETRY_WHILE_THE_DATABASE_IS_DOWN)
def deliver_webhook(delivery_id: int) -> str:
    from attendance.services.webhooks import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="attendance.run_job", **RETRY_WHILE_THE_DATABASE_IS_DOWN)
def run_job(job_id: int) -> str:
    from attendance.services.jobs import job_run

    job = job_run(job_id=job_id)
    return job.state if job is not None else "gone"


def lease(name: str, seconds: float) -> bool:
    """True for one caller per ``seconds`` among every process on this broker and queue.

    Beat runs as exactly one service, but two schedulers can still meet (a second beat started
    by mistake, a rolling deploy, a worker's start-up sweep next to beat's): the scheduled tasks
    take a lease, a Redis key set only if absent (SET NX PX), so the second caller in a period
    does nothing. The lease lasts 80% of the period, so the next period's run is never refused.
    Without Redis (kombu's file transport on one laptop) there is one scheduler and no lease.
    """
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return True
    import redis

    from config.celery_app import app

    client = redis.Redis.from_url(
        url, socket_connect_timeout=settings.ROLLCALL_BROKER_CONNECT_TIMEOUT
    )
    key = f"rollcall:lease:{app.conf.task_default_queue}:{name}"
    try:
        return bool(client.set(key, "1", nx=True, px=max(1, int(seconds * 800))))
    finally:
        client.close()


# A sweep that waited longer than one period (no pool process was ready: a restarted worker
# loading its models) is dropped: the next one does the same work, and a pile of them would each
# send the same captures.
@shared_task(name="attendance.sweep", expires=settings.ROLLCALL_SWEEP_SECONDS)
def sweep() -> dict[str, int]:
    """Send again what may have been lost: captures saved while the broker was down, captures a
    dead worker left "processing", pending photos, photos of an older model version, and import
    jobs that are waiting or whose worker died. Once per ROLLCALL_SWEEP_SECONDS, however many
    schedulers send it (``lease``)."""
    if not lease("sweep", settings.ROLLCALL_SWEEP_SECONDS):
        logger.info("sweep skipped: another scheduler's sweep ran this period")
        return {"skipped": 1}
    return sweep_now()


def sweep_now() -> dict[str, int]:
    from datetime import timedelta

    from attendance.services.captures import captures_sweep
    from attendance.services.jobs import jobs_sweep
    from attendance.services.photos import reference_photos_reembed
    from attendance.services.webhooks import webhooks_sweep

    after = settings.ROLLCALL_REQUEUE_AFTER_SECONDS
    captures = captures_sweep(
        queued_for=after, processing_for=settings.ROLLCALL_STUCK_AFTER_SECONDS
    )
    photos = reference_photos_reembed(pending_older_than=timedelta(seconds=after))
    jobs = jobs_sweep(queued_for=after, stalled_for=settings.ROLLCALL_JOB_STALLED_AFTER_SECONDS)
    webhooks = webhooks_sweep(late_by=after)
    return {"captures": captures, "photos": photos, "jobs": jobs, "webhooks": webhooks}


# After a failed send, further sends from this process give up at once for a few seconds: an
# upload of eight photos must not wait the connect timeout eight times. The sweep catches up.
BROKER_RETRY_AFTER_SECONDS = 5.0
_broker_down_until = 0.0


@shared_task(name="attendance.retention_purge")
def retention_purge() -> dict[str, int]:
    """Delete class photos and unknown faces' crops and embeddings past the retention period
    (once per ROLLCALL_RETENTION_CHECK_SECONDS, however many schedulers send it), and import
    previews nobody confirmed (they hold rosters and photos too) after a day."""
    from attendance.services.jobs import previews_expire
    from attendance.services.retention import retention_purge as purge

    if not lease("retention", settings.ROLLCALL_RETENTION_CHECK_SECONDS):
        return {"skipped": 1}

    previews_expire()
    return purge().as_dict()


def _send(task, *args, countdown: float | None = None, no_expiry: bool = False, **kwargs) -> bool:
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.info("broker unreachable a moment ago, %s%s left for the sweep", task.name, args)
        return False
    try:
        # The queue is read at send time, so a test can point a run at its own queue. One try
        # (retry=False): a request must not wait out a retry loop while Redis is down; the row
        # stays queued and the sweep sends it.
        task.apply_async(
            args=args,
            kwargs=kwargs,
            queue=task.app.conf.task_default_queue,
            retry=False,
            countdown=countdown or None,
            **({"expires": None} if no_expiry else {}),
        )
    except (OperationalError, OSError) as error:
        logger.warning("broker unreachable, %s%s left for the sweep: %s", task.name, args, error)
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        return False
    return True


def enqueue_capture(capture_id: int, *, force: bool = False) -> bool:
    """Send ``process_capture``; False when the broker cannot be reached (the capture stays
    queued and the next sweep sends it)."""
    return _send(process_capture, capture_id, **({"force": True} if force else {}))


def enqueue_reference_photo(photo_id: int, *, from_image: bool = False) -> bool:
    return _send(embed_reference_photo, photo_id, **({"from_image": True} if from_image else {}))


def enqueue_webhook(delivery_id: int, *, countdown: float | None = None) -> bool:
    """Send ``deliver_webhook`` (after ``countdown`` seconds); a lost message is found by the
    sweep, since the delivery row stays pending."""
    return _send(deliver_webhook, delivery_id, countdown=countdown)


def enqueue_job(job_id: int) -> bool:
    return _send(run_job, job_id)


@worker_ready.connect
def _sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    # A worker that comes back after a crash or a model upgrade picks up what is waiting. Only a
    # message is sent here: the sweep itself runs in a pool process, not in the parent.
    if settings.ROLLCALL_SWEEP_ON_WORKER_START:
        _send(sweep, no_expiry=True)  # kept while the pool processes load the models


@worker_process_init.connect
def _warm_up_face_models(**kwargs) -> None:
    # Each pool process loads the detector and TensorFlow once, before it tells the worker it is
    # ready: until then the worker gives it no task. So a task given back by a killed pool
    # process goes to a warm sibling rather than wait ~20 s (minutes under load) for the cold
    # replacement, and the first class photo of the day does not wait either.
    # CELERY_WORKER_PROC_ALIVE_TIMEOUT gives the loading the time it needs.
    try:
        import scipy.optimize  # noqa: F401  (matching's first call would import it)

        import facerec

        started = time.monotonic()
        facerec.warm_up()
        # benchmarks/capacity.py and the fault tests wait for this line.
        logger.info(
            "face models loaded in %.1f s (process %s)", time.monotonic() - started, os.getpid()
        )
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first task loads instead
        logger.exception("warming up the face models failed; the first task will load them")
