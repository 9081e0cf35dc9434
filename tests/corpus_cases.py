"""What the bad-input corpus under ``tests/corpus/`` must produce: one row per expected error.

Each folder of the corpus is a tiny posts folder holding one kind of bad input next to posts that
are fine (``good.md`` at least): loading the folder must report exactly these errors, at these
lines, and still load every good post. ``test_posts`` checks it through the library, ``test_cli``
through ``pipeline check`` on all folders at once, and the bad-input drill
(``tests/test_corpus_drill.py``) through ``pipeline publish`` and ``pipeline run --once`` against a
real WordPress, with the config and credentials cases of ``SETTINGS_CASES`` as well.

(Loading here means what a publish loads: the announcement template is checked against each post,
see ``pipeline.wiring.announceable``; X is set up, so its limit counts.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.config import (
    Credentials,
    Secret,
    Settings,
    WordPressSettings,
    XCredentials,
    XSettings,
)
from pipeline.core.posts import LoadResult
from pipeline.loading import load_posts
from pipeline.wiring import announceable, channel_setups
from pipeline.workspace import Workspace

CORPUS = Path(__file__).parent / "corpus"
TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class Expected:
    case: str  # the folder under tests/corpus
    file: str  # the post inside it
    line: int
    what: str  # a piece of the message naming what is wrong
    fix: str  # a piece of the fix
    # "load": any command that reads the posts finds it; "announce": found where announcements
    # are made (publish, run, check), with X set up so that its limit counts
    when: str = "load"


EXPECTED: tuple[Expected, ...] = (
    Expected("invalid_yaml", "bad.md", 3, "invalid YAML", "correct the YAML syntax"),
    Expected("invalid_yaml", "unclosed.md", 3, "invalid YAML", "correct the YAML syntax"),
    Expected("no_front_matter", "bad.md", 1, "no front matter", "start the file with ---"),
    Expected("no_front_matter", "unclosed.md", 1, "front matter is not closed", "line ---"),
    Expected("front_matter_not_mapping", "bad.md", 2, "not a mapping", "key: value"),
    Expected("no_title", "bad.md", 1, "no title", "add title:"),
    Expected("bad_date", "bad.md", 3, "'2026-02-30 09:00' is not a valid date", "2026-12-01 09:00"),
    Expected(
        "dst_gap", "bad.md", 4, "2026-03-08 02:30 does not exist in America/New_York", "09:00"
    ),
    Expected("duplicate_slug", "first.md", 2, "slug 'same-title' is also used by", "another slug"),
    Expected("duplicate_slug", "second.md", 3, "slug 'same-title' is also used by", "another slug"),
    Expected("duplicate_part", "part-2a.md", 4, "part 2 of series 'Dupes'", "once each"),
    Expected("duplicate_part", "part-2b.md", 4, "part 2 of series 'Dupes'", "once each"),
    Expected("part_without_series", "bad.md", 4, "'part' without 'series'", "add series:"),
    Expected("link_to_nowhere", "bad.md", 7, "post:no-such-post-anywhere", "slug of a post"),
    Expected("link_to_broken_post", "part-2.md", 4, "is not a valid date", "2026-12-01 09:00"),
    Expected("image_missing", "bad.md", 6, "'images/missing.png' does not exist", "check the path"),
    Expected(
        "image_missing", "featured.md", 3, "'images/nope.png' does not exist", "check the path"
    ),
    Expected("image_outside", "bad.md", 4, "'../../etc/passwd' points outside", "put the image"),
    Expected("image_outside", "featured.md", 3, "points outside the posts folder", "put the image"),
    Expected("not_utf8", "bad.md", 4, "not UTF-8", "save the file as UTF-8"),
    Expected("empty_file", "empty.md", 1, "empty", "add front matter"),
    Expected("empty_file", "blank.md", 1, "empty", "add front matter"),
    # Bad input that crashed, blocked the batch, or was taken silently (issue 10, item 1).
    Expected("year_9999", "bad.md", 3, "9999-12-31 23:00 is out of range", "2026-12-01 09:00"),
    Expected("year_0001", "bad.md", 3, "0001-01-01 09:00 is out of range", "2026-12-01 09:00"),
    Expected(
        "offset_overflow", "bad.md", 3, "9999-12-31 23:00 is out of range", "2026-12-01 09:00"
    ),
    Expected("bad_date_word", "bad.md", 3, "'soon' is not a valid date", "2026-12-01 09:00"),
    Expected(
        "publish_at_list", "bad.md", 3, "expected a date and time, got list", "2026-12-01 09:00"
    ),
    Expected(
        "duplicate_key", "bad.md", 3, "key 'title' is written twice (first on line 2)", "keep one"
    ),
    Expected("duplicate_nested_key", "bad.md", 3, "key 'a' is written twice", "keep one"),
    Expected("alias_bomb", "bad.md", 7, "expands to more than 10000 values", "aliases"),
    Expected("recursive_alias", "bad.md", 3, "a YAML alias refers to itself", "remove the alias"),
    Expected("deep_nesting", "bad.md", 3, "nested deeper than 20 levels", "flatten"),
    Expected("python_tag", "bad.md", 3, "could not determine a constructor", "correct the YAML"),
    Expected("empty_front_matter", "bad.md", 2, "not a mapping", "key: value"),
    Expected(
        "invalid_status", "bad.md", 3, "status: 'published' is not a status", "draft or ready"
    ),
    Expected("status_bool", "bad.md", 3, "status: True is not a status", "draft or ready"),
    Expected("bad_slug", "bad.md", 3, "'Not A Slug!' is not a valid slug", "lower-case"),
    Expected("part_zero", "bad.md", 4, "part: 0 is not a part number", "part: 1, 2, 3"),
    Expected("part_text", "bad.md", 4, "part: 'two' is not a part number", "part: 1, 2, 3"),
    Expected("title_list", "bad.md", 2, "title: must be text", "title: Your title"),
    Expected("series_list", "bad.md", 3, "series: must be text", "series: some text"),
    Expected(
        "categories_mapping", "bad.md", 3, "categories: must be a list of names", "[one, two]"
    ),
    Expected("excerpt_list", "bad.md", 3, "excerpt: must be text", "excerpt: some text"),
    Expected(
        "featured_not_path", "bad.md", 3, "featured_image: must be a path", "images/picture.jpg"
    ),
    Expected(
        "image_text_as_png",
        "bad.md",
        6,
        "'images/note.png' is not an image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "featured_text_as_png",
        "bad.md",
        3,
        "'images/cover.png' is not an image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "image_truncated", "bad.md", 4, "'images/cut.png' is not an image", "PNG, JPEG, GIF or WebP"
    ),
    Expected(
        "image_empty", "bad.md", 4, "'images/empty.png' is an empty file", "PNG, JPEG, GIF or WebP"
    ),
    Expected(
        "image_unsupported",
        "bad.md",
        4,
        "'images/old.ppm' is a PPM image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "image_is_folder", "bad.md", 4, "'images/folder.png' is a folder", "image file inside it"
    ),
    Expected(
        "image_encoded_outside", "bad.md", 4, "points outside the posts folder", "put the image"
    ),
    Expected(
        "announce_placeholder",
        "bad.md",
        3,
        "unknown placeholder {titel}",
        "use only {title}",
        when="announce",
    ),
    Expected("announce_brace", "bad.md", 3, "stray brace", "{{ and }}", when="announce"),
    Expected(
        "announce_too_long",
        "bad.md",
        3,
        "323 characters (as X counts them)",
        "shorten the template",
        when="announce",
    ),
    Expected(
        "announce_not_text", "bad.md", 3, "announce: must be a template or false", "announce: false"
    ),
    Expected(
        "announce_series_too_long",
        "bad.md",
        5,
        "332 characters (as X counts them)",
        "shorten the template",
        when="announce",
    ),
    Expected("alias_conflict", "bad.md", 3, "both 'excerpt' and 'description'", "keep one of"),
)

# The posts of each folder that must load despite their bad neighbours.
GOOD: dict[str, frozenset[str]] = {
    case: frozenset({"good-neighbour-of-" + case.replace("_", "-")})
    for case in sorted({e.case for e in EXPECTED} | {"unknown_key"})
}
GOOD["duplicate_part"] = GOOD["duplicate_part"] | {"dupes-part-1"}
GOOD["link_to_broken_post"] = GOOD["link_to_broken_post"] | {"broken-neighbour-1"}
GOOD["unknown_key"] = GOOD["unknown_key"] | {"a-post-with-a-colour"}


def load_case(folder: Path) -> LoadResult:
    """A corpus folder loaded as a publish loads it: the posts, then their announcements."""
    settings = Settings(
        path=folder / "pipeline.toml",
        timezone=ZoneInfo(TIMEZONE),
        posts_dir=folder,
        state_dir=folder / ".pipeline",
        credentials_path=folder / "credentials.toml",
        wordpress=WordPressSettings(url="https://blog.example.com"),
        x=XSettings(),
    )
    keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    x = XCredentials(**{key: Secret(f"corpus-{key}-0123456789") for key in keys})
    workspace = Workspace(settings, Credentials(x=x), load_posts(folder, settings.timezone))
    return announceable(workspace, channel_setups(workspace, online=False)).loaded


def cases() -> list[str]:
    """Every folder of the corpus: a new folder must be added to the tables above."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.md")))


