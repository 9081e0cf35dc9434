"""The project's drills as tests (issue 10): the short fault drill and the edits drill, against
the real local WordPress. The long fault drill: ``python -m tests.drill_faults --long``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import drill_edits, drill_faults
from tests.wp_local import LocalWordPress

pytestmark = [pytest.mark.wordpress, pytest.mark.slow]


def test_fault_drill(wordpress: LocalWordPress, tmp_path: Path) -> None:
    report = drill_faults.run_drill(wordpress, tmp_path, drill_faults.SHORT)
    shown = "\n".join(report.lines())
    assert report.problems == [], shown
    assert report.kills == drill_faults.SHORT.kills
    assert report.faults, "faults were injected"
    assert report.posts == drill_faults.SHORT.posts
    # How long it took is reported (docs/reliability.md), not asserted: the machines are shared.


def test_edits_drill(wordpress: LocalWordPress, tmp_path: Path) -> None:
    report = drill_edits.run_drill(wordpress, tmp_path)
    assert report.problems == [], "\n".join(report.lines())
    assert len(report.cases) == 12
    assert all(case.kept and case.reported for case in report.cases)
