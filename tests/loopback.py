"""The lifecycle every loopback fake shares: an HTTP server on 127.0.0.1, served in a thread,
started and stopped (or used as a context manager)."""

from __future__ import annotations

import functools
import threading
from http.server import HTTPServer
from types import TracebackType
from typing import Self


class Loopback:
    """Subclasses say how their server is made (``make_server``) and what else stopping ends."""

    thread_name = "loopback"
    # A short poll keeps stop() quick: shutdown() waits for the next poll.
    poll_interval = 0.02

    def __init__(self, *, port: int = 0) -> None:
        self.port = port
        self._stopping = threading.Event()  # releases answers held back (delay faults)
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def make_server(self) -> HTTPServer:
        raise NotImplementedError

    def stopped(self) -> None:
        """What else a stop ends (a client the fake holds)."""

    def start(self) -> Self:
        self._stopping.clear()
        self._server = self.make_server()
        self.port = int(self._server.server_address[1])
        serve = functools.partial(self._server.serve_forever, poll_interval=self.poll_interval)
        self._thread = threading.Thread(target=serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        self.stopped()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started: no port yet")
        return f"http://127.0.0.1:{self.port}"