# --- pipeline.toml and credentials.toml -------------------------------------------------------

SETTINGS = CORPUS / "settings"


@dataclass(frozen=True)
class SettingsCase:
    """A folder under ``tests/corpus/settings``: a pipeline.toml and/or credentials.toml.in (else
    ``base.toml`` / ``base-credentials.toml.in``, with ``@URL@``, ``@USER@``, ``@PASSWORD@``,
    ``@DUE@``, ``@X_URL@`` and ``@NOT_WORDPRESS@`` filled in by the drill), and any files it
    needs."""

    name: str
    file: str  # the file the one message names, relative to the site folder
    line: int | None  # None: the message cannot name a line (``why`` says why)
    what: str
    fix: str
    publish_exit: int = 2
    once_exit: int = 2
    goes_out: bool = False  # a bad [[schedule]] entry or a warning: the good post still goes out
    kind: str = "error"  # the message's prefix: error, skipped or warning
    why: str = ""  # why the exit code, the line or goes_out is what it is
    env_password: str | None = None  # PIPELINE_WORDPRESS_APP_PASSWORD for the run
    credentials_mode: int = 0o600

    def environment(self, site: object) -> dict[str, str]:
        if self.env_password is None:
            return {}
        return {"PIPELINE_WORDPRESS_APP_PASSWORD": self.env_password}


