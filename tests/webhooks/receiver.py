"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) that records what it is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    headers: Message  # names compared without case, as HTTP does
    body: bytes
    at: float


@dataclass
class Receiver:
    """``answers`` are the status codes of the next requests, in order (200 once they run out);
    ``hold_first`` keeps the first request waiting that many seconds before it answers."""

    server: ThreadingHTTPServer
    answers: list[int] = field(default_factory=list)
    hold_first: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/rollcall"

    def delivery_ids(self) -> list[str]:
        return [r.headers["RollCall-Delivery"] for r in self.requests]

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests, not {count}, in {timeout}s")
            time.sleep(0.1)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                first = not receiver.requests
                receiver.requests.append(Received(self.headers, body, time.time()))
                code = receiver.answers.pop(0) if receiver.answers else 200
            if first and receiver.hold_first:
                time.sleep(receiver.hold_first)
            try:
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender is gone (killed mid-send)

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(server=server)
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
