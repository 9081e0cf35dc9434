"""The one redactor: every encoding of every secret masked, before any cut, in every sink; and
ordinary text left alone where a short secret happens to match it."""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from pipeline.cli.app import MaskedStream
from pipeline.config import Secret, WordPressCredentials, WordPressSettings, load_credentials
from pipeline.errors import WordPressError
from pipeline.redact import MASK, Redactor
from pipeline.redactlog import RedactingFilter, RedactingFormatter
from pipeline.store import Store
from pipeline.wordpress import PostFields, WordPressClient, make_http_client

USER = "editor"
PASSWORD = "Zq8w x7Ke Lm/2 p+Vt 9sQa R3dF"  # an application password, with / and + in it
KEY = "ck-9TqL2vXw7RmKp3NsYb8Hd"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([KEY], pairs=[(USER, PASSWORD)])


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "without spaces": lambda s: "".join(s.split()),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 unpadded": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "urlsafe base64": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "quote": lambda s: quote(s, safe=""),
    "quote with /": quote,
    "quote_plus": quote_plus,
    "lower-case hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s, safe="")),
    "twice encoded": lambda s: quote(quote(s, safe=""), safe=""),
    "JSON": lambda s: json.dumps(s)[1:-1],
    "PHP JSON": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "HTML": html.escape,
}


@pytest.mark.parametrize("secret", [PASSWORD, KEY])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_of_a_secret_is_masked(
    redactor: Redactor, secret: str, encoding: str
) -> None:
    encoded = ENCODINGS[encoding](secret)
    text = f'before "{encoded}" after'
    masked = redactor(text)
    assert encoded not in masked
    assert masked.startswith('before "')
    assert masked.endswith('" after')


@pytest.mark.parametrize("header", ["Authorization: Basic {}", '"HTTP_AUTHORIZATION":"Basic {}"'])
def test_the_basic_auth_header_is_masked_however_it_is_echoed(
    redactor: Redactor, header: str
) -> None:
    value = basic(USER, PASSWORD)
    for form in (value, value.replace("/", "\\/"), html.escape(value)):
        assert form not in redactor(header.format(form))
    assert redactor(header.format(value)) == header.format(MASK)


@pytest.mark.parametrize("before", [b"", b"x", b"xy", b"xyz", b"Authorization: "])
def test_a_secret_inside_longer_base64_is_masked_at_any_alignment(
    redactor: Redactor, before: bytes
) -> None:
    blob = base64.b64encode(before + KEY.encode() + b" and more").decode()
    masked = redactor(blob)
    assert MASK in masked
    # What is left around the mask is at most the characters shared with the neighbours.
    assert len(masked.replace(MASK, "")) <= len(blob) - 4 * len(KEY) // 3 + 6


def test_oauth_header_parameters_are_masked(redactor: Redactor) -> None:
    header = f'OAuth oauth_consumer_key="{quote(KEY, safe="~")}", oauth_nonce="abc"'
    assert redactor(header) == f'OAuth oauth_consumer_key="{MASK}", oauth_nonce="abc"'


def test_a_short_secret_is_never_masked_and_check_warns_about_it(tmp_path: Path) -> None:
    short = Redactor(["post"])  # an ordinary word: masking it would garble every message
    text = "publish post: done"
    assert short(text) == text
    assert short.too_short == {"post"}
    path = tmp_path / "credentials.toml"
    path.write_text('[wordpress]\nuser = "editor"\napp_password = "post"\n')
    path.chmod(0o600)
    (warning,) = load_credentials(path, env={}).warnings
    assert f"app_password in {path} (line 3): only 4 characters" in warning
    assert "post" not in warning.replace("password", "")


def test_a_secret_of_8_to_11_characters_is_masked_as_a_whole_token_only() -> None:
    mid = Redactor(["hunter22"])
    assert mid("login hunter22 refused") == f"login {MASK} refused"
    assert mid("user%3Ahunter22") == f"user%3A{MASK}"  # an escape before it is a separator
    assert mid('"a\\nhunter22"') == f'"a\\n{MASK}"'
    assert mid("xhunter22y and hunter222") == "xhunter22y and hunter222"  # other tokens


