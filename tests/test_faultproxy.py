"""The fault drill's proxy does what it says: each kind of fault, executed upstream or not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.faultproxy import FaultProxy


class Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.hits = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.hits += 1
        body = b'{"id": 1}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def send(proxy: FaultProxy, timeout: float = 2.0) -> httpx.Response:
    return httpx.post(f"{proxy.url}/wp-json/wp/v2/posts", json={"a": 1}, timeout=timeout)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_status_faults_never_reach_the_upstream(upstream: Upstream, status: int) -> None:
    with FaultProxy(upstream.url, "wordpress", rate=1.0, kinds=[str(status)]) as proxy:
        answer = send(proxy)
    assert answer.status_code == status
    assert upstream.hits == 0
    if status == 429:
        assert answer.headers["Retry-After"] == "1"
    assert [(f.kind, f.executed) for f in proxy.injected] == [(str(status), False)]


def test_a_reset_is_not_executed(upstream: Upstream) -> None:
    proxy = FaultProxy(upstream.url, "wordpress", rate=1.0, kinds=["reset"])
    with proxy, pytest.raises(httpx.TransportError):
        send(proxy)
    assert upstream.hits == 0


@pytest.mark.parametrize("kind", ["drop", "delay", "500-after"])
def test_executed_faults_reach_the_upstream(upstream: Upstream, kind: str) -> None:
    with FaultProxy(upstream.url, "wordpress", rate=1.0, kinds=[kind], delay=1.5) as proxy:
        if kind == "500-after":
            assert send(proxy).status_code == 500
        else:
            with pytest.raises(httpx.TransportError):
                send(proxy, timeout=0.5)
    assert upstream.hits == 1
    assert proxy.injected[0].executed


def test_without_a_fault_requests_pass(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, "wordpress", rate=0.0) as proxy:
        assert send(proxy).status_code == 201
    assert proxy.injected == []
    assert upstream.hits == 1
    assert proxy.requests == 1


def test_the_seed_fixes_the_sequence(upstream: Upstream) -> None:
    runs = []
    for _ in range(2):
        with FaultProxy(upstream.url, "wordpress", seed=7, rate=0.5, kinds=["503"]) as proxy:
            runs.append([send(proxy).status_code for _ in range(12)])
    assert runs[0] == runs[1]
    assert {201, 503} == set(runs[0])


def test_x_faults_answer_in_x_shapes(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, "x", rate=1.0, kinds=["429"]) as proxy:
        answer = httpx.post(f"{proxy.url}/2/tweets", json={"text": "hi"}, timeout=2)
        assert httpx.get(f"{proxy.url}/_fake/state", timeout=2).status_code == 501  # not API
    assert answer.status_code == 429
    assert int(answer.headers["x-rate-limit-reset"]) > 0
    assert answer.json()["title"] == "Too Many Requests"
    assert len(proxy.injected) == 1


def test_the_drill_accounts_for_each_fault_once() -> None:
    """The fault drill's bookkeeping: every fault needs its own entry telling of it; a fault right
    before a kill may lack one; any other fault without one is a problem."""
    from pipeline.core.records import LogEntry
    from tests.drill_faults import SHORT, Report, account
    from tests.faultproxy import Injected

    t = 1_796_000_000.0
    path = "/wp-json/wp/v2/posts"

    def entry(n: int, at: float, details: str) -> LogEntry:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        return LogEntry(n, when, "p", "publish", "retried", details, None)

    faults = [
        Injected(t, "GET", path, "502", False),
        Injected(t + 1, "GET", f"{path}/7", "502", False),
        Injected(t + 60, "POST", path, "503", False),  # killed at once: excused
        Injected(t + 120, "POST", path, "reset", False),  # nothing tells of it
    ]
    entries = [
        entry(1, t + 1, f"GET {path}/7: WordPress answered HTTP 502; retrying"),
        entry(2, t + 1, f"GET {path}: WordPress answered HTTP 502; retrying"),
    ]
    report = Report(SHORT, faults=faults)
    account(report, entries, kills=[t + 60.5], x_faults=set())
    assert report.logged == 2
    assert report.excused == [faults[2]]
    assert report.unlogged == [faults[3]]
    assert len(report.problems) == 1
