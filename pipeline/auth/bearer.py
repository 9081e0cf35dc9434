"""httpx authentication by a renewed OAuth 2.0 bearer token (:class:`BearerSource`).

Apart from :mod:`pipeline.auth.tokens` so that reading saved logins (which ``pipeline check``
does, to know what to mask) does not import httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from pipeline.auth.tokens import BearerSource


class BearerAuth(httpx.Auth):
    """httpx authentication from a ``BearerSource``: renews before expiry and after one 401."""

    def __init__(self, tokens: BearerSource, clock: Callable[[], datetime]) -> None:
        self._tokens = tokens
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.access_token(self._clock())
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            token = self._tokens.after_unauthorized(token, self._clock())
            request.headers["Authorization"] = f"Bearer {token.reveal()}"
            yield request

    def __repr__(self) -> str:
        return "BearerAuth(********)"
