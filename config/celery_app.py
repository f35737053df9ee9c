"""The Celery app. Tasks are thin (ids in, a service call inside): attendance/tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("rollcall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A worker killed mid-task leaves its message unacknowledged, so another worker finishes it.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One task reserved per pool process: a class photo takes seconds of CPU, so a prefetched
    # second one would wait behind it while another worker sits idle.
    worker_prefetch_multiplier=1,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    # Tests give each run its own queue on a shared Redis (tests/attendance/conftest.py).
    task_default_queue=os.environ.get("ROLLCALL_TASK_QUEUE", "rollcall"),
)
app.autodiscover_tasks()
