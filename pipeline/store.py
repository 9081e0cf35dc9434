"""The state: what was published where, each step's status, the job log, and locks.

SQLite in WAL mode, in the state folder, with numbered migrations. Every step is recorded before
and after it runs, so a crash at any point leaves a ``running`` row that the next run checks
before acting again.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec.structs import astuple, replace

from pipeline.core.records import STEP_STATUSES, LogEntry, PostRecord, Step
from pipeline.errors import LockedError, PipelineError
from pipeline.redact import Redactor
from pipeline.timeutil import utc_iso

Clock = Callable[[], datetime]
_LIVE = "wp_status = 'publish' AND permalink IS NOT NULL"  # PostRecord.live, in SQL

MIGRATIONS: tuple[str, ...] = (
    # 1: posts, media, steps, the job log
    """
    CREATE TABLE posts (
        slug TEXT PRIMARY KEY,
        source_path TEXT,
        source_hash TEXT,
        wp_id INTEGER,
        permalink TEXT,
        wp_status TEXT,
        title TEXT,
        sent_hash TEXT,
        remote_hash TEXT,
        live_at TEXT,
        tweet_id TEXT,
        tweet_url TEXT,
        conflict TEXT,
        updated_at TEXT
    );
    CREATE TABLE media (
        hash TEXT PRIMARY KEY,
        wp_id INTEGER NOT NULL,
        url TEXT NOT NULL,
        filename TEXT
    );
    CREATE TABLE steps (
        id INTEGER PRIMARY KEY,
        post TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        due_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        error TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL,
        UNIQUE (post, kind, target)
    );
    CREATE INDEX steps_status ON steps (status, next_attempt_at);
    CREATE TABLE log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        post TEXT NOT NULL,
        step TEXT NOT NULL,
        outcome TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER
    );
    CREATE INDEX log_post ON log (post, id);
    CREATE INDEX log_at ON log (at);
    """,
    # 2: locks (one scheduler per state folder, one publisher per post)
    """
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at TEXT NOT NULL
    );
    """,
    # 3: the hash of content about to be sent, so a write cut short by a crash is recognised
    # as ours afterwards instead of as an edit made in WordPress
    """
    ALTER TABLE posts ADD COLUMN sending_hash TEXT;
    """,
    # 4: one announce step per channel (the target names it; X's were the only ones), and when
    # each channel was first used, so that adding one does not announce the back catalogue
    """
    UPDATE steps SET target = 'x' WHERE kind = 'announce' AND target = '';
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('channel_since:x', '1970-01-01T00:00:00Z');
    """,
    # 5: the markup each post was created in (blocks or classic; posts before this are classic),
    # and the end of APScheduler's own job table (the jobs are built from the state)
    """
    ALTER TABLE posts ADD COLUMN format TEXT;
    DROP TABLE IF EXISTS apscheduler_jobs;
    """,
)


class Store:
    def __init__(
        self, conn: sqlite3.Connection, clock: Clock, redactor: Redactor | None = None
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.redactor = redactor  # masks secrets in what is written to the job log and steps
        self._lock = threading.RLock()
        self._depth = 0  # transactions open on this connection (they nest)

    @functools.cached_property
    def owner(self) -> str:
        """Who holds this store's locks: asked only when one is taken (reading needs none)."""
        return f"{_hostname()}:{os.getpid()}:{id(self)}"

    @classmethod
    def open(
        cls, path: Path, clock: Clock | None = None, *, redactor: Redactor | None = None
    ) -> Store:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Shared by the publisher's threads. No statement cache: from Python 3.12 two threads
            # running the same SQL get one cached statement and read each other's rows, or
            # "bad parameter or other API misuse" (python/cpython#118172, still open).
            conn = sqlite3.connect(
                path, timeout=30, check_same_thread=False, isolation_level=None, cached_statements=0
            )
        except (sqlite3.Error, OSError) as exc:
            raise PipelineError(f"cannot open the state file {path}: {exc}") from exc
        # A state file we cannot use is closed at once, not left to the collector (which
        # Python 3.13 reports with a ResourceWarning, an error in the tests).
        try:
            _set_up(conn, path)
            store = cls(conn, clock or (lambda: datetime.now(UTC)), redactor)
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def now(self) -> str:
        return utc_iso(self.clock())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:  # inside another: one commit for both (a step and its log entry)
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise PipelineError(
                f"the state file is from a newer pipeline (schema {version}); upgrade pipeline"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                # Another process may have migrated since we looked: check under the lock.
                if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    # posts

    def post(self, slug: str) -> PostRecord | None:
        row = self.conn.execute("SELECT * FROM posts WHERE slug = ?", (slug,)).fetchone()
        return _post(row) if row else None

    def posts(self) -> dict[str, PostRecord]:
        rows = _plain_rows(self.conn, f"SELECT {_POST_COLUMNS} FROM posts ORDER BY slug")  # noqa: S608
        return {row[0]: PostRecord(*row) for row in rows}

    def live_permalinks(self) -> dict[str, str]:
        """Slug -> permalink of every post live now (``PostRecord.live``, in SQL)."""
        query = f"SELECT slug, permalink FROM posts WHERE {_LIVE} ORDER BY slug"  # noqa: S608
        return {row["slug"]: row["permalink"] for row in self.conn.execute(query).fetchall()}

    def live_permalink(self, slug: str) -> str | None:
        row = self.conn.execute(
            f"SELECT permalink FROM posts WHERE slug = ? AND {_LIVE}",  # noqa: S608
            (slug,),
        ).fetchone()
        return str(row["permalink"]) if row else None

    def live_view(self) -> LiveView:
        """The live permalinks as rendering reads them: one post at a time, each when asked.

        A publish renders every post it writes against the posts live at that moment; a post
        asks only for the few it links to (and its series), so a batch of N posts costs N small
        reads instead of N reads of every live post (which grew as N², a minute for 2,000)."""
        return LiveView(self)

    def save_post(self, record: PostRecord) -> None:
        updates = ", ".join(f"{name} = excluded.{name}" for name in _POST_FIELDS[1:])
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO posts ({_POST_COLUMNS}, updated_at) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(_POST_FIELDS))}, ?) "
                f"ON CONFLICT (slug) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
                [*astuple(record), self.now()],
            )

    def update_post(self, slug: str, **changes: Any) -> PostRecord:
        with self._lock:
            record = replace(self.post(slug) or PostRecord(slug=slug), **changes)
            self.save_post(record)
            return record

    def post_by_path(self, source_path: str) -> PostRecord | None:
        row = self.conn.execute(
            "SELECT * FROM posts WHERE source_path = ? AND wp_id IS NOT NULL", (source_path,)
        ).fetchone()
        return _post(row) if row else None

    def rename_post(self, old: str, new: str) -> None:
        """The writer changed a published post's slug: its record and steps follow it."""
        with self.transaction() as conn:
            conn.execute("UPDATE posts SET slug = ? WHERE slug = ?", (new, old))
            conn.execute("UPDATE steps SET post = ? WHERE post = ?", (new, old))

    def pinned_slugs(self) -> dict[str, str]:
        """Source path -> slug of every post WordPress has, so a retitled post keeps its slug."""
        rows = self.conn.execute(
            "SELECT source_path, slug FROM posts WHERE wp_id IS NOT NULL "
            "AND source_path IS NOT NULL"
        ).fetchall()
        return {row["source_path"]: row["slug"] for row in rows}

    # media

    def media(self, content_hash: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            "SELECT wp_id, url FROM media WHERE hash = ?", (content_hash,)
        ).fetchone()
        return (row["wp_id"], row["url"]) if row else None

    def save_media(self, content_hash: str, wp_id: int, url: str, filename: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?)",
                (content_hash, wp_id, url, filename),
            )

    # steps

    def step(self, post: str, kind: str, target: str = "") -> Step | None:
        rows = _plain_rows(
            self.conn,
            f"SELECT {_STEP_COLUMNS} FROM steps WHERE post = ? AND kind = ? AND target = ?",  # noqa: S608
            (post, kind, target),
        )
        return _step(rows[0]) if rows else None

    def steps(
        self, status: str | None = None, post: str | None = None, kind: str | None = None
    ) -> list[Step]:
        query = f"SELECT {_STEP_COLUMNS} FROM steps WHERE 1=1"  # noqa: S608
        params: list[str] = []
        for clause, value in (("status = ?", status), ("post = ?", post), ("kind = ?", kind)):
            if value is not None:
                query += f" AND {clause}"
                params.append(value)
        return [_step(row) for row in _plain_rows(self.conn, query + " ORDER BY id", params)]

    def steps_in(self, statuses: Sequence[str], *, done: str | None = None) -> list[Step]:
        """The steps in each of ``statuses`` (not ``done``) in turn, each status's by id, then
        (``done``: a kind) the done steps of that kind by id: what as many calls of
        :meth:`steps` read, in one query (a listing of thousands of posts)."""
        where = f"status IN ({', '.join('?' * len(statuses))})"
        params = list(statuses)
        if done is not None:
            where += " OR (status = 'done' AND kind = ?)"
            params.append(done)
        order = [*statuses, "done"]
        rank = " ".join(f"WHEN ? THEN {number}" for number in range(len(order)))
        query = (
            f"SELECT {_STEP_COLUMNS} FROM steps WHERE {where} "  # noqa: S608
            f"ORDER BY CASE status {rank} END, id"
        )
        return [_step(row) for row in _plain_rows(self.conn, query, [*params, *order])]

    def retrying_steps(self) -> list[Step]:
        """Failed and deferred steps with a time for their next attempt: what a scheduler polls
        every few seconds, not every pending publish of a big schedule."""
        query = (
            f"SELECT {_STEP_COLUMNS} FROM steps WHERE status IN ('failed', 'pending') "  # noqa: S608
            "AND next_attempt_at IS NOT NULL ORDER BY id"
        )
        return [_step(row) for row in _plain_rows(self.conn, query)]

    def set_step(
        self,
        post: str,
        kind: str,
        target: str = "",
        *,
        status: str,
        due_at: str | None = None,
        detail: dict[str, Any] | None = None,
        error: str | None = None,
        next_attempt_at: str | None = None,
        count_attempt: bool = False,
    ) -> Step:
        """Create or move a step. Every call is one transaction: the record before acting."""
        assert status in STEP_STATUSES, status
        if self.redactor is not None:
            error = self.redactor(error) if error is not None else None
            detail = self.redactor.scrub(detail) if detail is not None else None
        with self.transaction() as conn:
            current = conn.execute(
                "SELECT * FROM steps WHERE post = ? AND kind = ? AND target = ?",
                (post, kind, target),
            ).fetchone()
            merged = dict(json.loads(current["detail"])) if current else {}
            merged.update(detail or {})
            attempts = (current["attempts"] if current else 0) + (1 if count_attempt else 0)
            due = due_at if due_at is not None else (current["due_at"] if current else None)
            conn.execute(
                "INSERT INTO steps (post, kind, target, status, due_at, attempts, "
                "next_attempt_at, error, detail, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (post, kind, target) DO UPDATE SET status = excluded.status, "
                "due_at = excluded.due_at, attempts = excluded.attempts, "
                "next_attempt_at = excluded.next_attempt_at, error = excluded.error, "
                "detail = excluded.detail, updated_at = excluded.updated_at",
                (
                    post,
                    kind,
                    target,
                    status,
                    due,
                    attempts,
                    next_attempt_at,
                    error,
                    json.dumps(merged, sort_keys=True),
                    self.now(),
                ),
            )
        step = self.step(post, kind, target)
        assert step is not None
        return step

    def sent_costs(self, channel: str, since: str) -> list[tuple[str, str]]:
        """(sent_at, cost) of the announcements done on ``channel`` since a UTC ISO time, as the
        publisher recorded them (those marked as sent by hand carry no cost). One query: the
        steps themselves are not read (a blog's thousands of them)."""
        rows = self.conn.execute(
            "SELECT json_extract(detail, '$.sent_at'), json_extract(detail, '$.cost') FROM steps "
            "WHERE kind = 'announce' AND target = ? AND status = 'done' "
            "AND json_extract(detail, '$.cost') IS NOT NULL "
            "AND json_extract(detail, '$.sent_at') >= ?",
            (channel, since),
        ).fetchall()
        return [(str(sent_at), str(cost)) for sent_at, cost in rows]

    def settle_steps(self, post: str, kinds: tuple[str, ...], note: str) -> None:
        """Mark a post's unfinished steps of these kinds done: a later write covered them."""
        marks = ",".join("?" * len(kinds))
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE steps SET status = 'done', error = NULL, next_attempt_at = NULL, "  # noqa: S608
                f"detail = json_set(detail, '$.settled', ?), updated_at = ? "
                f"WHERE post = ? AND kind IN ({marks}) "
                "AND status IN ('running', 'failed', 'pending', 'conflict')",
                (note, self.now(), post, *kinds),
            )

    def channel_since(self, channel: str) -> str | None:
        """When ``channel`` was first used to announce (UTC ISO), if it has been."""
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (f"channel_since:{channel}",)
        ).fetchone()
        return str(row["value"]) if row else None

    def note_channel(self, channel: str) -> None:
        """Remember when ``channel`` was first active (kept if already known)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                (f"channel_since:{channel}", self.now()),
            )

    def meta(self, key: str) -> str | None:
        """A small value the pipeline remembers between runs (e.g. an instance's limits)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def delete_meta(self, key: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def reset_attempts(self, step: Step) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE steps SET attempts = 0 WHERE id = ?", (step.id,))

    # the job log

    def log(
        self, post: str, step: str, outcome: str, details: str = "", duration_ms: int | None = None
    ) -> None:
        details = self.redactor(details) if self.redactor is not None else details
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO log (at, post, step, outcome, details, duration_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self.now(), post, step, outcome, details, duration_ms),
            )

    def entries(
        self,
        *,
        post: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[LogEntry]:
        query = "SELECT * FROM log WHERE 1=1"
        params: list[Any] = []
        for clause, value in (
            ("post = ?", post),
            ("outcome = ?", outcome),
            ("at >= ?", utc_iso(since) if since else None),
            ("id > ?", after_id),
        ):
            if value is not None:
                query += f" AND {clause}"
                params.append(value)
        query += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return [LogEntry(**dict(row)) for row in self.conn.execute(query, params).fetchall()]

    # locks

    def acquire(self, name: str, what: str) -> None:
        """Take a named lock, or raise LockedError naming who holds it.

        A lock whose holder process is gone (same host, dead pid) is taken over, so a crash
        never leaves the pipeline stuck.
        """
        host = _hostname()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row["owner"] != self.owner and _alive(row["pid"], row["host"]):
                raise LockedError(
                    f"{what} is already running (process {row['pid']} on {row['host']}, since "
                    f"{row['acquired_at']}); wait for it or stop it first"
                )
            conn.execute(
                "INSERT OR REPLACE INTO locks VALUES (?, ?, ?, ?, ?)",
                (name, self.owner, os.getpid(), host, self.now()),
            )

    def release(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, self.owner))

    @contextmanager
    def locked(self, name: str, what: str, wait: float = 0.0) -> Iterator[None]:
        """Hold a named lock for the block; wait up to ``wait`` seconds for another holder."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.acquire(name, what)
                break
            except LockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        try:
            yield
        finally:
            self.release(name)


class LiveView(Mapping[str, str]):
    """:meth:`Store.live_permalinks` read lazily: a lookup per slug asked for."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, slug: str) -> str:
        found = self._store.live_permalink(slug)
        if found is None:
            raise KeyError(slug)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.live_permalinks())

    def __len__(self) -> int:
        return len(self._store.live_permalinks())


