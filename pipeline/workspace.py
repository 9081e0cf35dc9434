"""A workspace: the settings, credentials and posts one command works on, loaded once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from pipeline.config import (
    Credentials,
    Settings,
    find_config,
    line_of,
    load_credentials,
    load_settings,
)
from pipeline.core.posts import LoadResult, Post
from pipeline.errors import ConfigError, PipelineError, PostError, shown
from pipeline.redact import Redactor


class Workspace(Struct, frozen=True):
    """A site as a command sees it: its settings, credentials and loaded posts."""

    settings: Settings
    credentials: Credentials
    loaded: LoadResult

    @property
    def posts(self) -> tuple[Post, ...]:
        return self.loaded.posts

    def warnings(self) -> tuple[str, ...]:
        return self.credentials.warnings + self.loaded.warnings

    def redactor(self) -> Redactor:
        return redactor_for(self.settings, self.credentials)

    def holding_back(self, errors: Sequence[PostError]) -> Workspace:
        """This workspace with the posts of ``errors`` reported and held back, like posts that
        did not load."""
        if not errors:
            return self
        bad = {error.path for error in errors}
        good = tuple(post for post in self.posts if post.path not in bad)
        loaded = LoadResult(good, (*self.loaded.errors, *errors), self.loaded.warnings)
        return replace(self, loaded=loaded)

    def find(self, ref: str) -> Post:
        """A post by slug, by path (relative to the working folder or the posts folder), or by the
        file name without .md."""
        return find_post(self.loaded, ref, self.settings.posts_dir)


def redactor_for(settings: Settings, credentials: Credentials) -> Redactor:
    """Masks these credentials and the tokens of every login kept in the state folder."""
    tokens: list[str] = []
    folder = settings.state_dir / "tokens"
    if folder.is_dir():
        from pipeline.auth.tokens import TokenStore

        for path in sorted(folder.glob("*.json")):
            try:
                saved = TokenStore(settings.state_dir, path.stem).load()
            except PipelineError:  # unreadable: then no command can use it (nor show it)
                continue
            tokens += saved.secrets() if saved is not None else []
    return Redactor.of(credentials, tokens)


def open_workspace(config: str | None, pinned_slugs: dict[str, str] | None = None) -> Workspace:
    return load_workspace(load_settings(find_config(config)), pinned_slugs)


def load_workspace(
    settings: Settings, pinned_slugs: dict[str, str] | None = None, *, bodies: bool = True
) -> Workspace:
    if not settings.posts_dir.is_dir():
        raise ConfigError(
            f"posts folder {settings.posts_dir} does not exist",
            path=settings.path,
            line=line_of(settings.path, "posts_dir"),
            fix="create it, or set posts_dir in pipeline.toml",
        )
    credentials = load_credentials(settings.credentials_path)
    # Here, not at the top: commands that read only the state (`log`, `retry`) load no posts.
    from pipeline import memofile
    from pipeline.loading import load_posts

    memofile.attach(settings.state_dir)  # parsed and rendered posts remembered there
    loaded = load_posts(settings.posts_dir, settings.timezone, pinned_slugs, bodies=bodies)
    return Workspace(settings=settings, credentials=credentials, loaded=loaded)


def find_post(loaded: LoadResult, ref: str, posts_dir: Path) -> Post:
    by_slug = loaded.by_slug()
    if ref in by_slug:
        return by_slug[ref]
    candidates = {
        Path(ref).resolve(),
        (posts_dir / ref).resolve(),
        (posts_dir / f"{ref}.md").resolve(),
    }
    for post in loaded.posts:
        if post.path.resolve() in candidates:
            return post
    for error in loaded.errors:
        if error.path is not None and error.path.resolve() in candidates:
            raise error
    raise PostError(
        f"no post {shown(ref)}",
        fix=f"give a slug or a path of a post under {posts_dir} (pipeline status lists them)",
    )