def test_a_long_secret_is_masked_even_inside_a_word(redactor: Redactor) -> None:
    assert redactor(f"x{KEY}y") == f"x{MASK}y"


def test_masking_happens_before_the_cut(redactor: Redactor) -> None:
    value = basic(USER, PASSWORD)
    text = "x" * 190 + f"Basic {value} trailing"
    cut = redactor.cut(text, 200)
    assert len(cut) <= 200
    for size in range(4, len(value)):
        assert value[:size] not in cut  # not even the first half of it


def test_json_masks_values_keys_and_escapes(redactor: Redactor) -> None:
    value = {"error": f"login {PASSWORD} refused", KEY: [f"a\n{KEY}"], "n": 1}
    text = redactor.json(value)
    assert json.loads(text) == {"error": f"login {MASK} refused", MASK: [f"a\n{MASK}"], "n": 1}
    clean = {"error": "nothing to see", "n": 2}
    assert redactor.json(clean) == json.dumps(clean, ensure_ascii=False)


def test_json_lines_and_redact_all_are_each_item_masked(redactor: Redactor) -> None:
    """Looked at once for a whole listing: where nothing is to be masked the items are as they
    are; where one item holds a secret, each item is what masking it alone gives."""
    from pipeline.cli.app import Context

    values = [{"n": 1, "t": "clean"}, {"error": f"login {PASSWORD} refused", KEY: [KEY]}]
    assert redactor.json_lines(values) == [redactor.json(value) for value in values]
    assert redactor.json_lines(values[:1]) == [json.dumps(values[0], ensure_ascii=False)]
    obj = Context(None)
    obj.use(redactor)
    cells = ["post-1", f"{KEY}x", "x" + KEY[:6], "", basic(USER, PASSWORD), "a\nb"]
    assert obj.redact_all(cells) == [obj.redact(cell) for cell in cells]
    assert obj.redact_all(cells[:1] + cells[2:4]) == cells[:1] + cells[2:4]


EVERY_CHARACTER = "".join(map(chr, [*range(0xD800), *range(0xE000, 0x110000)]))


def test_the_forms_are_what_base64_and_html_make() -> None:
    """The redactor makes the base64 and HTML forms without loading base64 or html (the html
    module and its entities cost more to load than all of a redactor's forms to make)."""
    from pipeline.redact import _HTML, _b64

    assert EVERY_CHARACTER.translate(_HTML) == html.escape(EVERY_CHARACTER)
    for size in range(70):
        raw = bytes(range(256))[size : size * 2] + bytes(range(256 - size, 256))
        assert _b64(raw, False) == base64.b64encode(raw).decode()
        assert _b64(raw, True) == base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "value",
    [
        {"text": EVERY_CHARACTER, EVERY_CHARACTER[:3000]: [EVERY_CHARACTER[-3000:]]},
        [0, -1, 2**63 - 1, -(2**63), 2**64, 10**30, True, False, None, "", [], {}, [[{}]]],
        {"a": ("tuple", {"b": {"c": [1, "x, y: z", '"\\"']}}), "": None},
        {"lone surrogate": "\ud800 and \udfff"},  # msgspec refuses; json writes them as they are
    ],
)
def test_json_lines_are_what_json_writes(redactor: Redactor, value: object) -> None:
    """`status --json` lines are written by msgspec, spaced as json spaces them: the same text,
    for every character and value but floats (msgspec writes those its own way)."""
    assert redactor.json_lines([value]) == [json.dumps(value, ensure_ascii=False)]


def test_no_secrets_changes_nothing() -> None:
    assert Redactor()("anything at all") == "anything at all"
    assert not Redactor()


def test_the_store_masks_the_job_log_and_step_errors(tmp_path: Path, redactor: Redactor) -> None:
    path = tmp_path / "state.sqlite3"
    store = Store.open(path, redactor=redactor)
    store.log("p", "publish", "failed", f"HTTP 500 with Basic {basic(USER, PASSWORD)}")
    store.set_step("p", "publish", status="failed", error=f"key {KEY}", detail={"why": KEY})
    store.close()
    conn = sqlite3.connect(path)
    rows = [
        *conn.execute("SELECT details FROM log"),
        *conn.execute("SELECT error, detail FROM steps"),
    ]
    conn.close()
    dumped = json.dumps(rows)
    assert MASK in dumped
    assert KEY not in dumped
    assert basic(USER, PASSWORD) not in dumped


def test_the_output_stream_masks_a_secret_written_in_two_pieces(redactor: Redactor) -> None:
    target = io.StringIO()
    stream = MaskedStream(target, redactor)
    stream.write(f"key: {KEY[:10]}")
    stream.write(f"{KEY[10:]}\nnext line\npartial")
    assert target.getvalue() == f"key: {MASK}\nnext line\n"
    stream.flush()
    assert target.getvalue().endswith("partial")


def test_log_lines_and_tracebacks_are_masked(redactor: Redactor) -> None:
    target = io.StringIO()
    handler = logging.StreamHandler(target)
    handler.setFormatter(RedactingFormatter(redactor, "%(message)s"))
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"refused {KEY}")
        except RuntimeError:
            logger.exception("failed with %s", PASSWORD)
    finally:
        logger.removeHandler(handler)
    assert KEY not in target.getvalue()
    assert PASSWORD not in target.getvalue()
    assert target.getvalue().count(MASK) == 2


def test_a_library_logger_filter_masks_the_record(redactor: Redactor) -> None:
    record = logging.LogRecord("tweepy.client", logging.DEBUG, __file__, 1, "%s", (KEY,), None)
    assert RedactingFilter(redactor).filter(record)
    assert record.getMessage() == MASK


@pytest.mark.parametrize("padding", [120, 150, 168])
def test_an_error_page_echoing_the_headers_is_masked_before_it_is_cut(padding: int) -> None:
    """A proxy or a debugging plugin printing the request's headers: the Authorization header
    lands around character 200 of the page, where the message used to cut it in half."""

    def echo(request: httpx.Request) -> httpx.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items() if k != "authorization")
        page = f"<html>{'x' * padding} authorization: {request.headers['authorization']}\n{headers}"
        return httpx.Response(500, text=page, headers={"Content-Type": "text/html"})

    settings = WordPressSettings(url="https://blog.example.com", api_root="https://b.example/wp/v2")
    creds = WordPressCredentials(user=USER, app_password=Secret(PASSWORD))
    http = make_http_client(settings, creds, transport=httpx.MockTransport(echo))
    with (
        WordPressClient.connect(http, settings, creds) as client,
        pytest.raises(WordPressError) as caught,
    ):
        client.update_post(1, _fields())
    message = str(caught.value)
    value = basic(USER, PASSWORD)
    assert "authorization: Basic *" in message  # the mask itself may be cut: no secret is
    for size in range(6, len(value)):
        assert value[:size] not in message


def _fields() -> PostFields:
    return PostFields(
        title="t", slug="t", content="c", status="publish", date_gmt=None, categories=(), tags=()
    )


@pytest.mark.parametrize("secret", ["a.b-c_d~e.f-g_h~i.j", "x!y@z#w$v%u^t&s*r(q)"])
def test_a_secret_without_long_runs_of_letters_is_masked_too(secret: str) -> None:
    # Such a secret leaves the fast path no piece to look for: the full pattern runs.
    redactor = Redactor([secret])
    for encoding in sorted(ENCODINGS):
        encoded = ENCODINGS[encoding](secret)
        assert encoded not in redactor(f"[{encoded}]"), encoding