def _set_up(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        _use_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise PipelineError(f"cannot open the state file {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes creating the file at once can make the switch fail with
    "database is locked" at once, without waiting on the busy timeout: try again briefly."""
    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def _hostname() -> str:
    import socket  # a lock's holder is named by its host: reading the state takes no lock

    return socket.gethostname()


def _alive(pid: int, host: str) -> bool:
    if host != _hostname():
        return True  # cannot check another machine's processes: assume it is alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_POST_FIELDS = PostRecord.__struct_fields__
_POST_COLUMNS = ", ".join(_POST_FIELDS)
_STEP_COLUMNS = ", ".join(Step.__struct_fields__)


def _plain_rows(
    conn: sqlite3.Connection, query: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows as tuples, in the order of the columns named: for reading thousands of them
    (``sqlite3.Row`` and keyword arguments cost more than the query)."""
    cursor = conn.execute(query, params)
    cursor.row_factory = None
    return cursor.fetchall()


def _post(row: sqlite3.Row) -> PostRecord:
    return PostRecord(**{name: row[name] for name in _POST_FIELDS})


def _step(row: tuple[Any, ...]) -> Step:
    """A step from the columns of ``_STEP_COLUMNS``; most details are empty."""
    number, post, kind, target, status, due_at, attempts, next_attempt_at, error, detail = row
    return Step(
        number,
        post,
        kind,
        target,
        status,
        due_at,
        attempts,
        next_attempt_at,
        error,
        {} if detail == "{}" else json.loads(detail),
    )
