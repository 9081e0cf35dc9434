"""A seeded fault-injecting HTTP proxy on loopback, for the fault drill (tests/drill_faults.py).

It stands in front of one upstream (the real local WordPress, or the fake X) and passes requests
through, except that with probability ``rate`` a request of the upstream's API meets a fault,
chosen with a seeded random generator:

- ``500`` / ``502`` / ``503``: answered by the proxy; the upstream never saw the request;
- ``429``: too many requests, with ``Retry-After`` (WordPress) or ``x-rate-limit-reset`` (X);
- ``reset``: the connection is reset (RST) before the request is passed on;
- ``delay``: passed on and executed, answered only after ``delay`` seconds (past the client's
  timeout: it has given up);
- ``drop``: passed on and executed, then the connection is closed without an answer;
- ``500-after``: passed on and executed, then answered 500 (a plugin dying after the save).

Every fault is recorded (:class:`Injected`): when, which request, what kind, and whether the
upstream executed it. The seed fixes the sequence of decisions; which request meets which depends
on the order requests arrive in.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.loopback import Loopback

KINDS = ("500", "502", "503", "429", "reset", "delay", "drop", "500-after")
EXECUTED = frozenset({"delay", "drop", "500-after"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
        "date",  # the proxy's own, from send_response (the same clock: this machine's)
        "server",
    }
)
GATEWAY_PAGE = "<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body>"


@dataclass(frozen=True)
class Injected:
    at: float  # time.time() when the fault was applied
    method: str
    path: str  # path and query
    kind: str
    executed: bool  # the upstream did the work

    @property
    def route(self) -> str:
        """The API route the clients name in their messages (``/wp-json/wp/v2/posts``)."""
        return urlsplit(self.path).path


@dataclass
class FaultProxy(Loopback):
    upstream: str  # http://127.0.0.1:PORT
    flavour: str  # "wordpress" | "x": the shape of the faults' answers
    seed: int = 0
    rate: float = 0.05
    kinds: Sequence[str] = KINDS
    delay: float = 3.0
    injected: list[Injected] = field(default_factory=list)
    requests: int = 0

    thread_name = "faultproxy"

    def __post_init__(self) -> None:
        Loopback.__init__(self)  # a dataclass's __init__ calls no base's
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.enabled = threading.Event()
        self.enabled.set()
        parts = urlsplit(self.upstream)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)

    def make_server(self) -> _Server:
        return _Server(("127.0.0.1", 0), self)

    # -- deciding --

    def choose(self, path: str) -> str | None:
        """The fault for this request, if any (and counts it)."""
        with self._lock:
            self.requests += 1
            if not self.enabled.is_set() or not self._api(path):
                return None
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(list(self.kinds))

    def record(self, method: str, path: str, kind: str) -> None:
        with self._lock:
            self.injected.append(Injected(time.time(), method, path, kind, kind in EXECUTED))

    def _api(self, path: str) -> bool:
        if self.flavour == "wordpress":
            return "/wp-json/" in path or "rest_route=" in path
        return path.startswith("/2/")

    # -- answers --

    def fault_answer(self, status: int) -> tuple[int, dict[str, str], bytes]:
        reason = http.client.responses.get(status, "Error")
        if self.flavour == "x":
            headers = {"Content-Type": "application/problem+json"}
            if status == 429:
                reset = int(time.time()) + 2
                headers |= {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
            body = {"title": reason, "detail": reason, "type": "about:blank", "status": status}
            return status, headers, json.dumps(body).encode()
        if status == 429:
            body = {"code": "rest_too_many_requests", "message": "Slow down.", "data": {}}
            return status, {"Retry-After": "1", "Content-Type": "application/json"}, _json(body)
        if status == 500:
            body = {"code": "internal_server_error", "message": "A critical error.", "data": {}}
            return status, {"Content-Type": "application/json"}, _json(body)
        page = GATEWAY_PAGE.format(status=status, reason=reason).encode()
        return status, {"Content-Type": "text/html"}, page

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        host, port = self._target
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            sent["Host"] = f"{host}:{port}"
            sent["Content-Length"] = str(len(body))
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            return answer.status, kept, content
        finally:
            connection.close()


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | OSError):
            return  # a client that gave up (a timeout fault) is the point, not a failure
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the faults are in ``FaultProxy.injected``."""

    def _serve(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        kind = proxy.choose(self.path)
        if kind is not None and kind not in EXECUTED:
            proxy.record(self.command, self.path, kind)
            if kind == "reset":
                self._reset()
                return
            self._answer(*proxy.fault_answer(int(kind)))
            return
        try:
            answer = proxy.forward(self.command, self.path, headers, body)
        except OSError:
            self._answer(*proxy.fault_answer(502))  # the upstream is down: a real gateway error
            return
        if kind is None:
            self._answer(*answer)
            return
        proxy.record(self.command, self.path, kind)
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "delay":
            time.sleep(proxy.delay)
            self._answer(*answer)
        else:  # 500-after
            self._answer(*proxy.fault_answer(500))

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
