"""Reading posts from disk: front matter + Markdown into :mod:`pipeline.core.posts` models.

Every problem becomes a ``PostError`` naming the file and line, and one bad post never stops the
others from loading.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from pipeline.core.memo import MEMO, digest
from pipeline.core.posts import (
    CHANNELS,
    KNOWN_KEYS,
    MAX_POST_BYTES,
    POST_SCHEME,
    STATUSES,
    Image,
    Link,
    LoadResult,
    Post,
    check_set,
    is_local,
    slugify,
)
from pipeline.errors import PostError, shown
from pipeline.timeutil import BadTime, to_utc

if TYPE_CHECKING:
    import yaml
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@functools.cache
def _yaml_loader() -> Callable[[str], Any]:
    """SafeLoader that keeps dates as text, so that bad dates get our error, with a line. Made
    on first use: a post remembered from an earlier command needs no YAML parser."""
    import yaml

    try:  # libyaml's parser when PyYAML has it: some 20 times faster than the pure-Python one
        from yaml import CSafeLoader as SafeLoader
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        from yaml import SafeLoader  # type: ignore[assignment]

    class Loader(SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def load_posts(
    posts_dir: Path,
    tz: ZoneInfo,
    pinned_slugs: Mapping[str, str] | None = None,
    *,
    bodies: bool = True,
) -> LoadResult:
    """Load every ``*.md`` under ``posts_dir``, then check what only the whole set can show.

    ``pinned_slugs`` maps a post's path (relative to ``posts_dir``) to the slug it was published
    under, so that a retitled post keeps its slug.

    ``bodies=False`` is a listing (``status``): the front matter only. Its posts have an empty
    ``body`` and no images or ``post:`` links (none are found or checked); the featured image is
    looked up as always. A file whose stamp (size, times, inode) is what it was when the memo
    last read it, longer than ``RACY_NS`` after its last change, is not read again: its
    ``source_hash`` is the one remembered then. Anything that needs a post's text (``check``,
    rendering, publishing) loads with bodies, which reads every file.
    """
    _real.cache_clear()  # folders are resolved once per load: a link changed since is seen
    posts: list[Post] = []
    errors: list[PostError] = []
    warnings: list[str] = []
    broken_slugs: set[str] = set()
    pins = pinned_slugs or {}
    place = _place(posts_dir, tz)
    listed = _post_files(posts_dir)
    for relative, path in listed:
        pinned = pins.get(relative)
        try:
            post, post_warnings = _load_post(path, place, posts_dir, tz, pinned, bodies)
        except PostError as exc:
            errors.append(exc)
            broken_slugs.add(pinned or _slug_hint(path))
            continue
        posts.append(post)
        warnings += post_warnings
    good, set_errors = check_set(posts, broken_slugs)
    _forget_others({str(path) for _, path in listed})
    return LoadResult(tuple(good), tuple(errors + set_errors), tuple(warnings))


def _forget_others(names: set[str]) -> None:
    """The memo keeps only what it holds of the post files now in the folder, as each was last
    read: a catalogue edited for years, its posts renamed and removed, stays the size it is."""
    MEMO.keep(READ_FILES, names)
    MEMO.keep(LOADED, {read[4] for read in MEMO.space(READ_FILES).values()})


# Keys of static-site generators (Jekyll, Hugo, Pelican), read as ours.
ALIASES: Mapping[str, str] = {
    "date": "publish_at",
    "summary": "excerpt",
    "description": "excerpt",
    "image": "featured_image",
    "cover": "featured_image",
    "draft": "status",
}
# Jekyll's posts are named YYYY-MM-DD-slug.md: the name gives the date and the slug. The
# patterns of this module are compiled when first used (by re's cache), not at import: a post
# remembered from an earlier command uses none of them.
_JEKYLL_NAME = r"(?P<date>\d{4}-\d{2}-\d{2})-(?P<slug>.+)"


_JEKYLL_OFFSET = r"(\d)\s+([+-]\d{2}):?(\d{2})$"


def _jekyll_name(path: Path) -> re.Match[str] | None:
    return re.fullmatch(_JEKYLL_NAME, path.stem)


def _file_slug(path: Path) -> str:
    jekyll = _jekyll_name(path)
    return slugify(jekyll["slug"] if jekyll else path.stem)


def _resolve_aliases(
    meta: dict[str, Any], lines: dict[str, int], path: Path
) -> tuple[dict[str, Any], dict[str, int], dict[str, str]]:
    """Aliased keys under our names; also which name the writer used for each (for errors)."""
    meta, lines = dict(meta), dict(lines)
    written: dict[str, str] = {}
    for alias, key in ALIASES.items():
        if alias not in meta:
            continue
        if key in meta:
            other = written.get(key, key)
            raise PostError(
                f"both {other!r} and {alias!r} are set; {alias!r} means {key!r} here",
                path=path,
                line=lines.get(alias, 1),
                fix=f"keep one of {other} and {alias}",
            )
        value = meta.pop(alias)
        if alias == "draft":
            value = _draft_status(value, path, lines.get(alias, 1))
        meta[key], lines[key], written[key] = value, lines.pop(alias, 1), alias
    jekyll = _jekyll_name(path)
    if jekyll and "publish_at" not in meta:
        meta["publish_at"], lines["publish_at"], written["publish_at"] = jekyll["date"], 1, "date"
    return meta, lines, written


def _draft_status(value: object, path: Path, line: int) -> str:
    if not isinstance(value, bool):
        raise PostError(
            f"draft: {value!r} is not true or false",
            path=path,
            line=line,
            fix="write draft: true or draft: false (or status: draft | ready)",
        )
    return "draft" if value else "ready"


def _slug_hint(path: Path) -> str:
    """The slug a post that failed to load most likely has, so links to it are not dangling."""
    try:
        meta, _, _, _, _ = _split(_decode(_read(path)[0], path), path)
    except PostError:
        return _file_slug(path)
    slug, title = meta.get("slug"), meta.get("title")
    if isinstance(slug, str) and slug:
        return slug
    if _jekyll_name(path):
        return _file_slug(path)
    return slugify(title if isinstance(title, str) else "") or _file_slug(path)


def post_files(posts_dir: Path) -> list[Path]:
    """``sorted(posts_dir.rglob("*.md"))``: every name ending in .md in the folder and each folder
    below it (links to folders are not followed, unreadable folders are passed over), sorted as
    paths sort, part by part. By os.scandir: pathlib's generators and Path objects for every
    entry cost more than reading the posts when there are thousands."""
    return [path for _, path in _post_files(posts_dir)]


def _post_files(posts_dir: Path) -> list[tuple[str, Path]]:
    """:func:`post_files`, each with its path relative to ``posts_dir`` as
    :func:`relative_posix` gives it (from the names found: no path is taken apart again)."""
    found: list[tuple[tuple[str, ...], Path]] = []
    folders: list[tuple[tuple[str, ...], Path]] = [((), posts_dir)]
    while folders:
        parts, folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
            # The Paths as iterdir makes them: it joins each name to the folder's parts where
            # folder / name parses it again (a third of the time, for thousands of posts).
            children = {path.name: path for path in folder.iterdir()}
        except PermissionError:
            continue
        for entry in listed:
            name = entry.name
            if name.endswith(".md"):
                found.append(((*parts, name), children.get(name) or folder / name))
            try:
                below = entry.is_dir(follow_symlinks=False)
            except OSError as exc:  # as pathlib: gone or not a folder after all, else raised
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
                    raise
                below = False
            if below:
                folders.append(((*parts, name), children.get(name) or folder / name))
    found.sort(key=lambda item: item[0])  # part by part, as paths sort
    return [("/".join(parts), path) for parts, path in found]


def relative_posix(path: Path, folder: Path) -> str:
    """``path.relative_to(folder).as_posix()``, by the text where it can (a listing asks it of
    every post; pathlib's parsing would cost more than loading the post)."""
    inside, prefix = str(path), str(folder) + os.sep
    if os.sep == "/" and inside.startswith(prefix) and prefix != "//":
        return inside[len(prefix) :]
    return path.relative_to(folder).as_posix()


LOADED = "loaded"  # the memo's namespace: a post's front matter read and checked, by its file
# The memo's namespace of post files as last read, by path: [stamp, read_at, source_hash, place,
# key] (the stamp as image_problem's; the LOADED key of the file's content in that place). A
# listing goes by it to the LOADED entry of an unchanged file without reading or hashing it.
READ_FILES = "post-files"


def load_post(
    path: Path,
    posts_dir: Path,
    tz: ZoneInfo,
    pinned_slug: str | None = None,
    *,
    bodies: bool = True,
) -> tuple[Post, list[str]]:
    """One post (see :func:`load_posts` for ``bodies=False``), and its warnings."""
    return _load_post(path, _place(posts_dir, tz), posts_dir, tz, pinned_slug, bodies)


def _place(posts_dir: Path, tz: ZoneInfo) -> str:
    """What besides its bytes and path a post's front matter depends on: the posts folder
    (images must be inside it) and the timezone naive times are read in."""
    return digest(str(posts_dir), str(tz))


def _load_post(
    path: Path, place: str, posts_dir: Path, tz: ZoneInfo, pinned_slug: str | None, bodies: bool
) -> tuple[Post, list[str]]:
    name = str(path)
    unchanged = None if bodies else _unchanged(name, place)  # a listing trusts a file's stamp
    if unchanged is not None and (known := MEMO.get(LOADED, unchanged[4])) is not None:
        # not read again: no text, no hashing
        return _remembered(known, "", path, posts_dir, pinned_slug, unchanged[2], bodies=False)
    raw, stamp, read_at = _read(path)
    text = _decode(raw, path)
    source_hash = hashlib.sha256(raw).hexdigest()
    # The images are looked up on disk each time (they may be gone), not remembered.
    key = digest(source_hash, name, place)
    known = MEMO.get(LOADED, key)
    if known is not None:
        post, warnings = _remembered(
            known, text, path, posts_dir, pinned_slug, source_hash, bodies=bodies
        )
    else:
        post, warnings, plain = _parse_post(
            text, path, posts_dir, tz, pinned_slug, source_hash, bodies
        )
        MEMO.put(LOADED, key, plain)
    _note_read(name, [stamp, read_at, source_hash, place, key])
    return post, warnings


def _stamp(info: os.stat_result) -> list[int]:
    """What changes when a file is written, renamed over or replaced (the change time moves
    even when the size and modification time are put back)."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


def _trusted(known: Any, stamp: list[int]) -> bool:
    """Whether a memo entry ``[stamp, read_at, ...]`` still describes the file of ``stamp``:
    the same stamp, and the file's last change long enough before it was read that another
    change within the same tick of the file clock would have been after the read (RACY_NS)."""
    return known is not None and known[0] == stamp and max(stamp[1], stamp[2]) < known[1] - RACY_NS


def _unchanged(name: str, place: str) -> list[Any] | None:
    """The READ_FILES entry of the post file ``name`` read in ``place``, if it is still that
    file unchanged."""
    try:
        stamp = _stamp(os.stat(name))
    except OSError:
        return None  # reading it gives the error
    known: list[Any] | None = MEMO.get(READ_FILES, name)
    return known if known is not None and known[3] == place and _trusted(known, stamp) else None


def _note_read(name: str, read: list[Any]) -> None:
    """Remember how the file was when read, unless what is remembered already holds (a listing
    that reads nothing new writes nothing)."""
    known = MEMO.get(READ_FILES, name)
    if not (_trusted(known, read[0]) and known[2:] == read[2:]):
        MEMO.put(READ_FILES, name, read)


def _parse_post(
    text: str,
    path: Path,
    posts_dir: Path,
    tz: ZoneInfo,
    pinned_slug: str | None,
    source_hash: str,
    bodies: bool,
) -> tuple[Post, list[str], list[Any]]:
    """The post, its warnings, and what of it the text alone decides, as plain data."""
    meta, key_lines, start, end, body_line = _split(text, path)
    body = text[start:end]
    warnings = [
        f"{path}:{key_lines.get(key, 1)}: unknown front-matter key {shown(key)} is ignored "
        f"(fix: remove it, or use one of: {', '.join(sorted(KNOWN_KEYS))})"
        for key in meta
        if key not in KNOWN_KEYS and key not in ALIASES
    ]
    meta, key_lines, written = _resolve_aliases(meta, key_lines, path)
    fields = _Fields(path, posts_dir, meta, key_lines, written)
    title = fields.title()
    images, links = scan_body(body, body_line, path, posts_dir) if bodies else ((), ())
    post = Post(
        path=path,
        title=title,
        # A derived slug is fixed once published; a slug written out is the writer's choice.
        slug=fields.slug(title) if "slug" in meta else (pinned_slug or fields.slug(title)),
        body=body if bodies else "",
        body_line=body_line,
        source_hash=source_hash,
        series=fields.optional_text("series"),
        part=fields.part(),
        status=fields.status(),
        publish_at=fields.when("publish_at", tz),
        categories=fields.names("categories"),
        tags=fields.names("tags"),
        excerpt=fields.optional_text("excerpt"),
        featured_image=fields.image("featured_image"),
        announce=fields.announce(),
        images=images,
        links=links,
        key_lines=key_lines,
    )
    if post.part is not None and post.series is None:
        raise PostError(
            "'part' without 'series'",
            path=path,
            line=post.line_of("part"),
            fix="add series: NAME, or remove part",
        )
    featured = post.featured_image
    # In the order _remembered unpacks it: a list, not a mapping, reads back from the state
    # folder in half the time (a listing reads back every post's).
    remembered = [
        post.title,
        post.slug if "slug" in meta else None,
        fields.slug(title),  # the derived slug, for when another one is pinned
        [start, end, body_line],
        post.series,
        post.part,
        post.status,
        post.publish_at.isoformat() if post.publish_at else None,
        list(post.categories),
        list(post.tags),
        post.excerpt,
        [featured.src, featured.line] if featured else None,
        post.announce,
        dict(post.key_lines),
        list(warnings),
    ]
    return post, warnings, remembered


def _remembered(
    known: list[Any],
    text: str,
    path: Path,
    posts_dir: Path,
    pinned_slug: str | None,
    source_hash: str,
    *,
    bodies: bool,
) -> tuple[Post, list[str]]:
    """The post again from what :func:`_parse_post` remembered of the same file; its images
    are looked up on disk as on the first reading (body images first, then the featured one)."""
    title, slug, derived_slug, (start, end, body_line), series, part, status = known[:7]
    publish_at, categories, tags, excerpt, featured, announce, key_lines, warnings = known[7:]
    body = text[start:end] if bodies else ""
    images, links = scan_body(body, body_line, path, posts_dir) if bodies else ((), ())
    image = resolve_image(featured[0], path, posts_dir, featured[1]) if featured else None
    post = Post(
        path=path,
        title=title,
        slug=slug or pinned_slug or derived_slug,
        body=body,
        body_line=body_line,
        source_hash=source_hash,
        series=series,
        part=part,
        status=status,
        publish_at=datetime.fromisoformat(publish_at) if publish_at else None,
        categories=tuple(categories),
        tags=tuple(tags),
        excerpt=excerpt,
        featured_image=image,
        announce=dict(announce) if isinstance(announce, dict) else announce,  # the memo's own
        images=images,
        links=links,
        key_lines=dict(key_lines),
    )
    return post, list(warnings)


def _read(path: Path) -> tuple[bytes, list[int], int]:
    """The file's bytes, its stamp, and when it was read (after the stamp was taken: a change
    while reading shows as a new stamp)."""
    try:
        # os.open and os.read: half the time of Path.stat() then Path.read_bytes() (a listing
        # reads every post), and the size is the open file's own.
        handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            info = os.fstat(handle)
            stamp, read_at, size = _stamp(info), time.time_ns(), info.st_size
            if size > MAX_POST_BYTES:
                raise PostError(
                    f"file is {size // 1024} KiB, over the {MAX_POST_BYTES // 1024} KiB limit "
                    "for a post",
                    path=path,
                    line=1,
                    fix="is this really a post? move big files elsewhere",
                )
            # A read short of size + 1 bytes ends at the end of the file (no second read is
            # needed to be told so); a full one means it grew since fstat: read on to its end.
            chunks = [os.read(handle, size + 1)]
            if len(chunks[0]) > size:
                while chunk := os.read(handle, 4096):
                    chunks.append(chunk)
        finally:
            os.close(handle)
        raw = b"".join(chunks)
    except OSError as exc:
        raise PostError(
            f"cannot read: {exc.strerror}", path=path, line=1, fix="check the file's permissions"
        ) from exc
    if not raw.strip():
        raise PostError(
            "the file is empty",
            path=path,
            line=1,
            fix="add front matter with a title, then the text",
        )
    return raw, stamp, read_at


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PostError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            path=path,
            line=line,
            fix="save the file as UTF-8",
        ) from exc


def _split(text: str, path: Path) -> tuple[dict[str, Any], dict[str, int], int, int, int]:
    """The front matter, its keys' lines, and where the body is: ``text[start:end]`` (blank
    lines around it left out), and the line it starts on."""
    from frontmatter.default_handlers import YAMLHandler

    handler = YAMLHandler()
    if not handler.detect(text) or not text.startswith("---"):
        raise PostError(
            "no front matter",
            path=path,
            line=1,
            fix="start the file with ---, a line title: ..., and another ---",
        )
    try:
        fm, body = handler.split(text)
    except ValueError as exc:
        raise PostError(
            "front matter is not closed",
            path=path,
            line=1,
            fix="end the front matter with a line ---",
        ) from exc
    opening = handler.FM_BOUNDARY.match(text) if handler.FM_BOUNDARY else None
    assert opening is not None  # detect() matched it
    # The opening boundary may swallow blank lines: count the lines before fm's first character.
    meta, key_lines = _parse_yaml(fm, path, text[: opening.end()].count("\n") + 1)
    prefix = text[: len(text) - len(body)]
    leading = body[: len(body) - len(body.lstrip("\n"))]
    body_line = prefix.count("\n") + leading.count("\n") + 1
    start = len(prefix) + len(leading)
    return meta, key_lines, start, start + len(body.strip("\n")), body_line


PARSED_YAML = "front-matter"  # the memo's namespace: front matter that parsed, by its digest


def _parse_yaml(fm: str, path: Path, offset: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse the front matter ``fm``, whose first character is on line ``offset`` of the file."""
    key = digest(fm)
    known = MEMO.get(PARSED_YAML, key)
    if known is not None:
        data = _thawed(known["data"])
        return data, {name: offset + line for name, line in known["lines"].items()}
    data, lines = _parse_yaml_text(fm, path, offset)
    frozen = _frozen(data)
    if frozen is not _UNSAVABLE:
        relative = {name: line - offset for name, line in lines.items()}
        MEMO.put(PARSED_YAML, key, {"data": frozen, "lines": relative})
    return data, lines


