"""twitter-text-parser where setuptools' pkg_resources is gone (setuptools 82 removed it; Python
3.12+ venvs have no setuptools): it reads its emoji list through pkg_resources at import, so
without the stand-in of :mod:`pipeline.core.twittertext` every X or Mastodon length failed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.core.announce import weighted_length
from pipeline.core.costs import has_link
from pipeline.core.lengths import length_for
from pipeline.core.twittertext import twitter_text

# Emoji (weighted 2 on X, read from twitter-text's emoji list), CJK (2 each), a URL (23).
TEXT = "Part 2 is live 👩🏽‍💻🎉 — 第二部 https://blog.example.com/part-2/ (and example.org)"

MEASURED = """
import json, sys
from pipeline.core.announce import weighted_length
from pipeline.core.costs import has_link
from pipeline.core.lengths import length_for
text = sys.argv[1]
print(json.dumps([weighted_length(text), has_link(text), length_for(text, "mastodon", 23),
                  "pkg_resources" in sys.modules]))
"""


def without_pkg_resources(tmp_path: Path) -> dict[str, str]:
    """An environment where ``import pkg_resources`` fails as it does with setuptools 82."""
    gone = tmp_path / "no-setuptools" / "pkg_resources"
    gone.mkdir(parents=True)
    (gone / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pkg_resources'\")\n"
    )
    paths = [str(gone.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_the_blocker_really_blocks_pkg_resources(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import pkg_resources"],
        env=without_pkg_resources(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "No module named 'pkg_resources'" in done.stderr


def test_x_and_mastodon_lengths_need_no_pkg_resources(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, TEXT],
        env=without_pkg_resources(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no warning either"
    here = [weighted_length(TEXT), has_link(TEXT), length_for(TEXT, "mastodon", 23), False]
    assert done.stdout.strip() == str(here).replace("False", "false").replace("True", "true")


def test_the_weighted_length_counts_the_emoji_list_it_read() -> None:
    # 👩🏽‍💻 is one emoji (a ZWJ sequence with a skin tone) only if the emoji list was read:
    # otherwise its five code points weigh 2 each.
    assert weighted_length("👩🏽‍💻") == 2
    assert weighted_length("a") == 1
    assert weighted_length("第") == 2
    assert weighted_length("https://blog.example.com/a-long-path/that-is-long/") == 23


def test_the_stand_in_is_gone_after_the_import() -> None:
    module = twitter_text()
    assert module.parse_tweet("hello").weightedLength == 5
    found = sys.modules.get("pkg_resources")
    assert found is None or hasattr(found, "working_set"), "only the real one, if any, is left"


RACED = """
import json, sys, threading, time
from pipeline.core.twittertext import twitter_text
done = threading.Event()
warm_up = threading.Thread(target=lambda: (twitter_text(), done.set()))
warm_up.start()
while "twitter_text" not in sys.modules:  # the warm-up's import has begun
    time.sleep(0.001)
during = not done.is_set()
module = twitter_text()
print(json.dumps([during, hasattr(module, "parse_tweet")]))
"""


def test_a_second_thread_waits_for_the_import_under_way(tmp_path: Path) -> None:
    """The scheduler warms twitter-text up in a thread while the first job measures a text: that
    job got the half-imported module (no parse_tweet) and failed with an AttributeError."""
    done = subprocess.run(
        [sys.executable, "-c", RACED],
        env=without_pkg_resources(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[true, true]", "asked during the import, and got it whole"
