"""What the loopback fakes of Bluesky and Mastodon share: lifecycle, a clock, faults, rate windows.

The HTTP plumbing (a request in, a JSON answer out, a connection dropped on demand) is
tests.fakex's; a fake here only says how it answers (``serve``) and what it calls its endpoints.

Every fake answers ``GET /_fake/state`` and ``POST /_fake/{fail_next,drop_next,delay_next,
rate_limit,clock}`` (keyword arguments of the methods of the same name as a JSON body), so that a
fake started with ``main`` in another process can be steered from a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs

from tests.fakex import Answer, Incoming, JSONDict, _Fault, _Server
from tests.loopback import Loopback


@dataclass
class Window:
    limit: int
    period: int  # seconds
    remaining: int
    reset: int  # epoch seconds


class LoopbackFake(Loopback):
    """A fake service on 127.0.0.1. Subclasses implement ``endpoint``, ``serve``, ``error``."""

    thread_name = "fake"
    default_endpoint = ""  # the endpoint fault switches aim at unless told otherwise

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.clock: Callable[[], float] = time.time
        self.requests: list[JSONDict] = []
        self.verbose = False
        self._faults: list[_Fault] = []
        self._windows: dict[str, Window] = {}
        self._lock = threading.RLock()

    # -- what a subclass says --

    def endpoint(self, incoming: Incoming) -> str | None:
        """The endpoint's name (e.g. ``POST /api/v1/statuses``), or None when nothing routes."""
        raise NotImplementedError

    def serve(self, incoming: Incoming, endpoint: str | None) -> Answer:
        """The service's own answer: authentication, rate limits, the work itself."""
        raise NotImplementedError

    def error(self, status: int) -> JSONDict:
        """The service's body for a bare error status (an injected fault)."""
        raise NotImplementedError

    def state(self) -> JSONDict:
        raise NotImplementedError

    def make_server(self) -> _Server:
        return _Server(("127.0.0.1", self.port), self)  # type: ignore[arg-type]

    @property
    def now(self) -> float:
        return self.clock()

    @now.setter
    def now(self, value: float | None) -> None:
        """Freeze the fake's clock at ``value`` (epoch seconds), or back to real time on None."""
        self.clock = time.time if value is None else (lambda: float(value))

    # -- fault switches, for tests --

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        executed: bool = False,
        endpoint: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls with ``status`` (after acting, if ``executed``)."""
        with self._lock:
            name = endpoint or self.default_endpoint
            self._faults += [_Fault(name, "fail", executed, status) for _ in range(times)]

    def drop_next(self, *, executed: bool = True, endpoint: str | None = None) -> None:
        """Close the next call's connection unanswered, by default after acting on it."""
        with self._lock:
            self._faults.append(_Fault(endpoint or self.default_endpoint, "drop", executed))

    def delay_next(self, seconds: float, *, endpoint: str | None = None) -> None:
        """Act on the next call, then wait ``seconds`` before answering (for client timeouts)."""
        with self._lock:
            name = endpoint or self.default_endpoint
            self._faults.append(_Fault(name, "delay", True, delay=seconds))

    def rate_limit(
        self,
        *,
        remaining: int,
        reset_at: float,
        limit: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Set an endpoint's window: at ``remaining == 0`` it answers 429 until ``reset_at``."""
        with self._lock:
            name = endpoint or self.default_endpoint
            old = self._windows.get(name)
            period = old.period if old else 300
            self._windows[name] = Window(
                limit or max(remaining, old.limit if old else 300), period, remaining, int(reset_at)
            )

    # -- rate windows --

    def window(self, name: str, limit: int, period: int) -> Window:
        """The current window of ``name`` (a fresh one once the last has reset)."""
        now = int(self.now)
        window = self._windows.get(name)
        if window is None or now >= window.reset:
            limit = window.limit if window else limit
            window = Window(limit, period, limit, now + period)
            self._windows[name] = window
        return window

    def take(self, name: str, limit: int, period: int, points: int = 1) -> Window | None:
        """Spend ``points`` of the window; None when it has not got them (answer 429)."""
        window = self.window(name, limit, period)
        if window.remaining < points:
            return None
        window.remaining -= points
        return window

    # -- serving --

    def respond(self, incoming: Incoming) -> Answer:
        if incoming.path.startswith("/_fake/"):
            return self._control(incoming)
        with self._lock:
            endpoint = self.endpoint(incoming)
            fault = self._take_fault(endpoint)
            if fault is not None and not fault.executed:
                answer = self._fault_answer(fault)
            else:
                answer = self.serve(incoming, endpoint)
                if fault is not None:
                    answer = self._fault_answer(fault, answer)
            self._log(incoming, endpoint, answer)
            return answer

    def _take_fault(self, endpoint: str | None) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.endpoint == endpoint:
                return self._faults.pop(index)
        return None

    def _fault_answer(self, fault: _Fault, done: Answer | None = None) -> Answer:
        if fault.kind == "drop":
            return Answer(0, None, drop=True)
        if fault.kind == "delay" and done is not None:
            done.delay = fault.delay
            return done
        return Answer(fault.status, self.error(fault.status))

    def _log(self, incoming: Incoming, endpoint: str | None, answer: Answer) -> None:
        entry: JSONDict = {
            "method": incoming.method,
            "path": incoming.path,
            "endpoint": endpoint,
            "status": None if answer.drop else answer.status,
            "dropped": answer.drop,
            "headers": dict(incoming.headers),
        }
        self.requests.append(entry)
        if self.verbose:
            print(f"{incoming.method} {incoming.path} -> {entry['status']}", file=sys.stderr)

    def calls(self, endpoint: str) -> list[int | None]:
        """The status of each call to ``endpoint`` the fake saw (None: dropped), in order."""
        return [r["status"] for r in self.requests if r["endpoint"] == endpoint]

    def _control(self, incoming: Incoming) -> Answer:
        """The standalone server's remote control (not part of the service's API)."""
        action = incoming.path.removeprefix("/_fake/")
        if incoming.method == "GET" and action == "state":
            with self._lock:
                return Answer(200, self.state())
        actions: dict[str, Callable[..., None]] = {
            "fail_next": self.fail_next,
            "drop_next": self.drop_next,
            "delay_next": self.delay_next,
            "rate_limit": self.rate_limit,
            "clock": lambda now=None: setattr(self, "now", now),
        }
        if incoming.method != "POST" or action not in actions:
            return Answer(404, {"error": f"no control action {action!r}"})
        try:
            actions[action](**json.loads(incoming.body or b"{}"))
        except (TypeError, ValueError) as exc:
            return Answer(400, {"error": str(exc)})
        return Answer(200, {"ok": True})


def run_standalone(fake: LoopbackFake, argv_port: int) -> int:
    """Serve ``fake`` until SIGTERM or SIGINT, printing its URL first (for other processes)."""
    fake.port = argv_port
    done = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    with fake:
        print(fake.url, flush=True)
        while not done.wait(0.5):
            pass
    return 0


@contextlib.contextmanager
def standalone(module: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``python -m module --port 0`` in another process; yields the URL it printed."""
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"],
        cwd=root,
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def standalone_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    return parser


def form_fields(body: bytes) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body, Rails style (``media_ids[]`` is a list)."""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def as_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None
