"""pipeline.toml and credentials.toml, loaded once into typed, frozen settings.

Every problem names the file, the line of the key and the fix. Paths are made absolute relative to
the config file, so the pipeline behaves the same from any working directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Struct, field
from msgspec.structs import replace

from pipeline.core.announce import check_placeholders
from pipeline.core.costs import (
    PUBLISHED_PRICE_PER_LINK_POST,
    PUBLISHED_PRICE_PER_POST,
    XPrices,
    money,
)
from pipeline.core.schedule import WEEKDAYS, Cadence, ScheduleEntry
from pipeline.errors import ConfigError, InputError, shown
from pipeline.redact import MIN_SECRET_LENGTH
from pipeline.timeutil import BadTime, parse_duration, to_utc

if TYPE_CHECKING:
    from pipeline.channels.settings import (
        BlueskyCredentials,
        BlueskySettings,
        MastodonCredentials,
        MastodonSettings,
    )

DEFAULT_TEMPLATE = "New on the blog: {title} {url}"
DEFAULT_X_API = "https://api.twitter.com"
CONFIG_ENV = "PIPELINE_CONFIG"


class Secret:
    """A credential value that never shows itself in output, logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _late(name: str) -> Callable[[], Any]:
    """A default factory for a class of pipeline.channels.settings, which builds on this module
    and so is imported only when first needed."""

    def make() -> Any:
        from pipeline.channels import settings

        return getattr(settings, name)()

    return make


class WordPressCredentials(Struct, frozen=True):
    """The WordPress user and application password, or a token."""

    user: str | None = None
    app_password: Secret | None = None
    token: Secret | None = None
    # Where the password (or token) was read from, for fixes that say where to change it.
    origin: str = "credentials.toml"
    client_id: str | None = None  # a WordPress.com app, for `pipeline login wordpress.com`
    client_secret: Secret | None = None

    @property
    def configured(self) -> bool:
        return self.token is not None or (self.user is not None and self.app_password is not None)

    def secrets(self) -> list[str]:
        values = (self.app_password, self.token, self.client_secret)
        return [s.reveal() for s in values if s is not None]


class XCredentials(Struct, frozen=True):
    """X's OAuth 1.0a keys, bearer token, or OAuth 2.0 app."""

    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    access_token: Secret | None = None
    access_token_secret: Secret | None = None
    bearer_token: Secret | None = None
    client_id: str | None = None  # the app's OAuth 2.0 client, for `pipeline login x`
    client_secret: Secret | None = None

    @property
    def oauth1(self) -> bool:
        keys = (
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        )
        return all(k is not None for k in keys)

    @property
    def configured(self) -> bool:
        return self.oauth1 or self.bearer_token is not None

    def missing(self) -> list[str]:
        """The OAuth 1.0a keys still missing when some are set (none set: nothing missing)."""
        names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        given = [getattr(self, name) is not None for name in names]
        if not any(given) or self.configured:
            return []
        return [name for name, present in zip(names, given, strict=True) if not present]

    def secrets(self) -> list[str]:
        values = (
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
            self.bearer_token,
            self.client_secret,
        )
        return [s.reveal() for s in values if s is not None]


class Credentials(Struct, frozen=True):
    """Every service's credentials, from credentials.toml and the environment."""

    wordpress: WordPressCredentials = field(default_factory=WordPressCredentials)
    x: XCredentials = field(default_factory=XCredentials)
    warnings: tuple[str, ...] = ()
    bluesky: BlueskyCredentials = field(default_factory=_late("BlueskyCredentials"))
    mastodon: MastodonCredentials = field(default_factory=_late("MastodonCredentials"))

    def secrets(self) -> list[str]:
        channels = self.bluesky.secrets() + self.mastodon.secrets()
        return self.wordpress.secrets() + self.x.secrets() + channels


class WordPressSettings(Struct, frozen=True):
    """The ``[wordpress]`` table of pipeline.toml."""

    url: str
    api_root: str | None = None
    allow_insecure_http: bool = False
    concurrency: int = 4
    timeout: float = 30.0
    oauth_url: str | None = None  # WordPress.com's OAuth 2 endpoints (None: the real ones)
    format: str = "blocks"  # new posts: "blocks" (block-editor content) or "classic" HTML
    # Where url and api_root are written, for an error found only when the site answers.
    config_path: Path | None = None
    key_lines: Mapping[str, int] = field(default_factory=dict)

    def error(self, key: str, message: str, fix: str) -> ConfigError:
        """A ConfigError about ``key`` of [wordpress], pointing at its line."""
        return ConfigError(
            f"wordpress.{key}: {message}",
            path=self.config_path,
            line=self.key_lines.get(key),
            fix=fix,
        )


