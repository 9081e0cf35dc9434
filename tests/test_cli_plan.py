"""`pipeline plan` and `pipeline publish --dry-run` through the CLI: they print the plan and
send nothing (the WordPress URL points at a closed loopback port)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent


def site(tmp_path: Path, schedule: str = "") -> Path:
    shutil.copytree(REPO / "posts", tmp_path / "posts")
    config = tmp_path / "pipeline.toml"
    config.write_text(
        'timezone = "UTC"\n'
        f"{schedule}\n"
        '[wordpress]\nurl = "http://127.0.0.1:9"\n\n'
        '[x]\ntemplate = "New: {title} {url}"\n',
        encoding="utf-8",
    )
    return config


def test_plan_without_posts_shows_what_is_due_now(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    later = (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    schedule = (
        f'[[schedule]]\npost = "paper-lanterns-part-1"\nat = "{due}"\n'
        f'[[schedule]]\npost = "paper-lanterns-part-2"\nat = "{later}"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(site(tmp_path, schedule)), "plan"])
    assert result.exit_code == 0, result.output
    assert "create    paper-lanterns-part-1" in result.output
    assert "upload images/lighthouse.png" in result.output
    assert "paper-lanterns-part-2" not in result.output.split("announce")[0]
    assert "announce  paper-lanterns-part-1" in result.output


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path: Path) -> None:
    config = site(tmp_path)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "publish", "paper-lanterns-part-2", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "create    paper-lanterns-part-2" in result.output
    assert "New: Paper Lanterns Part 2: The Night Train http://127.0.0.1:9/" in result.output


def test_dry_run_with_a_bad_post_reports_it_and_plans_the_rest(tmp_path: Path) -> None:
    config = site(tmp_path)
    (tmp_path / "posts" / "broken.md").write_text("---\ntitle: [oops\n---\nBody\n")
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "publish", "broken", "paper-lanterns-part-3", "--dry-run"],
    )
    assert result.exit_code == 2
    assert "broken.md:2: invalid YAML" in result.output
    assert "create    paper-lanterns-part-3" in result.output


def test_the_plan_is_made_with_the_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renders a plan makes and reads back are kept to its end: the cycle collector is off
    while it is made (its passes would free nothing), and on again after."""
    import gc

    from pipeline import publisher

    seen: list[bool] = []
    planning = publisher.make_plan

    def plan_and_look(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return planning(*args, **kwargs)

    monkeypatch.setattr(publisher, "make_plan", plan_and_look)  # a probe, not a stand-in
    result = CliRunner().invoke(cli, ["--config", str(site(tmp_path)), "plan"])
    assert result.exit_code == 0, result.output
    assert seen == [False], "off while the plan is made"
    assert gc.isenabled(), "and on again after"
