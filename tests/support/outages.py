"""Outages made on purpose: a broker or a cache on a port where nothing listens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


class PostgresServer:
    """A private PostgreSQL cluster: ``initdb`` in a temporary folder, its own port, started and
    stopped by the test with ``pg_ctl``. Never the shared server on 5432."""

    def __init__(self, port: int):
        import tempfile

        self.port = port
        # Under /tmp rather than pytest's tmp_path: the server runs as the postgres user, which
        # cannot enter root's pytest folders.
        self.folder = Path(tempfile.mkdtemp(prefix="rollcall-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"

    @staticmethod
    def binary(name: str) -> str | None:
        found = shutil.which(name)
        if found:
            return found
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        return str(candidates[-1]) if candidates else None

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root; as root, run it as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(self.binary("initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                   "-c fsync=off -c synchronous_commit=off")  # fmt: skip
        self._run(self.binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(self.binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        assert not self.answers()

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def remove(self) -> None:
        if self.answers():
            self._run(self.binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