class ChannelSettings(Struct, frozen=True):
    """What every channel's table in pipeline.toml says: how to announce there."""

    template: str = DEFAULT_TEMPLATE
    image: bool = False
    thread_series: bool = False


class XSettings(ChannelSettings, frozen=True):
    """The ``[x]`` table of pipeline.toml."""

    api_url: str = DEFAULT_X_API
    timeout: float = 30.0  # seconds to wait for X's answer
    monthly_budget: Decimal | None = None  # dollars a calendar month; None: no cap
    price_per_post: Decimal = PUBLISHED_PRICE_PER_POST
    price_per_link_post: Decimal = PUBLISHED_PRICE_PER_LINK_POST
    auth_url: str | None = None  # the OAuth 2.0 authorize and token endpoints (None: X's own)
    token_url: str | None = None

    @property
    def prices(self) -> XPrices:
        return XPrices(self.price_per_post, self.price_per_link_post)


class Settings(Struct, frozen=True):
    """pipeline.toml, checked, with every path absolute."""

    path: Path
    timezone: ZoneInfo
    posts_dir: Path
    state_dir: Path
    credentials_path: Path
    wordpress: WordPressSettings
    x: XSettings
    schedule: tuple[ScheduleEntry, ...] = ()
    # [[schedule]] entries that could not be read: reported and skipped, the others go on.
    schedule_problems: tuple[ConfigError, ...] = ()
    catch_up: timedelta = timedelta(hours=24)
    max_attempts: int = 5
    cadence: Cadence | None = None
    bluesky: BlueskySettings = field(default_factory=_late("BlueskySettings"))
    mastodon: MastodonSettings = field(default_factory=_late("MastodonSettings"))

    @property
    def db_path(self) -> Path:
        return self.state_dir / "pipeline.sqlite3"


TOP_KEYS = {
    "timezone",
    "posts_dir",
    "state_dir",
    "credentials",
    "catch_up",
    "max_attempts",
    "wordpress",
    "x",
    "schedule",
    "cadence",
    "bluesky",
    "mastodon",
}
WP_KEYS = {
    "url",
    "api_root",
    "allow_insecure_http",
    "concurrency",
    "timeout",
    "oauth_url",
    "format",
}
FORMATS = ("blocks", "classic")
X_KEYS = {
    "template",
    "api_url",
    "image",
    "thread_series",
    "monthly_budget",
    "price_per_post",
    "price_per_link_post",
    "auth_url",
    "token_url",
    "timeout",
}


