"""The OAuth 2.0 side of the fake X: authorize, token and revoke endpoints.

Routes: ``GET /i/oauth2/authorize``, ``POST /2/oauth2/token``, ``POST /2/oauth2/revoke``.

It checks what X checks (https://docs.x.com/fundamentals/authentication/oauth-2-0/, 2026):

- authorize: a known client_id, a registered redirect_uri (exact match), known scopes, a state,
  a PKCE code_challenge (S256 or plain). The fake consents for the user (``consent = False``
  denies) and redirects with ``code`` and ``state``; the code is good for 30 seconds, once.
- token: ``application/x-www-form-urlencoded``; a confidential client (one with a secret) must
  send HTTP Basic, else ``401 unauthorized_client: Missing valid authorization header``; a
  public client sends its client_id in the form. The code must match the client, the
  redirect_uri and the verifier. Access tokens live 7200 s; a refresh token comes only with
  ``offline.access`` and is single-use: refreshing returns a new pair, and sending a spent
  refresh token again revokes the whole login (the token family), as X does.
- revoke: a token and the client's credentials; revoking a refresh token ends the login.

Errors have X's shape: ``{"error": "invalid_request", "error_description": "Value passed for the
token was invalid."}``. Times come from the fake's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

SCOPES = {
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.email",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "media.write",
}
ACCESS_LIFETIME = 7200  # "only stay valid for two hours"
CODE_LIFETIME = 30  # "a time limit of 30 seconds"
MAX_STATE = 500

JSONDict = dict[str, Any]
# (status, body, headers) -- the fake X wraps these in its own Answer
Reply = tuple[int, JSONDict | None, dict[str, str]]


def oauth_error(error: str, description: str) -> JSONDict:
    return {"error": error, "error_description": description}


MISSING_AUTH = oauth_error("unauthorized_client", "Missing valid authorization header")
BAD_CODE = oauth_error("invalid_request", "Value passed for the authorization code was invalid.")
BAD_TOKEN = oauth_error("invalid_request", "Value passed for the token was invalid.")


def missing(name: str) -> JSONDict:
    return oauth_error("invalid_request", f"Missing required parameter [{name}].")


@dataclass
class Login:
    """One consent: every token refreshed from it belongs to it (the token family)."""

    id: int
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Code:
    login: Login
    redirect_uri: str
    challenge: str
    method: str
    expires_at: float
    used: bool = False


@dataclass
class _Access:
    login: Login
    expires_at: float
    revoked: bool = False


@dataclass
class _Refresh:
    login: Login
    spent: bool = False


@dataclass
class FakeOAuth:
    """X's OAuth 2.0 server for one app, with the user's consent given automatically."""

    clock: Callable[[], float]
    client_id: str = "fakeClientId-M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ"
    client_secret: str | None = "fakeClientSecret-Rm9LeDN4NThKQThTbTlKSXQyZm1BanEzcTVHWC1icVoz"
    redirect_uris: set[str] = field(default_factory=set)
    consent: bool = True
    access_lifetime: int = ACCESS_LIFETIME
    logins: list[Login] = field(default_factory=list)
    token_requests: list[JSONDict] = field(default_factory=list)  # grant and outcome, no secrets
    _codes: dict[str, _Code] = field(default_factory=dict)
    _access: dict[str, _Access] = field(default_factory=dict)
    _refresh: dict[str, _Refresh] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- for tests --

    def register_redirect(self, uri: str) -> None:
        """A callback URL the app's settings list in the Developer Console."""
        self.redirect_uris.add(uri)

    def revoke_everything(self) -> None:
        """The user removed the app at x.com/settings/connected_apps."""
        for login in self.logins:
            login.revoked = True

    def scopes_of(self, token: str) -> tuple[str, ...] | None:
        """The scopes of a live access token; None when unknown, expired or revoked."""
        access = self._access.get(token)
        if access is None or access.revoked or access.login.revoked:
            return None
        if self.clock() >= access.expires_at:
            return None
        return access.login.scopes

    def live_refresh_tokens(self) -> int:
        return sum(1 for r in self._refresh.values() if not r.spent and not r.login.revoked)

    # -- GET /i/oauth2/authorize --

    def authorize(self, target: str) -> Reply:
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        problem = self._authorize_problem(query)
        if problem is not None:
            # Never redirect to an address the app did not register: X shows an error page.
            return 400, oauth_error("invalid_request", problem), {}
        redirect = query["redirect_uri"]
        if not self.consent:
            params = {"error": "access_denied", "state": query["state"]}
            return 302, None, {"Location": _with_query(redirect, params)}
        login = Login(next(self._ids), self.client_id, tuple(query["scope"].split()))
        self.logins.append(login)
        code = secrets.token_urlsafe(48)
        self._codes[code] = _Code(
            login,
            redirect,
            query["code_challenge"],
            query.get("code_challenge_method", "plain"),
            self.clock() + CODE_LIFETIME,
        )
        params = {"state": query["state"], "code": code}
        return 302, None, {"Location": _with_query(redirect, params)}

    def _authorize_problem(self, query: dict[str, str]) -> str | None:
        if query.get("response_type") != "code":
            return "response_type must be code"
        if not _same(query.get("client_id", ""), self.client_id):
            return "unknown client_id"
        if query.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri does not match a callback URL of the app"
        scopes = query.get("scope", "").split()
        if not scopes or not set(scopes) <= SCOPES:
            return "scope must be a space-separated list of known scopes"
        if not query.get("state") or len(query["state"]) > MAX_STATE:
            return "state is required (at most 500 characters)"
        if not query.get("code_challenge"):
            return "code_challenge is required"
        if query.get("code_challenge_method", "plain") not in ("S256", "plain"):
            return "code_challenge_method must be S256 or plain"
        return None

    # -- POST /2/oauth2/token --

    def token(self, content_type: str, authorization: str, body: bytes) -> Reply:
        form = _form(content_type, body)
        grant = form.get("grant_type", "")
        status, answer = self._token(form, authorization)
        self.token_requests.append({"grant_type": grant, "status": status})
        return status, answer, {"Cache-Control": "no-store"}

    def _token(self, form: dict[str, str], authorization: str) -> tuple[int, JSONDict]:
        refused = self._client_problem(form, authorization)
        if refused is not None:
            return refused
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if not grant:
            return 400, missing("grant_type")
        return 400, oauth_error("unsupported_grant_type", f"grant_type {grant} is not supported")

    def _client_problem(
        self, form: dict[str, str], authorization: str
    ) -> tuple[int, JSONDict] | None:
        """Confidential clients authenticate with Basic; public ones name themselves."""
        if self.client_secret is not None:
            if not _basic_matches(authorization, self.client_id, self.client_secret):
                return 401, MISSING_AUTH
            return None
        if not form.get("client_id"):
            return 400, missing("client_id")
        if not _same(form["client_id"], self.client_id):
            return 401, oauth_error("unauthorized_client", "Unknown client_id")
        return None

    def _exchange(self, form: dict[str, str]) -> tuple[int, JSONDict]:
        for name in ("code", "redirect_uri", "code_verifier"):
            if not form.get(name):
                return 400, missing(name)
        code = self._codes.get(form["code"])
        if code is None or code.used or self.clock() >= code.expires_at:
            return 400, BAD_CODE
        code.used = True  # one exchange per code, whatever its outcome
        if form["redirect_uri"] != code.redirect_uri:
            return 400, BAD_CODE
        if not _verifier_matches(form["code_verifier"], code.challenge, code.method):
            return 400, BAD_CODE
        return 200, self._issue(code.login)

    def _refresh_grant(self, form: dict[str, str]) -> tuple[int, JSONDict]:
        token = form.get("refresh_token")
        if not token:
            return 400, missing("refresh_token")
        refresh = self._refresh.get(token)
        if refresh is None or refresh.login.revoked:
            return 400, BAD_TOKEN
        if refresh.spent:
            refresh.login.revoked = True  # a replayed refresh token ends the whole login
            return 400, BAD_TOKEN
        refresh.spent = True
        return 200, self._issue(refresh.login)

    def _issue(self, login: Login) -> JSONDict:
        access = secrets.token_urlsafe(48)
        self._access[access] = _Access(login, self.clock() + self.access_lifetime)
        answer: JSONDict = {
            "token_type": "bearer",
            "expires_in": self.access_lifetime,
            "access_token": access,
            "scope": " ".join(login.scopes),
        }
        if "offline.access" in login.scopes:
            refresh = secrets.token_urlsafe(48)
            self._refresh[refresh] = _Refresh(login)
            answer["refresh_token"] = refresh
        return answer

    # -- POST /2/oauth2/revoke --

    def revoke(self, content_type: str, authorization: str, body: bytes) -> Reply:
        form = _form(content_type, body)
        refused = self._client_problem(form, authorization)
        if refused is not None:
            return refused[0], refused[1], {}
        token = form.get("token", "")
        if token in self._refresh:
            self._refresh[token].login.revoked = True
        elif token in self._access:
            self._access[token].revoked = True
        return 200, {"revoked": True}, {}


def _form(content_type: str, body: bytes) -> dict[str, str]:
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    pairs = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in pairs.items()}


def _basic_matches(header: str, client_id: str, client_secret: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        pair = base64.b64decode(header.removeprefix("Basic ").strip(), validate=True).decode()
    except ValueError:
        return False
    given_id, _, given_secret = pair.partition(":")
    return _same(unquote(given_id), client_id) and _same(unquote(given_secret), client_secret)


def _verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    # No length check: X's own example exchanges the 9-character verifier "challenge".
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return _same(verifier, challenge)


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
