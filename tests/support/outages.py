"""Outages made on purpose: a broker or a cache on a port where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dead_redis_url(db: int = 0) -> str:
    """A redis:// URL on a port nothing listens on (connections are refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/{db}"


@contextmanager
def producer_on(url: str, *, results_too: bool = False) -> Iterator[None]:
    """Send this process's tasks to another broker for a while (and, with ``results_too``, use
    it as the result store as well, as production does: one Redis for both)."""
    from celery.backends.redis import RedisBackend

    from config.celery_app import app

    def switch(to: str, results: str | None) -> None:
        # The write URL is what producers use; the cached pools hold connections to the old one.
        app.conf.broker_write_url = to
        app._pool = None
        app.amqp._producer_pool = None
        # The result store is built once and cached on the app: swap the built one.
        app._backend_cache = RedisBackend(app=app, url=results) if results else None
        app._local.backend = None

    previous = app.conf.broker_write_url
    switch(url, url if results_too else None)
    try:
        yield
    finally:
        switch(previous, None)
