"""Running a command as ``nobody``: root reads any file whatever its mode, so a test of an
unreadable file runs the command as another user when the tests run as root."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def as_nobody() -> list[str] | None:
    """The prefix that runs a command as nobody when the tests run as root (else None, the
    tests' user cannot read a file of mode 0 already). Skips the test, saying why, when this
    Python cannot start as nobody: an interpreter under a folder only root may enter (pyenv's
    in /root, mode 0700) cannot load its libpython."""
    if os.geteuid() != 0:
        return None
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", ""], capture_output=True, check=False)
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()[-1:]
        pytest.skip(f"{sys.executable} does not start as nobody: {' '.join(reason)}")
    return AS_NOBODY
