"""Shared fixtures: real models (loaded once per worker), real SQLite files, shared data paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "corpora" / "demo"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when the shared folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (../shared beside the checkout)")
    return path


@pytest.fixture(scope="session")
def nlp():
    from transcode.nlp import load_spacy

    return load_spacy()


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    from transcode.embed import Encoder

    return Encoder(cache_path=tmp_path_factory.mktemp("cache") / "embeddings.sqlite")


@pytest.fixture(scope="session")
def demo_codebook():
    from transcode.codebook import load_codebook

    return load_codebook(DEMO / "codebook.yaml")


@pytest.fixture()
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def demo_transcripts() -> list[Path]:
    files = sorted(DEMO.glob("case_*.txt"))
    if not files:
        pytest.skip("demo corpus not built")
    return files
