"""The command group, its shared context, and the one place errors become messages and exit codes.

Heavy libraries (httpx, tweepy, apscheduler, rich) are imported inside the commands that need
them, so that ``pipeline --help`` starts fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from pipeline import __version__
from pipeline.errors import InputError, PipelineError

if TYPE_CHECKING:
    from pipeline.workspace import Workspace


class Context:
    """What every command shares: the --config choice and the workspace, loaded on first use."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._workspace: Workspace | None = None
        self.secrets: list[str] = []

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from pipeline.workspace import open_workspace

            self._workspace = open_workspace(self.config)
            self.secrets = self._workspace.credentials.secrets()
        return self._workspace

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text


class PipelineGroup(click.Group):
    """Turns pipeline errors into one clear line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            obj = ctx.find_object(Context)
            message = exc.render() if isinstance(exc, InputError) else str(exc)
            fail(obj.redact(message) if obj else message, exc.exit_code)


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


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