def find_config(explicit: str | None) -> Path:
    """The config file: --config, then $PIPELINE_CONFIG, then ./pipeline.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or "pipeline.toml"
    path = Path(chosen).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            "no config file here",
            path=path,
            fix="run from the folder with pipeline.toml, or pass --config PATH "
            f"(or set {CONFIG_ENV})",
        )
    return path


def load_settings(path: Path) -> Settings:
    text = _read_text(path)
    data = _parse_toml(text, path)
    where = _Locator(path, text)
    where.reject_unknown(data, TOP_KEYS, section=None)
    tz = _timezone(data.get("timezone", "UTC"), where)
    base = path.parent
    schedule, schedule_problems = _schedule(data.get("schedule", []), tz, where)
    return Settings(
        path=path,
        timezone=tz,
        posts_dir=_path(data, "posts_dir", "posts", base, where, kind="folder"),
        state_dir=_path(data, "state_dir", ".pipeline", base, where, kind="folder"),
        credentials_path=_path(data, "credentials", "credentials.toml", base, where, kind="file"),
        wordpress=_wordpress(data.get("wordpress"), where),
        x=_x(data.get("x", {}), where),
        schedule=schedule,
        schedule_problems=schedule_problems,
        catch_up=_duration(data, "catch_up", "24h", where),
        max_attempts=_int(data, "max_attempts", 5, where, section=None),
        cadence=_cadence(data.get("cadence"), where),
        bluesky=_bluesky(data.get("bluesky", {}), where),
        mastodon=_mastodon(data.get("mastodon", {}), where),
    )


def _cadence(data: object, where: _Locator) -> Cadence | None:
    if data is None:
        return None
    fix = 'e.g. [cadence] days = ["tue", "fri"] and at = "09:00"'
    if not isinstance(data, dict):
        raise where.error("must be a table", "cadence", fix=fix)
    where.reject_unknown(data, {"days", "at"}, "cadence")
    days = data.get("days")
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, str) and d.lower()[:3] in WEEKDAYS for d in days)
    ):
        raise where.error("must be a list of weekdays", "days", "cadence", fix=fix)
    at = data.get("at")
    try:
        clock = time.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        clock = None
    if clock is None:
        raise where.error("must be a time of day like 09:00", "at", "cadence", fix=fix)
    return Cadence(days=tuple(sorted({WEEKDAYS.index(d.lower()[:3]) for d in days})), at=clock)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror}", path=path, line=1, fix="check the file's permissions"
        ) from exc
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            path=path,
            line=raw[: exc.start].count(b"\n") + 1,
            fix="save the file as UTF-8",
        ) from exc


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        reason = re.sub(r"\s*\(at line.*\)", "", str(exc))
        if reason.startswith("Cannot overwrite a value"):  # what tomllib says of a repeated key
            raise ConfigError(
                "a key is written twice (TOML: only once per table)",
                path=path,
                line=line,
                fix="keep one of them and delete the other",
            ) from exc
        raise ConfigError(
            f"invalid TOML: {reason}",
            path=path,
            line=line,
            fix="correct the TOML syntax on that line",
        ) from exc


def line_of(path: Path, key: str, section: str | None = None) -> int | None:
    """The line of ``key`` (in ``[section]``) in a config file, for a message about it."""
    return _Locator(path, _read_text(path)).line(key, section)


def _assigns(raw: str, key: str) -> bool:
    """Whether the line sets ``key`` (``^\\s*key\\s*=``, without compiling a pattern per key:
    settings keep the line of the keys they read)."""
    rest = raw.lstrip()
    return rest.startswith(key) and rest[len(key) :].lstrip().startswith("=")


class _Locator:
    """Finds the line a key is written on, so errors can point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line(self, key: str, section: str | None = None) -> int | None:
        """The line of ``key = ...`` in ``[section]`` (top level: None), or of the table
        ``[key]`` itself at the top level."""
        in_section = section is None
        for number, raw in enumerate(self.lines, start=1):
            stripped = raw.strip()
            if stripped.startswith("["):
                name = stripped.strip("[]").strip()
                if section is None and name == key:
                    return number
                in_section = name == section
                continue
            if in_section and _assigns(raw, key):
                return number
        return None

    def line_after(self, header: int | None, key: str) -> int | None:
        """The line of ``key`` in the table whose header is on line ``header``."""
        if header is None:
            return None
        for number in range(header + 1, len(self.lines) + 1):
            raw = self.lines[number - 1]
            if raw.strip().startswith("["):
                return None
            if _assigns(raw, key):
                return number
        return None

    def error(
        self, message: str, key: str, section: str | None = None, fix: str | None = None
    ) -> ConfigError:
        full = f"{section}.{key}" if section else key
        return ConfigError(
            f"{full}: {message}", path=self.path, line=self.line(key, section), fix=fix
        )

    def reject_unknown(self, data: Mapping[str, Any], known: set[str], section: str | None) -> None:
        for key in data:
            if key not in known:
                raise self.error(
                    "unknown key",
                    key,
                    section,
                    fix=f"remove it, or use one of: {', '.join(sorted(known))}",
                )


def _timezone(value: object, where: _Locator) -> ZoneInfo:
    if not isinstance(value, str):
        raise where.error("must be a string", "timezone", fix='e.g. timezone = "Europe/Paris"')
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise where.error(
            f"unknown timezone {shown(value)}",
            "timezone",
            fix='use an IANA name such as "America/New_York"',
        ) from exc


