"""What the tests share that is not a test: paths, store builders (:mod:`.stores`), the command line
(:mod:`.cli`), the coding room under Pilot (:mod:`.tui`) and published reference data (:mod:`.reference`).
Test modules import from here, never from each other."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DEMO = REPO / "corpora" / "demo"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when the shared folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (../shared beside the checkout)")
    return path


def demo_transcripts() -> list[Path]:
    files = sorted(DEMO.glob("case_*.txt"))
    if not files:
        pytest.skip("demo corpus not built")
    return files
