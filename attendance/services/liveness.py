"""A sign of life from a worker: while a long task runs, a thread touches its row's
``updated_at`` every few seconds, so the sweep can tell a slow task from a dead worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


@contextmanager
def heartbeat(rows: QuerySet, *, every: float) -> Iterator[None]:
    """Update ``updated_at`` of ``rows`` every ``every`` seconds until the block ends.

    ``rows`` should select only rows still in the state the sweep watches (e.g. processing), so
    a beat after the task finished changes nothing. A failed beat (the database is away) is
    logged and tried again at the next one; the task itself is not disturbed.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    rows.update(updated_at=timezone.now())
                except Exception as error:  # noqa: BLE001 - a missed beat must not kill the task
                    logger.warning("heartbeat of %s failed: %s", rows.model.__name__, error)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name="rollcall-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
