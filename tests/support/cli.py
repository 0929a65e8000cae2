"""The ``transcode`` command as a user runs it, in its own process: exit codes, streams, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def run_transcode(
    *args: object, env: dict | None = None, cwd: Path | None = REPO, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``python -m transcode ARGS...`` with this checkout first on the path."""
    return subprocess.run(
        [sys.executable, "-m", "transcode", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )
