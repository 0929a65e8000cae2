"""Shared fixtures: real models (loaded once per worker), real SQLite files, shared data paths."""

from __future__ import annotations

import os

import pytest

from tests.support import DEMO

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
        drop_database(admin, name)
        admin.dispose()


def drop_database(admin, name: str, tries: int = 10) -> None:
    """DROP DATABASE ... WITH (FORCE), waiting out an autovacuum worker that happens to be in it
    (a role without pg_signal_backend may not end that process, so the drop fails until it leaves)."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError:
            if attempt == tries - 1:
                raise
            time.sleep(1)