_UNSAVABLE = object()


def _frozen(value: Any) -> Any:
    """A YAML value as JSON data (dates tagged), or ``_UNSAVABLE`` (binary, sets, other tags)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        items = [_frozen(item) for item in value]
        return _UNSAVABLE if any(item is _UNSAVABLE for item in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: _frozen(v) for k, v in value.items()}
        return _UNSAVABLE if any(v is _UNSAVABLE for v in pairs.values()) else {"$map": pairs}
    return _UNSAVABLE


def _thawed(value: Any) -> Any:
    if isinstance(value, list):
        return [_thawed(item) for item in value]
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        return {k: _thawed(v) for k, v in value["$map"].items()}
    return value


def _parse_yaml_text(fm: str, path: Path, offset: int) -> tuple[dict[str, Any], dict[str, int]]:
    import yaml

    loader = _yaml_loader()(fm)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_nodes(node, path, offset)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and mark is not None and not fm[mark.index :].strip():
            mark = exc.context_mark  # at the very end: point at what was left open instead
        line = offset + mark.line if mark else 1
        raise PostError(
            f"invalid YAML in front matter: {exc.problem or exc}",
            path=path,
            line=line,
            fix="correct the YAML syntax on that line",
        ) from exc
    except yaml.YAMLError as exc:
        raise PostError(f"invalid YAML in front matter: {exc}", path=path, line=1) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PostError(
            "front matter is not a mapping of keys to values",
            path=path,
            line=offset + fm[: len(fm) - len(fm.lstrip())].count("\n"),
            fix="write it as lines of key: value",
        )
    assert node is not None  # a mapping was constructed from it
    lines = {str(k.value): offset + k.start_mark.line for k, _ in node.value}
    return {str(k): v for k, v in data.items()}, lines


# Front matter is a few dozen values. An alias may repeat a value (``tags: *common``), but
# aliases of aliases multiply: nine lines can stand for a billion values (an "alias bomb"). The
# document is refused once it would expand past these, before anything is built from it.
MAX_YAML_VALUES = 10_000
MAX_YAML_DEPTH = 20


def _check_nodes(root: yaml.Node, path: Path, offset: int) -> None:
    """Refuse duplicate keys (YAML says keys are unique; PyYAML keeps the last silently), alias
    bombs and deep nesting, each at its line; ``offset`` is the line of the YAML's first line."""
    import yaml

    sizes: dict[int, int] = {}  # id(node) -> values it expands to, for nodes shared by aliases

    def fail(node: yaml.Node, message: str, fix: str) -> PostError:
        return PostError(message, path=path, line=offset + node.start_mark.line, fix=fix)

    def size(node: yaml.Node, depth: int) -> int:
        if id(node) in sizes:
            if sizes[id(node)] < 0:
                raise fail(node, "a YAML alias refers to itself", "remove the alias (*name)")
            return sizes[id(node)]
        if depth > MAX_YAML_DEPTH:
            raise fail(node, f"YAML nested deeper than {MAX_YAML_DEPTH} levels", "flatten it")
        sizes[id(node)] = -1  # in progress: an alias back to it is a cycle
        total = 1
        if isinstance(node, yaml.MappingNode):
            _unique_keys(node, fail, offset)
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_YAML_VALUES:
                raise fail(
                    node,
                    f"the front matter expands to more than {MAX_YAML_VALUES} values "
                    "(aliases of aliases?)",
                    "write the values out; use YAML aliases (*name) sparingly",
                )
        sizes[id(node)] = total
        return total

    size(root, 0)