def _path(
    data: Mapping[str, Any], key: str, default: str, base: Path, where: _Locator, *, kind: str
) -> Path:
    """A path from the config, relative to it; what is there already must be a ``kind``
    ("file" or "folder"): the pipeline reads or creates it later, far from this line."""
    value = data.get(key, default)
    if not isinstance(value, str) or not value or "\0" in value:
        raise where.error("must be a path", key, fix=f'e.g. {key} = "{default}"')
    path = (base / Path(value).expanduser()).resolve()
    # The nearest part of the path that exists: a file there blocks creating what is below it.
    there = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if there != path and not there.is_dir():
        raise where.error(
            f"{there} is a file, so {path} cannot be created",
            key,
            fix=f"point {key} somewhere else (or move the file {there} away)",
        )
    if path.is_dir() if kind == "file" else path.exists() and not path.is_dir():
        other = "a folder" if kind == "file" else "a file"
        raise where.error(
            f"{path} is {other}, not a {kind}",
            key,
            fix=f"point {key} at a {kind} (or move what is at {path} away)",
        )
    return path


def _int(
    data: Mapping[str, Any], key: str, default: int, where: _Locator, section: str | None
) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise where.error(
            "must be a whole number of at least 1", key, section, fix=f"e.g. {key} = {default}"
        )
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool, where: _Locator, section: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise where.error(
            "must be true or false", key, section, fix=f"write {key} = true or {key} = false"
        )
    return value


def _duration(data: Mapping[str, Any], key: str, default: str, where: _Locator) -> timedelta:
    value = data.get(key, default)
    try:
        return parse_duration(str(value))
    except BadTime as exc:
        raise where.error(str(exc), key, fix=f'e.g. {key} = "{default}"') from exc


def _wordpress(data: object, where: _Locator) -> WordPressSettings:
    if not isinstance(data, dict) or "url" not in data:
        raise ConfigError(
            "the [wordpress] table with url is missing",
            path=where.path,
            fix='add [wordpress] and url = "https://blog.example.com"',
        )
    where.reject_unknown(data, WP_KEYS, "wordpress")
    insecure = _bool(data, "allow_insecure_http", False, where, "wordpress")
    url = _url(data["url"], "url", insecure, where)
    api_root = _url(data["api_root"], "api_root", insecure, where) if "api_root" in data else None
    oauth_url = _url(data["oauth_url"], "oauth_url", False, where) if "oauth_url" in data else None
    timeout = _seconds_of(data, "timeout", 30, where, "wordpress")
    markup = data.get("format", "blocks")
    if markup not in FORMATS:
        raise where.error(
            f"must be one of {', '.join(FORMATS)}",
            "format",
            "wordpress",
            fix='format = "blocks" (block-editor content) or format = "classic"',
        )
    lines = {key: where.line(key, "wordpress") for key in ("url", "api_root")}
    return WordPressSettings(
        url=url,
        api_root=api_root,
        allow_insecure_http=insecure,
        concurrency=_int(data, "concurrency", 4, where, "wordpress"),
        timeout=timeout,
        oauth_url=oauth_url,
        format=str(markup),
        config_path=where.path,
        key_lines={key: line for key, line in lines.items() if line is not None},
    )


