"""The command group, its shared context, and the one place errors become messages and exit codes.

Heavy libraries (httpx, tweepy, apscheduler, rich) are imported inside the commands that need
them, so that ``pipeline --help`` starts fast.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, NamedTuple, NoReturn

import click

from pipeline import __version__
from pipeline.errors import InputError, PipelineError

if TYPE_CHECKING:  # the redactor is built when a command runs: `--help` needs none
    from pipeline.redact import Redactor
    from pipeline.workspace import Workspace


class PathArg(click.Path):
    """``click.Path`` giving a ``pathlib.Path`` (imported when a path is given: ``--help``
    needs none)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pathlib import Path

        return Path(os.fsdecode(super().convert(value, param, ctx)))


# An error, warning or skipped line is cut to this many characters, after masking.
MESSAGE_CHARS = 1000


class Context:
    """What every command shares: the --config choice, the workspace (loaded on first use) and
    the redactor of the credentials in use, through which all output goes."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._workspace: Workspace | None = None
        self.redactor = _environment_redactor()
        # A running scheduler re-reads credentials.toml: its redactor follows the file.
        self.follow: Callable[[], Redactor] | None = None

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from pipeline.workspace import open_workspace

            self._workspace = open_workspace(self.config)
            self.use(self._workspace.redactor())
        return self._workspace

    def use(self, redactor: Redactor) -> None:
        """Mask these secrets (and those set in the environment) from now on."""
        self.redactor = redactor.adding(_environment_redactor().secrets)

    def redact(self, text: str) -> str:
        text = self.redactor(text)
        return self.follow()(text) if self.follow is not None else text

    def redact_all(self, texts: list[str]) -> list[str]:
        """Each text masked. Asked once of them all, joined: when nothing is masked there (the
        common case), nothing is in any of them (a NUL is no part of any form of a secret)."""
        joined = "\0".join(texts)
        if self.redact(joined) == joined:
            return texts
        return [self.redact(text) for text in texts]

    def message(self, text: str) -> str:
        """One line for an error or warning: masked, then cut to MESSAGE_CHARS."""
        from pipeline.redact import cut

        return cut(self.redact(text), MESSAGE_CHARS)


def _environment_redactor() -> Redactor:
    """The credentials set in the environment: known before any file is read."""
    from pipeline.config import ENV_KEYS, NOT_SECRET_KEYS
    from pipeline.redact import Redactor

    values = [
        os.environ[var]
        for key, var in ENV_KEYS.items()
        if os.environ.get(var) and key not in NOT_SECRET_KEYS
    ]
    user = os.environ.get(ENV_KEYS[("wordpress", "user")], "")
    password = os.environ.get(ENV_KEYS[("wordpress", "app_password")], "")
    return Redactor(values, pairs=[(user, password)])


class LazyCommand(NamedTuple):
    """A command the group knows by name and summary; its module is imported when it runs."""

    name: str
    module: str  # e.g. "pipeline.cli.state"
    attribute: str  # the click.Command in that module
    summary: str  # the first paragraph of the command's help, for `pipeline --help`

    def load(self) -> click.Command:
        from importlib import import_module

        command: click.Command = getattr(import_module(self.module), self.attribute)
        return command


class PipelineGroup(click.Group):
    """Turns pipeline errors into one clear line and an exit code; never a traceback. Every
    line a command prints (stdout and stderr, logging too) is masked on its way out.

    Commands are registered lazily (:meth:`add_lazy`): ``pipeline --help`` lists them from
    their summaries, and running one imports its module alone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = {}
        self._listing = False

    def add_lazy(self, command: LazyCommand) -> None:
        self.lazy[command.name] = command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the group's help: a stand-in that has the summary as its help
            return click.Command(cmd_name, help=self.lazy[cmd_name].summary)
        self.add_command(self.lazy[cmd_name].load())
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: click.Context) -> Any:
        with _masked_output(lambda: ctx.find_object(Context)):
            try:
                return super().invoke(ctx)
            except PipelineError as exc:
                obj = ctx.find_object(Context)
                message = exc.render() if isinstance(exc, InputError) else str(exc)
                fail(obj.message(message) if obj else message, exc.exit_code)


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _masked_output(context: Callable[[], Context | None]) -> Iterator[None]:
    """sys.stdout and sys.stderr through the context's redactor while a command runs."""

    def redact(text: str) -> str:
        obj = context()
        return obj.redact(text) if obj is not None else text

    saved = sys.stdout, sys.stderr
    sys.stdout = MaskedStream(sys.stdout, redact)
    sys.stderr = MaskedStream(sys.stderr, redact)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved


class MaskedStream(io.TextIOBase):
    """A text stream that masks what is written to it, a line at a time (so that a secret
    written in two pieces is still seen whole), before passing it on."""

    def __init__(self, target: IO[str], redact: Callable[[str], str]) -> None:
        super().__init__()
        self.target = target
        self.redact = redact
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        whole, newline, self._pending = (self._pending + text).rpartition("\n")
        if newline:
            self._send(whole + newline)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._send(self._pending)
            self._pending = ""
        self.target.flush()

    def _send(self, text: str) -> None:
        masked = self.redact(text)
        try:
            self.target.write(masked)
        except UnicodeEncodeError:  # a terminal set to ASCII: replace rather than fail
            self.target.write(masked.encode(self.encoding, "replace").decode(self.encoding))


@click.group(cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    envvar="PIPELINE_CONFIG",
    metavar="PATH",
    help="pipeline.toml to use [default: ./pipeline.toml; env PIPELINE_CONFIG]",
)
@click.version_option(__version__, prog_name="pipeline")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Publish Markdown posts to WordPress, announce them on X, and link series parts.

    Start with `pipeline check`, then `pipeline preview` to look at the posts in a browser.
    """
    ctx.obj = Context(config)