def _unique_keys(
    node: yaml.MappingNode, fail: Callable[[yaml.Node, str, str], PostError], offset: int
) -> None:
    import yaml

    first: dict[tuple[str, str], yaml.Node] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        earlier = first.setdefault((key.tag, key.value), key)
        if earlier is not key:
            raise fail(
                key,
                f"key {shown(key.value)} is written twice (first on line "
                f"{offset + earlier.start_mark.line}); only one can count",
                "keep one of them and delete the other",
            )


class _Fields:
    """Reads and checks one post's front-matter values, each error pointing at its key's line."""

    def __init__(
        self,
        path: Path,
        posts_dir: Path,
        meta: dict[str, Any],
        lines: dict[str, int],
        written: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.posts_dir = posts_dir
        self.meta = meta
        self.lines = lines
        self.written = written or {}  # our key -> the alias the writer used (date, summary...)

    def error(self, key: str, message: str, fix: str) -> PostError:
        name = self.written.get(key, key)
        fix = fix.replace(f"{key}:", f"{name}:") if name != key else fix
        return PostError(f"{name}: {message}", path=self.path, line=self.lines.get(key, 1), fix=fix)

    def title(self) -> str:
        title = self.meta.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            raise PostError(
                "no title", path=self.path, line=1, fix="add title: ... to the front matter"
            )
        if not isinstance(title, str | int | float):
            raise self.error("title", "must be text", "write title: Your title")
        return str(title).strip()

    def slug(self, title: str) -> str:
        if "slug" not in self.meta:
            if _jekyll_name(self.path):  # the name a Jekyll site published it under
                return _file_slug(self.path) or slugify(title) or "post"
            return slugify(title) or _file_slug(self.path) or "post"
        slug = self.meta["slug"]
        if not isinstance(slug, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
            raise self.error(
                "slug",
                f"{shown(slug)} is not a valid slug",
                "use lower-case letters, digits and single hyphens",
            )
        return slug

    def optional_text(self, key: str) -> str | None:
        value = self.meta.get(key)
        if value is None:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(key, "must be text", f"write {key}: some text")
        return str(value).strip() or None

    def part(self) -> int | None:
        value = self.meta.get("part")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.error(
                "part", f"{shown(value)} is not a part number", "write part: 1, 2, 3 ..."
            )
        return value

    def status(self) -> str:
        value = self.meta.get("status", "ready")
        if value not in STATUSES:
            raise self.error("status", f"{shown(value)} is not a status", "use draft or ready")
        return str(value)

    def when(self, key: str, tz: ZoneInfo) -> datetime | None:
        value = self.meta.get(key)
        if value is None:
            return None
        if isinstance(value, str):  # Jekyll writes "2016-05-10 14:30:00 +0100"
            value = re.sub(_JEKYLL_OFFSET, r"\1\2:\3", value.strip())
        try:
            return to_utc(value, tz)
        except BadTime as exc:
            raise self.error(
                key, str(exc), 'write it like "2026-12-01 09:00" or "2026-12-01T09:00:00-05:00"'
            ) from exc

    def names(self, key: str) -> tuple[str, ...]:
        value = self.meta.get(key)
        if value is None:
            return ()
        # "a, b" is two names, as static-site generators write them.
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str | int) for v in items):
            raise self.error(key, "must be a list of names", f"write {key}: [one, two]")
        names = [str(v).strip() for v in items if str(v).strip()]
        return tuple(dict.fromkeys(names))

    def image(self, key: str) -> Image | None:
        value = self.meta.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, "must be a path", f"write {key}: images/picture.jpg")
        return resolve_image(value, self.path, self.posts_dir, self.lines.get(key, 1))

    def announce(self) -> str | bool | Mapping[str, str | bool]:
        value = self.meta.get("announce", True)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict) and value:
            return self._announce_table(value)
        raise self.error(
            "announce",
            "must be a template or false, or a table by channel",
            'write announce: "New: {title} {url}", announce: false, or '
            'announce: {x: false, bluesky: "New: {title} {url}"}',
        )

    def _announce_table(self, value: dict[Any, Any]) -> dict[str, str | bool]:
        table: dict[str, str | bool] = {}
        for channel, choice in value.items():
            if channel not in CHANNELS:
                raise self.error(
                    "announce",
                    f"unknown channel {shown(channel)}",
                    f"use {', '.join(CHANNELS)}",
                )
            if not (isinstance(choice, bool) or (isinstance(choice, str) and choice.strip())):
                raise self.error(
                    "announce",
                    f"announce.{channel} must be a template or true/false",
                    f'write {channel}: "New: {{title}} {{url}}" or {channel}: false',
                )
            table[str(channel)] = choice
        return table