def _url(
    value: object, key: str, insecure_ok: bool, where: _Locator, section: str = "wordpress"
) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise where.error(
            "must be an http(s) URL", key, section, fix=f'e.g. {key} = "https://blog.example.com"'
        )
    assert isinstance(value, str)
    if parts.scheme == "http" and not insecure_ok and not is_loopback(parts.hostname):
        raise where.error(
            "plain http:// to a non-loopback host would send your password unencrypted",
            key,
            section,
            fix="use https://, or set allow_insecure_http = true if you accept that",
        )
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    """localhost or a loopback IP address (not any name that merely starts with "127.")."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _x(data: object, where: _Locator) -> XSettings:
    if not isinstance(data, dict):
        raise where.error("must be a table", "x", fix="write it as [x]")
    where.reject_unknown(data, X_KEYS, "x")
    template = data.get("template", DEFAULT_TEMPLATE)
    if not isinstance(template, str) or not template.strip():
        raise where.error(
            "must be a non-empty string",
            "template",
            "x",
            fix=f'e.g. template = "{DEFAULT_TEMPLATE}"',
        )
    try:
        check_placeholders(template)
    except InputError as exc:  # a template that can never work is bad config, not a failure
        raise where.error(exc.message, "template", "x", fix=exc.fix) from exc
    return XSettings(
        template=template,
        api_url=_x_url(data.get("api_url", DEFAULT_X_API), "api_url", where),
        image=_bool(data, "image", False, where, "x"),
        thread_series=_bool(data, "thread_series", False, where, "x"),
        monthly_budget=_money(data, "monthly_budget", where),
        price_per_post=_price(data, "price_per_post", PUBLISHED_PRICE_PER_POST, where),
        price_per_link_post=_price(
            data, "price_per_link_post", PUBLISHED_PRICE_PER_LINK_POST, where
        ),
        auth_url=_x_url(data["auth_url"], "auth_url", where) if "auth_url" in data else None,
        token_url=_x_url(data["token_url"], "token_url", where) if "token_url" in data else None,
        timeout=_seconds_of(data, "timeout", 30, where, "x"),
    )


def _x_url(value: object, key: str, where: _Locator) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise where.error("must be an http(s) URL", key, "x", fix=f'e.g. "{DEFAULT_X_API}"')
    assert isinstance(value, str)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise where.error(
            "plain http:// to a non-loopback host would leak your X keys",
            key,
            "x",
            fix="use https://",
        )
    return value.rstrip("/")


_EXAMPLES = {"price_per_post": "0.015", "price_per_link_post": "0.20"}


def _price(data: Mapping[str, Any], key: str, default: Decimal, where: _Locator) -> Decimal:
    found = _money(data, key, where)
    return default if found is None else found


def _money(data: Mapping[str, Any], key: str, where: _Locator) -> Decimal | None:
    """Dollars: a TOML number, zero or more (read through ``str``, so 0.2 stays 0.2)."""
    value = data.get(key)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(value)
        return money(value)
    except ValueError as exc:
        raise where.error(
            "must be an amount of dollars (a number, zero or more)",
            key,
            "x",
            fix=f"e.g. {key} = {_EXAMPLES.get(key, '10.0')}",
        ) from exc


def _seconds_of(
    data: Mapping[str, Any], key: str, default: float, where: _Locator, section: str
) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise where.error("must be a number of seconds", key, section, fix=f"e.g. {key} = 30")
    return float(value)


def _schedule(
    data: object, tz: ZoneInfo, where: _Locator
) -> tuple[tuple[ScheduleEntry, ...], tuple[ConfigError, ...]]:
    """The [[schedule]] entries that can be read, and a problem for each one that cannot: one
    bad entry is reported and skipped, the others still go out on time."""
    if not isinstance(data, list):
        raise where.error(
            "must be a list of [[schedule]] tables",
            "schedule",
            fix='write [[schedule]] tables with post = "..." and at = "..."',
        )
    entries = []
    problems = []
    headers = [n for n, raw in enumerate(where.lines, 1) if raw.strip() == "[[schedule]]"]
    for index, item in enumerate(data):
        line = headers[index] if index < len(headers) else None
        try:
            entries.append(_schedule_entry(item, tz, where, line))
        except ConfigError as exc:
            problems.append(exc)
    return tuple(entries), tuple(problems)


def _schedule_entry(item: object, tz: ZoneInfo, where: _Locator, line: int | None) -> ScheduleEntry:
    fix = 'e.g. post = "my-slug" and at = "2026-12-01 09:00"'
    if not isinstance(item, dict) or not isinstance(item.get("post"), str) or "at" not in item:
        raise ConfigError("[[schedule]] needs post and at", path=where.path, line=line, fix=fix)
    unknown = sorted(set(item) - {"post", "at"})
    if unknown:
        raise ConfigError(
            f"schedule: unknown key {shown(unknown[0])}",
            path=where.path,
            line=where.line_after(line, unknown[0]) or line,
            fix="remove it; an entry has post and at",
        )
    try:
        at = to_utc(item["at"], tz)
    except BadTime as exc:
        raise ConfigError(
            f"schedule.at: {exc}",
            path=where.path,
            line=where.line_after(line, "at") or line,
            fix='write it like "2026-12-01 09:00"',
        ) from exc
    return ScheduleEntry(post=item["post"], at=at, line=line or 0)


ENV_KEYS = {
    ("bluesky", "handle"): "PIPELINE_BLUESKY_HANDLE",
    ("bluesky", "app_password"): "PIPELINE_BLUESKY_APP_PASSWORD",
    ("mastodon", "access_token"): "PIPELINE_MASTODON_ACCESS_TOKEN",
    ("wordpress", "user"): "PIPELINE_WORDPRESS_USER",
    ("wordpress", "app_password"): "PIPELINE_WORDPRESS_APP_PASSWORD",
    ("wordpress", "token"): "PIPELINE_WORDPRESS_TOKEN",
    ("wordpress", "client_id"): "PIPELINE_WORDPRESS_CLIENT_ID",
    ("wordpress", "client_secret"): "PIPELINE_WORDPRESS_CLIENT_SECRET",
    ("x", "consumer_key"): "PIPELINE_X_CONSUMER_KEY",
    ("x", "consumer_secret"): "PIPELINE_X_CONSUMER_SECRET",
    ("x", "access_token"): "PIPELINE_X_ACCESS_TOKEN",
    ("x", "access_token_secret"): "PIPELINE_X_ACCESS_TOKEN_SECRET",
    ("x", "bearer_token"): "PIPELINE_X_BEARER_TOKEN",
    ("x", "client_id"): "PIPELINE_X_CLIENT_ID",
    ("x", "client_secret"): "PIPELINE_X_CLIENT_SECRET",
}
# Names, not secrets: an OAuth client id is part of the authorize address the writer opens.
PLAIN_KEYS = {("wordpress", "user"), ("wordpress", "client_id"), ("x", "client_id")}
# Names, not secrets: never masked, never warned about.
NOT_SECRET_KEYS = PLAIN_KEYS | {("bluesky", "handle")}


def missing_wordpress_credentials(path: Path | None = None) -> ConfigError:
    """The error for a command that must reach WordPress and has nothing to log in with."""
    return ConfigError(
        "no WordPress credentials",
        path=path,
        fix="set [wordpress] user and app_password in credentials.toml, or "
        "PIPELINE_WORDPRESS_USER and PIPELINE_WORDPRESS_APP_PASSWORD; for a WordPress.com site, "
        "run `pipeline login wordpress.com`",
    )


def load_credentials(path: Path, env: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from the file (optional) with environment variables overriding each key."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    warnings: list[str] = []
    lines: dict[tuple[str, str], int | None] = {}
    if path.exists() and not path.is_file():
        raise ConfigError(
            "is not a file",
            path=path,
            fix="point credentials in pipeline.toml at a credentials.toml file",
        )
    if path.is_file():
        text = _read_text(path)
        data = _parse_toml(text, path)
        where = _Locator(path, text)
        where.reject_unknown(data, set(CREDENTIAL_SECTIONS), None)
        for section in CREDENTIAL_SECTIONS:
            table = data.get(section, {})
            if not isinstance(table, dict):
                raise where.error("must be a table", section, fix=f"write it as [{section}]")
            known = {key for sec, key in ENV_KEYS if sec == section}
            where.reject_unknown(table, known, section)
            for key, value in table.items():
                if not isinstance(value, str):  # never show the value: it may be a secret
                    raise where.error("must be a string", key, section, fix=f'{key} = "..."')
                lines[(section, key)] = where.line(key, section)
        warnings += _permission_warning(path)
    values: dict[tuple[str, str], str] = {}
    origins: dict[tuple[str, str], str] = {}
    for (section, key), var in ENV_KEYS.items():
        if env.get(var):
            values[(section, key)] = env[var]
            origins[(section, key)] = f"the environment variable {var}"
        elif isinstance(data.get(section, {}).get(key), str) and data[section][key]:
            values[(section, key)] = data[section][key]
            line = lines.get((section, key))
            origins[(section, key)] = f"{key} in {path}" + (f" (line {line})" if line else "")
    warnings += _short_secrets(values, origins)
    return _with_channels(_credentials(values, origins, tuple(warnings)), values)


def _short_secrets(
    values: Mapping[tuple[str, str], str], origins: Mapping[tuple[str, str], str]
) -> list[str]:
    """Secrets too short to be masked in output (they would garble ordinary words)."""
    return [
        f"{origins[name]}: only {len(value.strip())} characters, too short to be masked in "
        f"output and logs (fix: use the full key, or a password of at least "
        f"{MIN_SECRET_LENGTH} characters)"
        for name, value in values.items()
        if name not in NOT_SECRET_KEYS and len(value.strip()) < MIN_SECRET_LENGTH
    ]


def _credentials(
    values: dict[tuple[str, str], str],
    origins: dict[tuple[str, str], str],
    warnings: tuple[str, ...],
) -> Credentials:
    def secret(section: str, key: str) -> Secret | None:
        value = values.get((section, key))
        return Secret(value) if value else None

    def value(section: str, key: str) -> str | Secret | None:
        return values.get((section, key)) if (section, key) in PLAIN_KEYS else secret(section, key)

    def table(section: str) -> dict[str, Any]:
        return {key: value(sec, key) for sec, key in ENV_KEYS if sec == section}

    token = ("wordpress", "token")
    used = token if token in values else ("wordpress", "app_password")
    return Credentials(
        wordpress=WordPressCredentials(
            **table("wordpress"), origin=origins.get(used, "credentials.toml")
        ),
        x=XCredentials(**table("x")),
        warnings=warnings,
    )


def _permission_warning(path: Path) -> list[str]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            f"{path}:1: readable by other users (mode {stat.S_IMODE(mode):o}) (fix: chmod 600 "
            f"{path})"
        ]
    return []


# ---------------------------------------------------------------------------------------------
# [bluesky] and [mastodon] (issue 13): their settings and credentials classes live in
# pipeline.channels.settings, which builds on this module.

BLUESKY_KEYS = {"service", "template", "thread_series", "image"}
MASTODON_KEYS = {"instance", "template", "visibility", "thread_series", "image"}
CREDENTIAL_SECTIONS = ("wordpress", "x", "bluesky", "mastodon")


def _bluesky(data: object, where: _Locator) -> BlueskySettings:
    from pipeline.channels.settings import DEFAULT_BLUESKY_SERVICE, BlueskySettings

    table = _channel_table(data, "bluesky", BLUESKY_KEYS, where)
    return BlueskySettings(
        service=_service_url(table, "service", DEFAULT_BLUESKY_SERVICE, "bluesky", where),
        **_channel_common(table, "bluesky", where),
    )


def _mastodon(data: object, where: _Locator) -> MastodonSettings:
    from pipeline.channels.settings import (
        DEFAULT_MASTODON_INSTANCE,
        VISIBILITIES,
        MastodonSettings,
    )

    table = _channel_table(data, "mastodon", MASTODON_KEYS, where)
    visibility = table.get("visibility", "public")
    if visibility not in VISIBILITIES:
        raise where.error(
            f"must be one of {', '.join(VISIBILITIES)}",
            "visibility",
            "mastodon",
            fix='e.g. visibility = "public"',
        )
    return MastodonSettings(
        instance=_service_url(table, "instance", DEFAULT_MASTODON_INSTANCE, "mastodon", where),
        visibility=visibility,
        **_channel_common(table, "mastodon", where),
    )


def _channel_table(
    data: object, section: str, known: set[str], where: _Locator
) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise where.error("must be a table", section, fix=f"write it as [{section}]")
    where.reject_unknown(data, known, section)
    return data


def _channel_common(data: Mapping[str, Any], section: str, where: _Locator) -> dict[str, Any]:
    """What every channel's table says: the template, image and thread_series."""
    template = data.get("template", DEFAULT_TEMPLATE)
    if not isinstance(template, str) or not template.strip():
        raise where.error(
            "must be a non-empty string",
            "template",
            section,
            fix=f'e.g. template = "{DEFAULT_TEMPLATE}"',
        )
    return {
        "template": template,
        "image": _bool(data, "image", False, where, section),
        "thread_series": _bool(data, "thread_series", False, where, section),
    }


def _service_url(
    data: Mapping[str, Any], key: str, default: str, section: str, where: _Locator
) -> str:
    """An https URL (plain http on loopback only, for local servers and tests)."""
    value = data.get(key, default)
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise where.error("must be an http(s) URL", key, section, fix=f'e.g. {key} = "{default}"')
    assert isinstance(value, str)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise where.error(
            "plain http:// to a non-loopback host would send your credentials unencrypted",
            key,
            section,
            fix="use https://",
        )
    return value.rstrip("/")


def _with_channels(credentials: Credentials, values: Mapping[tuple[str, str], str]) -> Credentials:
    """``credentials`` with Bluesky's and Mastodon's: the handle is a name, the rest secrets."""
    from pipeline.channels.settings import BlueskyCredentials, MastodonCredentials

    def secret(section: str, key: str) -> Secret | None:
        value = values.get((section, key))
        return Secret(value) if value else None

    return replace(
        credentials,
        bluesky=BlueskyCredentials(
            handle=values.get(("bluesky", "handle")),
            app_password=secret("bluesky", "app_password"),
        ),
        mastodon=MastodonCredentials(access_token=secret("mastodon", "access_token")),
    )
