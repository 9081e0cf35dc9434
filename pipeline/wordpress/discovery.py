"""Finding a site's REST API (``wp/v2``) from its address, remembering it between commands, and
refusing plain http off this machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import httpx
from msgspec import Struct

from pipeline.config import is_loopback
from pipeline.errors import ConfigError, WordPressError

if TYPE_CHECKING:
    from pipeline.wordpress.transport import Transport

API_INDEX_REL = "https://api.w.org/"
Params = tuple[tuple[str, str | int], ...]


class ApiRoot(Struct, frozen=True):
    """Where the ``wp/v2`` routes live.

    Either a path prefix (``https://blog/wp-json/wp/v2`` + ``/posts``), or, on sites without
    pretty permalinks, a page plus ``?rest_route=/wp/v2/posts``.
    """

    base: str
    route_prefix: str | None = None  # set for the ?rest_route= form

    @classmethod
    def from_setting(cls, api_root: str) -> ApiRoot:
        """``api_root`` from pipeline.toml: the wp/v2 root itself (e.g. WordPress.com's)."""
        url = httpx.URL(api_root)
        route = url.params.get("rest_route")
        if route is not None:
            return cls(str(url.copy_remove_param("rest_route")), route.rstrip("/"))
        return cls(api_root.rstrip("/"))

    @classmethod
    def from_index(cls, index_url: httpx.URL) -> ApiRoot:
        """The wp/v2 root below a REST index (``.../wp-json/`` or ``...?rest_route=/``)."""
        if "rest_route" in index_url.params:
            page = index_url.copy_remove_param("rest_route").copy_remove_param("_fields")
            return cls(str(page), "/wp/v2")
        return cls(str(index_url.copy_with(query=None)).rstrip("/") + "/wp/v2")

    def namespace(self, name: str) -> ApiRoot:
        """The root of another namespace of the same REST API (``wpcom/v2`` beside ``wp/v2``):
        ``.../wp-json/wpcom/v2``, or on WordPress.com ``.../wpcom/v2/sites/SITE``."""
        if self.route_prefix is not None:
            return ApiRoot(self.base, f"/{name}")
        head, found, tail = self.base.rpartition("/wp/v2")
        if not found:
            raise WordPressError(f"cannot tell where the {name} routes are beside {self.base}")
        return ApiRoot(f"{head}/{name}{tail}")

    def url(self, path: str, params: Params = ()) -> httpx.URL:
        if self.route_prefix is None:
            return httpx.URL(self.base + path).copy_merge_params(params)
        route = (("rest_route", self.route_prefix + path),)
        return httpx.URL(self.base).copy_merge_params(route + params)


class Memory(Protocol):
    """Small values kept between commands: the state's ``meta`` table (``pipeline.store``)."""

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def delete_meta(self, key: str) -> None: ...


class RememberedRoot:
    """The REST root discovered for one configured site address, kept in the state so that the
    next command need not ask for it. Keyed by the address as configured: another ``url`` never
    sees this one's root. What cannot be read back as a root that is allowed now (damaged, or
    plain http that is no longer accepted) is as good as nothing remembered; a root or address
    holding a secret (``clean`` masks something in it) is never written."""

    def __init__(self, memory: Memory, site: str, clean: Callable[[str], str]) -> None:
        self._memory = memory
        self._key = f"api_root:wordpress:{site}"
        self._clean = clean
        self._site_has_login = bool(httpx.URL(site).userinfo)

    def recall(self, allow_insecure: bool) -> ApiRoot | None:
        raw = self._memory.meta(self._key)
        if raw is None:
            return None
        try:
            saved = json.loads(raw)
            root = ApiRoot(str(saved["base"]), _prefix(saved.get("route_prefix")))
            url = httpx.URL(root.base)
            require_secure(root.base, allow_insecure)
        except (ValueError, TypeError, KeyError, httpx.InvalidURL, ConfigError):
            return None  # damaged: discovered again, and written over
        return root if url.host and not url.userinfo else None

    def remember(self, root: ApiRoot) -> None:
        value = json.dumps({"base": root.base, "route_prefix": root.route_prefix})
        written = self._key + value
        if self._site_has_login or httpx.URL(root.base).userinfo or self._clean(written) != written:
            return  # a login in an address is a secret: found again by each command instead
        self._memory.set_meta(self._key, value)

    def forget(self) -> None:
        self._memory.delete_meta(self._key)


def _prefix(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.startswith("/")):
        return value
    raise ValueError(f"not a REST route prefix: {value!r}")


def require_secure(url: str, allow_insecure_http: bool) -> None:
    """Refuse to send credentials over plain http to anything but this machine."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https":
        return
    if parsed.scheme != "http":
        raise ConfigError(f"{url}: not an http(s) URL", fix='use "https://..."')
    if not allow_insecure_http and not is_loopback(parsed.host):
        raise ConfigError(
            f"refusing plain http:// to {parsed.host}: the WordPress password would travel "
            "unencrypted",
            fix="use https:// (wordpress.url, or the site's REST address), or set "
            "allow_insecure_http = true in [wordpress] if you accept that",
        )


def _namespaces(response: httpx.Response) -> list[str] | None:
    if not response.is_success:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    names = data.get("namespaces") if isinstance(data, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else None


def _describe(response: httpx.Response, namespaces: list[str] | None) -> str:
    if namespaces is not None:
        return "a REST index without the wp/v2 routes"
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    return f"HTTP {response.status_code} ({kind})"


def discover(transport: Transport, site: str, allow_insecure: bool) -> ApiRoot:
    """Find the REST API: /wp-json/, then the advertised Link, then ?rest_route=/."""
    tried: list[str] = []
    pretty = httpx.URL(f"{site}/wp-json/")
    first = _probe(transport, pretty, tried, allow_insecure)
    if isinstance(first, ApiRoot):
        return first
    # WordPress advertises its REST index on every page it serves, 404 pages included.
    advertised = first.links.get(API_INDEX_REL, {}).get("url")
    if advertised and first.url.join(advertised) != pretty:
        linked = _probe(transport, first.url.join(advertised), tried, allow_insecure)
        if isinstance(linked, ApiRoot):
            return linked
    plain = _probe(
        transport, httpx.URL(f"{site}/").copy_set_param("rest_route", "/"), tried, allow_insecure
    )
    if isinstance(plain, ApiRoot):
        return plain
    # Bad input, not a failure: asking again later would get the same answers.
    raise ConfigError(
        f"{site} does not look like a WordPress site with the REST API on: {'; '.join(tried)}",
        fix="set [wordpress] url to the blog's home page address; if it is WordPress, a "
        "plugin or the host may have disabled the REST API — enable it, or set api_root",
    )


def _probe(
    transport: Transport, url: httpx.URL, tried: list[str], allow_insecure: bool
) -> ApiRoot | httpx.Response:
    """The root if ``url`` is a REST index with wp/v2, else the answer (for its Link)."""
    require_secure(str(url), allow_insecure)
    doing = f"reading the REST API index at {url}"
    request = transport.http.build_request("GET", url.copy_set_param("_fields", "namespaces"))
    response = transport.send_idempotent(request, doing, follow_redirects=True)
    if response.status_code in (401, 403, 429) or response.status_code >= 500:
        transport.fail(response, doing)
    namespaces = _namespaces(response)
    if namespaces is not None and "wp/v2" in namespaces:
        return ApiRoot.from_index(response.url)
    tried.append(f"{url} answered {_describe(response, namespaces)}")
    return response