@functools.lru_cache(maxsize=256)
def _real(folder: str) -> str:
    """A folder with its links resolved: asked for every image, it rarely changes (forgotten at
    the start of each :func:`load_posts`)."""
    return str(Path(folder).resolve())


def _resolved(folder: str, relative: str) -> str:
    """``(folder / relative).resolve()``, with the folder's own resolution shared by its posts:
    only the parts of ``relative`` are looked at on disk (one lstat each, where resolving the
    whole path would look at every folder from the root). As text: pathlib's parsing costs more
    than the lookups when every post has images."""
    parts = relative.split("/")
    if os.path.isabs(relative) or any(part in ("", ".", "..") for part in parts):
        return str((Path(folder) / relative).resolve())
    path = _real(folder)
    for part in parts:
        path = f"{path}/{part}"
        if os.path.islink(path):
            return str((Path(folder) / relative).resolve())
    return path


def _inside(path: str, folder: str) -> bool:
    """``Path(path).is_relative_to(folder)`` for two resolved paths."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_image(
    src: str, post_path: Path, posts_dir: Path, line: int, *, alt: str = "", caption: str = ""
) -> Image:
    """A local image path, relative to the post; it must exist and stay inside the posts folder."""
    folder = os.path.dirname(post_path)  # the post's own text: no new Path to parse
    target = _resolved(folder, unquote(src))  # Markdown URL-encodes "a b.png"
    root = _real(str(posts_dir))
    if not _inside(target, root):
        raise PostError(
            f"image {shown(src)} points outside the posts folder",
            path=post_path,
            line=line,
            fix=f"put the image under {root} and link it relatively",
        )
    try:
        info: os.stat_result | None = os.stat(target)
    except OSError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise PostError(
            f"image {shown(src)} is a folder, not an image",
            path=post_path,
            line=line,
            fix="link the image file inside it",
        )
    if info is None or not stat.S_ISREG(info.st_mode):
        raise PostError(
            f"image {shown(src)} does not exist",
            path=post_path,
            line=line,
            fix="check the path; it is relative to the post's folder",
        )
    path = Path(target)
    problem = image_problem(path, info)
    if problem is not None:
        what, fix = problem
        raise PostError(f"image {shown(src)} {what}", path=post_path, line=line, fix=fix)
    return Image(src=src, path=path, line=line, alt=alt, caption=caption)


# What WordPress takes as an image upload by default (wp_get_mime_types()), as Pillow names the
# formats; MPO is the JPEG many phone cameras write.
IMAGE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF", "ICO"})
_IMAGE_FIX = "save it again as a PNG, JPEG, GIF or WebP image (or point at the right file)"
CHECKED_IMAGES = "images"  # the memo's namespace: what reading each image found, by its file
# A file changed this close before it was read may change again with the same size and times:
# file times move in clock ticks (and FAT's in 2 s), so such a reading is not trusted (as git's
# index treats a file modified in the second it was written: "racily clean"), of an image's
# check nor of a post file in a listing.
RACY_NS = 2_000_000_000


def image_problem(path: Path, info: os.stat_result | None = None) -> tuple[str, str] | None:
    """Why the file at ``path`` cannot go to WordPress as an image, as (what, fix); None if it
    can. The content is read, not the name: a text file saved as .png is not an image, and
    WordPress would refuse it half-way through a publish. Remembered (also by the next
    command) while the file's size, times and inode stay as they were when it was read."""
    try:
        info = info or path.stat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror}", "check the file and its permissions"
    if info.st_size == 0:
        return "is an empty file", _IMAGE_FIX
    stamp = _stamp(info)
    known = MEMO.get(CHECKED_IMAGES, str(path))
    if _trusted(known, stamp):
        return (known[2][0], known[2][1]) if known[2] else None
    read_at = time.time_ns()  # after the stat: a change while reading shows as a new stamp
    problem = _verify_image(path)
    MEMO.put(CHECKED_IMAGES, str(path), [stamp, read_at, list(problem) if problem else None])
    return problem


