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
    from transcode.verified import load_spacy

    return load_spacy()


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    from transcode.embed import SentenceEncoder

    return SentenceEncoder(cache_path=tmp_path_factory.mktemp("cache") / "embeddings.sqlite")


@pytest.fixture(scope="session")
def demo_codebook():
    from transcode.codebook import load_codebook

    return load_codebook(DEMO / "codebook.yaml")


POSTGRES_ADMIN_URL = os.environ.get("TRANSCODE_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty store URL: a SQLite file, and a new PostgreSQL database when a server is set.

    CI sets TRANSCODE_TEST_POSTGRES (see .ci/run); there a missing server is a failure, not a skip.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_ADMIN_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: TRANSCODE_TEST_POSTGRES is not set")
        pytest.skip("no PostgreSQL server (set TRANSCODE_TEST_POSTGRES)")
    yield from _fresh_postgres_database()


def _fresh_postgres_database():
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"transcode_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def demo_transcripts() -> list[Path]:
    files = sorted(DEMO.glob("case_*.txt"))
    if not files:
        pytest.skip("demo corpus not built")
    return files