_NO_POST = "the configuration cannot work: nothing is published until it is fixed"
_NO_CREDENTIALS = "no login to WordPress: nothing can be published until it is fixed"
_SOFT = (
    "one bad [[schedule]] entry is skipped, the good post goes out; publish does not read the "
    "schedule, so it exits 0"
)

SETTINGS_CASES: tuple[SettingsCase, ...] = (
    SettingsCase(
        "config_invalid_toml",
        "pipeline.toml",
        3,
        "invalid TOML",
        "correct the TOML syntax",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_duplicate_key",
        "pipeline.toml",
        3,
        "a key is written twice",
        "keep one of them",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_unknown_key",
        "pipeline.toml",
        4,
        "colour: unknown key",
        "remove it, or use one of",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_unknown_section_key",
        "pipeline.toml",
        9,
        "x.tempalte: unknown key",
        "template",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_bad_timezone",
        "pipeline.toml",
        1,
        "unknown timezone 'America/New_Yrok'",
        "IANA name",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_timezone_not_text",
        "pipeline.toml",
        1,
        "timezone: must be a string",
        'timezone = "Europe/Paris"',
        why=_NO_POST,
    ),
    SettingsCase(
        "config_not_utf8",
        "pipeline.toml",
        9,
        "not UTF-8 text (byte 0xfc)",
        "save the file as UTF-8",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_no_wordpress_table",
        "pipeline.toml",
        None,
        "the [wordpress] table with url is missing",
        "add [wordpress]",
        why="a missing table has no line",
    ),
    SettingsCase(
        "config_url_not_url",
        "pipeline.toml",
        6,
        "wordpress.url: must be an http(s) URL",
        "https://blog.example.com",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_url_insecure",
        "pipeline.toml",
        6,
        "wordpress.url: plain http://",
        "allow_insecure_http = true",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_api_root_insecure",
        "pipeline.toml",
        7,
        "wordpress.api_root: plain http://",
        "use https://",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_insecure_not_bool",
        "pipeline.toml",
        7,
        "allow_insecure_http: must be true or false",
        "allow_insecure_http = true",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_concurrency_text",
        "pipeline.toml",
        7,
        "concurrency: must be a whole number",
        "concurrency = 4",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_timeout_negative",
        "pipeline.toml",
        7,
        "timeout: must be a number of seconds",
        "timeout = 30",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_template_placeholder",
        "pipeline.toml",
        9,
        "unknown placeholder {titel}",
        "use only {title}",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_template_brace",
        "pipeline.toml",
        9,
        "stray brace",
        "{{ and }}",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_template_empty",
        "pipeline.toml",
        9,
        "x.template: must be a non-empty string",
        "template = ",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_template_too_long",
        "pipeline.toml",
        9,
        "characters (as X counts them) even with the title",
        "shorten the template",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_x_api_url_insecure",
        "pipeline.toml",
        10,
        "x.api_url: plain http://",
        "use https://",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_catch_up_word",
        "pipeline.toml",
        4,
        "'a while' is not a duration",
        'catch_up = "24h"',
        why=_NO_POST,
    ),
    SettingsCase(
        "config_catch_up_huge",
        "pipeline.toml",
        4,
        "is longer than 3650 days",
        'catch_up = "24h"',
        why=_NO_POST,
    ),
    SettingsCase(
        "config_max_attempts_zero",
        "pipeline.toml",
        4,
        "max_attempts: must be a whole number",
        "max_attempts = 5",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_cadence_bad_day",
        "pipeline.toml",
        12,
        "cadence.days: must be a list of weekdays",
        '["tue", "fri"]',
        why=_NO_POST,
    ),
    SettingsCase(
        "config_cadence_bad_time",
        "pipeline.toml",
        13,
        "cadence.at: must be a time of day",
        'at = "09:00"',
        why=_NO_POST,
    ),
    SettingsCase(
        "config_state_dir_is_a_file",
        "pipeline.toml",
        3,
        "notes.txt is a file, not a folder",
        "point state_dir at a folder",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_state_dir_below_a_file",
        "pipeline.toml",
        3,
        "notes.txt/state cannot be created",
        "point state_dir somewhere else",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_posts_dir_is_a_file",
        "pipeline.toml",
        2,
        "notes.txt is a file, not a folder",
        "point posts_dir at a folder",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_posts_dir_missing",
        "pipeline.toml",
        2,
        "nowhere does not exist",
        "set posts_dir",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_credentials_is_a_folder",
        "pipeline.toml",
        4,
        "secrets is a folder, not a file",
        "point credentials at a file",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_not_wordpress",
        "pipeline.toml",
        6,
        "does not look like a WordPress site",
        "set [wordpress] url to the blog's home page",
        why=_NO_POST,
    ),
    SettingsCase(
        "config_api_root_wrong",
        "pipeline.toml",
        7,
        "is not a WordPress REST API root",
        "set api_root to the site's wp/v2 root",
        why=_NO_POST,
    ),
    SettingsCase(
        "credentials_invalid_toml",
        "credentials.toml",
        2,
        "invalid TOML",
        "correct the TOML syntax",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_duplicate_key",
        "credentials.toml",
        4,
        "a key is written twice",
        "keep one of them",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_unknown_section",
        "credentials.toml",
        1,
        "wordpres: unknown key",
        "wordpress, x",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_unknown_key",
        "credentials.toml",
        3,
        "wordpress.password: unknown key",
        "app_password",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_not_a_string",
        "credentials.toml",
        4,
        "wordpress.token: must be a string",
        'token = "..."',
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_not_utf8",
        "credentials.toml",
        4,
        "not UTF-8 text (byte 0xfc)",
        "save the file as UTF-8",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_x_not_a_table",
        "credentials.toml",
        1,
        "x: must be a table",
        "[x]",
        why=_NO_CREDENTIALS,
    ),
    SettingsCase(
        "credentials_empty",
        "credentials.toml",
        None,
        "no WordPress credentials",
        "user and app_password",
        why="nothing is written in it: there is no line to name",
    ),
    SettingsCase(
        "schedule_year_9999",
        "pipeline.toml",
        17,
        "9999-12-31 23:00 is out of range",
        "2026-12-01 09:00",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_datetime_9999",
        "pipeline.toml",
        17,
        "9999-12-31 23:00 is out of range",
        "2026-12-01 09:00",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_not_a_date",
        "pipeline.toml",
        17,
        "'next tuesday' is not a valid date",
        "2026-12-01 09:00",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_missing_at",
        "pipeline.toml",
        15,
        "[[schedule]] needs post and at",
        "post = ",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_unknown_post",
        "pipeline.toml",
        15,
        "schedule: no post 'no-such-post'",
        "a slug or a path",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_dst_gap",
        "pipeline.toml",
        17,
        "2026-03-08 02:30 does not exist in America/New_York",
        "2026-12-01 09:00",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "schedule_unknown_key",
        "pipeline.toml",
        17,
        "schedule: unknown key 'when'",
        "remove it",
        publish_exit=0,
        goes_out=True,
        kind="skipped",
        why=_SOFT,
    ),
    SettingsCase(
        "credentials_wrong_password",
        "credentials.toml",
        3,
        "did not accept the login of user",
        "put it in app_password in",
        why="refused credentials (exit 2, as bad input); the fix names the file and line",
    ),
    SettingsCase(
        "credentials_wrong_password_in_env",
        "PIPELINE_WORDPRESS_APP_PASSWORD",
        None,
        "did not accept the login of user",
        "put it in the environment variable PIPELINE_WORDPRESS_APP_PASSWORD",
        why="the password comes from the environment: the fix names the variable, no file",
        env_password="wrong password from the environment",
    ),
    SettingsCase(
        "credentials_readable_by_others",
        "credentials.toml",
        1,
        "readable by other users (mode 644)",
        "chmod 600",
        publish_exit=0,
        once_exit=0,
        goes_out=True,
        kind="warning",
        why="a warning: the file works, but other users can read the passwords",
        credentials_mode=0o644,
    ),
)
