"""Headless Chromium (Debian's ``chromium`` package) driven over the DevTools protocol.

Only what the block tests need: open a page, evaluate JavaScript, wait for a condition, log in to
wp-admin. Chromium is started with its own throw-away profile and a DevTools port on loopback that
it picks itself (``--remote-debugging-port=0``; the port is read from ``DevToolsActivePort``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import stamina
import websocket

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install Debian's chromium: scripts/wordpress.sh install (apt-get install chromium)"


class BrowserError(RuntimeError):
    """Chromium failed to start, a DevTools call failed, or page JavaScript threw."""


class _NotYet(Exception):
    """The condition waited for is not true yet (retried by stamina until the timeout)."""


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, binary: Path = CHROMIUM, timeout: float = 60.0) -> None:
        if not binary.exists():
            raise BrowserError(f"{binary} does not exist: {INSTALL_HINT}")
        self.timeout = timeout
        self._profile = Path(tempfile.mkdtemp(prefix="blocks-chromium-"))
        self._process = subprocess.Popen(
            [
                str(binary),
                "--headless=new",
                "--no-sandbox",  # we run as root; the profile is throw-away and the sites local
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._next_id = 0
        try:
            port = self._devtools_port()
            self._socket = websocket.create_connection(
                self._page_socket_url(port), timeout=timeout, suppress_origin=True
            )
            self.call("Page.enable")
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    # ------------------------------------------------------------------------------ DevTools
    def _devtools_port(self) -> int:
        active = self._profile / "DevToolsActivePort"
        for attempt in stamina.retry_context(
            on=_NotYet, attempts=None, timeout=self.timeout, wait_initial=0.05, wait_max=0.5
        ):
            with attempt:
                if self._process.poll() is not None:
                    raise BrowserError(f"chromium exited with {self._process.returncode}")
                lines = active.read_text().split() if active.exists() else []
                if not lines:
                    raise _NotYet
        return int(lines[0])

    def _page_socket_url(self, port: int) -> str:
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        for target in targets:
            if target.get("type") == "page":
                return str(target["webSocketDebuggerUrl"])
        raise BrowserError(f"chromium shows no page target: {targets!r}")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are dropped)."""
        self._next_id += 1
        sent = self._next_id
        self._socket.send(json.dumps({"id": sent, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") != sent:
                continue
            if "error" in message:
                raise BrowserError(f"{method}: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
            timeout=int(self.timeout * 1000),
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        """Evaluate ``expression`` until it is truthy (page loads and reloads are waited out)."""
        limit = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + limit
        for attempt in stamina.retry_context(
            on=_NotYet, attempts=None, timeout=limit, wait_initial=0.05, wait_max=0.25
        ):
            with attempt:
                try:
                    value = self.evaluate(expression)
                except BrowserError as exc:  # the page navigated while we asked
                    if time.monotonic() > deadline:
                        raise
                    raise _NotYet from exc
                if not value:
                    if time.monotonic() > deadline:
                        raise BrowserError(f"timed out after {limit} s waiting for: {expression}")
                    raise _NotYet
        return value

    def goto(self, url: str) -> None:
        """Open ``url`` and wait until the new document has loaded."""
        # A mark on the old document tells it apart from the new one, which starts without it.
        self.evaluate("window.__blocksLeaving = true")
        self.call("Page.navigate", url=url)
        self.wait_for("!window.__blocksLeaving && document.readyState === 'complete'")

    # ----------------------------------------------------------------------------- WordPress
    def login(self, site_url: str, user: str, password: str) -> None:
        """Log in to wp-admin through its login form (cookies stay in this browser)."""
        self.goto(f"{site_url}/wp-login.php")
        self.wait_for("!!document.getElementById('user_login')")
        self.evaluate(
            "(() => {"
            f"document.getElementById('user_login').value = {json.dumps(user)};"
            f"document.getElementById('user_pass').value = {json.dumps(password)};"
            "document.getElementById('loginform').submit(); })()"
        )
        self.wait_for(
            "document.readyState === 'complete' && (document.body.classList.contains('wp-admin')"
            " || !!document.getElementById('login_error'))"
        )
        if self.evaluate("!!document.getElementById('login_error')"):
            raise BrowserError(f"wp-admin refused the login of {user!r} at {site_url}")

    def open_editor(self, url: str) -> None:
        """Open a block-editor page (post-new.php, post.php?action=edit) and wait until ready."""
        self.goto(url)
        self.wait_for(
            "!!(window.wp && wp.blocks && wp.data && wp.blocks.getBlockType('core/paragraph')"
            " && wp.data.select('core/editor') && wp.data.select('core/editor').getCurrentPostId()"
            " && document.querySelector('.block-editor-block-list__layout'))",
            timeout=max(self.timeout, 120.0),
        )
