"""A workspace: the settings, credentials and posts one command works on, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import (
    Credentials,
    Settings,
    find_config,
    line_of,
    load_credentials,
    load_settings,
)
from pipeline.core.posts import LoadResult, Post
from pipeline.errors import ConfigError, InputError, PipelineError, PostError, shown
from pipeline.loading import load_posts
from pipeline.redact import Redactor


@dataclass(frozen=True)
class Workspace:
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
    loaded = load_posts(settings.posts_dir, settings.timezone, pinned_slugs, bodies=bodies)
    if bodies:  # about to be published: a post whose announcement can never be made waits
        loaded = announceable(loaded, settings)
    return Workspace(settings=settings, credentials=credentials, loaded=loaded)


def announceable(loaded: LoadResult, settings: Settings) -> LoadResult:
    """The posts whose announcements can be composed; the others become errors at their line.

    Titles, excerpts and hashtags are shortened to fit; the template's own text, the link,
    the series name and the part number are not. A template that cannot fit even alone is
    bad config; one that cannot fit a post's series, or a post's own ``announce:``, holds back
    that post only, so the rest of the batch goes on. (Lengths are checked for X, whose limit
    is known without asking; every template's placeholders for every channel.)
    """
    from pipeline.core.announce import X_LIMITS, check_placeholders, check_template

    try:
        check_template(settings.x.template, X_LIMITS)
    except InputError as exc:
        raise ConfigError(
            f"x.template: {exc.message}",
            path=settings.path,
            line=line_of(settings.path, "template", "x"),
            fix=exc.fix,
        ) from exc
    good: list[Post] = []
    errors = list(loaded.errors)
    for post in loaded.posts:
        try:
            for own in post.own_templates():
                check_placeholders(own)
        except InputError as exc:
            errors.append(_announce_error(post, exc, own=True))
            continue
        template = post.template("x", settings.x.template)
        try:
            if template is not None:
                check_template(template, X_LIMITS, series=post.series, part=post.part)
        except InputError as exc:
            errors.append(_announce_error(post, exc, own=template != settings.x.template))
            continue
        good.append(post)
    if len(good) == len(loaded.posts):
        return loaded
    return LoadResult(tuple(good), tuple(errors), loaded.warnings)


def _announce_error(post: Post, exc: InputError, *, own: bool) -> PostError:
    if own:
        return PostError(
            f"announce: {exc.message}", path=post.path, line=post.line_of("announce"), fix=exc.fix
        )
    return PostError(
        f"with series {shown(post.series)}, [x] template: {exc.message}",
        path=post.path,
        line=post.line_of("series"),
        fix="shorten the series name or the [x] template, or give this post its own "
        'announce: "..."',
    )


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