def _verify_image(path: Path) -> tuple[str, str] | None:
    import warnings

    from PIL import Image as Pillow
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # A very large picture is still a picture; WordPress makes its own smaller sizes.
            warnings.simplefilter("ignore", Pillow.DecompressionBombWarning)
            with Pillow.open(path) as picture:
                kind = picture.format or "unknown"
                picture.verify()
    except Pillow.DecompressionBombError:
        return None
    except UnidentifiedImageError:
        return "is not an image: its content is no PNG, JPEG, GIF, WebP or other image", _IMAGE_FIX
    except OSError as exc:
        if exc.strerror:  # could not read the file
            return f"cannot be read: {exc.strerror}", "check the file and its permissions"
        return f"is a damaged image ({exc})", _IMAGE_FIX
    except (ValueError, SyntaxError) as exc:  # Pillow's plugins raise these for broken files
        return f"is a damaged image ({exc})", _IMAGE_FIX
    if kind not in IMAGE_FORMATS:
        return f"is a {kind} image, which WordPress does not take", _IMAGE_FIX
    return None


# Only the block structure is parsed for all of the body; the inline content (the slow part) only
# of the blocks that may hold an image or a post: link: "![", or "post:" as written (the scheme
# is matched as written, so "POST:" is none), or an entity or escape (which can spell "post:").
# A block that merely says "post" (as most blog posts do) is not parsed.
@functools.cache
def _scanner() -> MarkdownIt:
    """Made on first use: a listing (``bodies=False``) or a remembered body needs no parser."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable("inline")


_MAY_LINK = r"!\[|post:|&#?\w+;|\\"


SCANNED = "scanned"  # the memo's namespace: a body's images and post: links, by its digest


def scan_body(
    body: str, body_line: int, path: Path, posts_dir: Path
) -> tuple[tuple[Image, ...], tuple[Link, ...]]:
    """The local images and ``post:`` links of a body, each with its line in the file."""
    found: list[list[Any]] = MEMO.remembered(SCANNED, digest(body), lambda: _scan(body))
    images: list[Image] = []
    links: list[Link] = []
    for kind, target, line, alt, caption in found:
        if kind == "image":
            images.append(
                resolve_image(target, path, posts_dir, body_line + line, alt=alt, caption=caption)
            )
        else:
            links.append(Link(slug=target, line=body_line + line))
    return tuple(images), tuple(links)


def _scan(body: str) -> list[list[Any]]:
    """What :func:`scan_body` finds, as plain data: ``[kind, target, line, alt, caption]``, the
    line counted from the body's first."""
    found: list[list[Any]] = []
    env: dict[str, Any] = {}
    scanner = _scanner()
    tokens = scanner.parse(body, env)
    everywhere = bool(env.get("references"))  # [text][ref] may point at a post: link
    for token in tokens:
        if token.type == "inline" and (everywhere or re.search(_MAY_LINK, token.content)):
            token.children = []
            scanner.inline.parse(token.content, scanner, env, token.children)
    for token, line in _inline_children(tokens, 0):
        if token.type == "image":
            src = str(token.attrGet("src") or "")
            if is_local(src):
                alt = "".join(c.content for c in token.children or [])
                found.append(["image", src, line, alt, str(token.attrGet("title") or "")])
        elif token.type == "link_open":
            href = str(token.attrGet("href") or "")
            if href.startswith(POST_SCHEME):
                found.append(["link", href[len(POST_SCHEME) :].strip("/"), line, "", ""])
    return found


def _inline_children(tokens: Iterable[Token], body_line: int) -> Iterable[tuple[Token, int]]:
    for token in tokens:
        if token.type == "inline" and token.children:
            line = body_line + (token.map[0] if token.map else 0)
            for child in token.children:
                yield child, line + _newlines_before(token.children, child)


def _newlines_before(children: list[Token], child: Token) -> int:
    count = 0
    for other in children:
        if other is child:
            return count
        if other.type in ("softbreak", "hardbreak"):
            count += 1
    return count
