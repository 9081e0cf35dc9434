"""A fake public-api.wordpress.com on loopback: its OAuth 2 endpoints and the ``wp/v2`` site route.

What it checks, after https://developer.wordpress.com/docs/oauth2/ (2026):

- ``GET /oauth2/authorize``: the app's client_id, its registered redirect_uri (exact), response
  type ``code``; ``blog`` (a site's address or id) preselects the blog. The fake consents for the
  user and redirects with ``code`` (and ``state``, passed through). A PKCE challenge, when sent,
  is held to its verifier (the /oauth2-1/ server supports S256).
- ``POST /oauth2/token``: client_id and client_secret in the form (or HTTP Basic), the same
  redirect_uri, a code used once within ten minutes. The answer is WordPress.com's:
  ``{"access_token", "token_type": "bearer", "blog_id", "blog_url", "scope": ""}``; a code-flow
  token is for that one blog and does not expire. With ``token_lifetime`` set the fake behaves
  like the newer /oauth2-1/ server instead: ``expires_in`` and a rotating ``refresh_token``.
- ``/wp/v2/sites/<site>/...`` and ``/wpcom/v2/sites/<site>/...``: a bearer token for that blog
  (the site named by domain or blog id),
  else 401 ``invalid_token`` / 403. The request is then sent on to a real WordPress (the local one
  from scripts/wordpress.sh) with its application password, so the pipeline's WordPress client
  talks "WordPress.com" to a real site.

Tokens contain characters such as ``%``, ``&``, ``(`` and ``^``, as WordPress.com's do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx

from tests.fakex import Answer, Incoming, _Server
from tests.loopback import Loopback
from tests.wp_local import LocalWordPress

CLIENT_SECRET = "fakeWpcomSecret-Lda6YrxyW2O49NsHiPpL2a44z7uTJn3TEp0NafyL8"
CODE_LIFETIME = 600
TOKEN_ALPHABET = string.ascii_letters + string.digits + "()%&^@#!*"
# Request headers not passed on to the real site (hop-by-hop, or ours to set).
DROPPED = {"host", "authorization", "connection", "content-length", "accept-encoding", "cookie"}
PASSED_BACK = {"content-type", "x-wp-total", "x-wp-totalpages", "allow", "location"}

JSONDict = dict[str, Any]
# The site routes: WordPress's own, and WordPress.com's (Jetpack Social's connections live there).
NAMESPACES = ("wp/v2", "wpcom/v2")


def oauth_error(error: str, description: str) -> JSONDict:
    return {"error": error, "error_description": description}


INVALID_TOKEN = {"error": "invalid_token", "message": "The OAuth2 token is invalid."}
WRONG_BLOG = {"error": "unauthorized", "message": "The OAuth2 token is not valid for this site."}


@dataclass
class _Code:
    redirect_uri: str
    challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class _Token:
    expires_at: float | None
    revoked: bool = False


class FakeWordPressCom(Loopback):
    """See the module docstring. ``upstream`` is the real WordPress behind the wp/v2 route."""

    thread_name = "fakewpcom"

    def __init__(
        self,
        upstream: LocalWordPress | None = None,
        *,
        site: str = "blog.example.com",
        blog_id: str = "123456789",
        client_id: str = "81234",
        client_secret: str = CLIENT_SECRET,
        token_lifetime: int | None = None,
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.site = site
        self.blog_id = blog_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.redirect_uris: set[str] = set()
        super().__init__(port=port)
        self.clock: Callable[[], float] = lambda: 0.0
        self.requests: list[JSONDict] = []
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, bool] = {}  # refresh token -> spent
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=30.0)

    def make_server(self) -> _Server:
        return _Server(("127.0.0.1", self.port), self)  # type: ignore[arg-type]

    def stopped(self) -> None:
        self._http.close()

    @property
    def api_root(self) -> str:
        """What the pipeline's ``[wordpress] api_root`` is for this site."""
        return f"{self.url}/wp/v2/sites/{self.site}"

    def register_redirect(self, uri: str) -> None:
        self.redirect_uris.add(uri)

    def revoke_all(self) -> None:
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    # -- serving --

    def respond(self, incoming: Incoming) -> Answer:
        with self._lock:
            answer = self._route(incoming)
        self.requests.append(
            {"method": incoming.method, "path": incoming.path, "status": answer.status}
        )
        return answer

    def _route(self, incoming: Incoming) -> Answer:
        path = incoming.path
        if incoming.method == "GET" and path == "/oauth2/authorize":
            return self._authorize(incoming.target)
        if incoming.method == "POST" and path == "/oauth2/token":
            return self._token(incoming)
        for namespace in NAMESPACES:
            prefix = f"/{namespace}/sites/"
            if path.startswith(prefix):
                site, _, rest = path.removeprefix(prefix).partition("/")
                return self._site(incoming, site, f"/{namespace}/{rest}")
        return Answer(404, {"error": "unknown_endpoint", "message": f"No route for {path}"})

    # -- OAuth 2 --

    def _authorize(self, target: str) -> Answer:
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        if not _same(query.get("client_id", ""), self.client_id):
            return Answer(400, oauth_error("invalid_client", "Unknown client_id."))
        if query.get("redirect_uri") not in self.redirect_uris:
            return Answer(400, oauth_error("invalid_request", "Invalid redirect_uri."))
        if query.get("response_type") != "code":
            return Answer(400, oauth_error("unsupported_response_type", "Use response_type=code."))
        blog = query.get("blog")
        if blog is not None and not self._is_our_site(blog):
            return Answer(400, oauth_error("invalid_request", "You cannot manage that blog."))
        method = query.get("code_challenge_method", "plain")
        if "code_challenge" in query and method != "S256":
            return Answer(400, oauth_error("invalid_request", "code_challenge_method: S256."))
        code = secrets.token_urlsafe(8)
        self._codes[code] = _Code(
            query["redirect_uri"], query.get("code_challenge"), self.clock() + CODE_LIFETIME
        )
        params = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        joiner = "&" if "?" in query["redirect_uri"] else "?"
        return Answer(302, None, {"Location": query["redirect_uri"] + joiner + urlencode(params)})

    def _token(self, incoming: Incoming) -> Answer:
        form = _form(incoming)
        client_id, client_secret = _client(form, incoming.header("Authorization"))
        if not _same(client_id, self.client_id) or not _same(client_secret, self.client_secret):
            return Answer(401, oauth_error("invalid_client", "Invalid client credentials."))
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token" and self.token_lifetime is not None:
            return self._refresh_grant(form)
        return Answer(400, oauth_error("unsupported_grant_type", f"Unknown grant_type {grant}."))

    def _exchange(self, form: dict[str, str]) -> Answer:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or self.clock() >= code.expires_at:
            return Answer(400, oauth_error("invalid_grant", "Invalid authorization code."))
        code.used = True
        if form.get("redirect_uri") != code.redirect_uri:
            return Answer(400, oauth_error("invalid_grant", "redirect_uri does not match."))
        if code.challenge is not None and _s256(form.get("code_verifier", "")) != code.challenge:
            return Answer(400, oauth_error("invalid_grant", "Invalid code_verifier."))
        return Answer(200, self._issue())

    def _refresh_grant(self, form: dict[str, str]) -> Answer:
        token = form.get("refresh_token", "")
        if self._refresh.get(token, True):  # unknown or spent
            return Answer(400, oauth_error("invalid_grant", "Invalid refresh token."))
        self._refresh[token] = True
        return Answer(200, self._issue())

    def _issue(self) -> JSONDict:
        access = _token_value(64)
        expires_at = None if self.token_lifetime is None else self.clock() + self.token_lifetime
        self._tokens[access] = _Token(expires_at)
        answer: JSONDict = {
            "access_token": access,
            "token_type": "bearer",
            "blog_id": self.blog_id,
            "blog_url": f"https://{self.site}",
            "scope": "",
        }
        if self.token_lifetime is not None:
            refresh = _token_value(64)
            self._refresh[refresh] = False
            answer |= {"expires_in": self.token_lifetime, "refresh_token": refresh}
        return answer

    # -- the site --

    def _site(self, incoming: Incoming, site: str, route: str) -> Answer:
        token = incoming.header("Authorization").removeprefix("Bearer ").strip()
        held = self._tokens.get(token)
        expired = (
            held is not None and held.expires_at is not None and self.clock() >= held.expires_at
        )
        if held is None or held.revoked or expired:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return Answer(401, INVALID_TOKEN, headers)
        if not self._is_our_site(site):
            return Answer(403, WRONG_BLOG)
        if self.upstream is None:
            return Answer(502, {"error": "no_upstream", "message": "no WordPress behind the fake"})
        return self._forward(incoming, route)

    def _forward(self, incoming: Incoming, route: str) -> Answer:
        assert self.upstream is not None
        query = parse_qs(urlsplit(incoming.target).query, keep_blank_values=True)
        params = [("rest_route", route.rstrip("/"))]
        params += [(k, v) for k, values in query.items() for v in values]
        headers = {k: v for k, v in incoming.headers.items() if k.lower() not in DROPPED}
        response = self._http.request(
            incoming.method,
            f"{self.upstream.url}/",
            params=params,
            content=incoming.body,
            headers=headers,
            auth=self.upstream.auth,
        )
        back = {k: v for k, v in response.headers.items() if k.lower() in PASSED_BACK}
        back.pop("content-type", None)  # the fake writes its own JSON
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = {"code": "not_json", "message": response.text[:200]}
        return Answer(response.status_code, body, back)

    def _is_our_site(self, site: str) -> bool:
        host = urlsplit(site).hostname if "//" in site else unquote(site).strip("/")
        return host in (self.site, self.blog_id)


def _form(incoming: Incoming) -> dict[str, str]:
    if not incoming.header("Content-Type").startswith("application/x-www-form-urlencoded"):
        return {}
    pairs = parse_qs(incoming.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in pairs.items()}


def _client(form: dict[str, str], authorization: str) -> tuple[str, str]:
    """client_secret_post, or client_secret_basic (the /oauth2-1/ server takes both)."""
    if authorization.startswith("Basic "):
        try:
            pair = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:
            return "", ""
        given_id, _, given_secret = pair.partition(":")
        return unquote(given_id), unquote(given_secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _token_value(length: int) -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
