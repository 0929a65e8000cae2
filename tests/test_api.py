"""``transcode.open(db)`` reads a store and never changes it: no migration, no write."""

from __future__ import annotations

import sqlite3

import pytest

import transcode
from tests.support.stores import build_small_store
from transcode.errors import StoreError


@pytest.fixture
def store_file(tmp_path, demo_codebook):
    path = tmp_path / "study.db"
    build_small_store(f"sqlite:///{path}", demo_codebook).close()
    return path


def test_reading_leaves_the_database_file_as_it_was(store_file):
    before = store_file.read_bytes()
    with transcode.open(f"sqlite:///{store_file}") as project:
        assert len(project.units()) == 8 and set(project.consensus()["domain"]) >= {"rupture_markers"}
        assert project.cross_table(["anxiety"]).empty and project.codes().empty  # nothing coded yet
    assert store_file.read_bytes() == before


def test_a_store_at_an_older_schema_is_refused_not_migrated(store_file):
    with sqlite3.connect(store_file) as connection:  # a store from before the migrations existed
        connection.execute("DROP TABLE alembic_version")
    with pytest.raises(StoreError, match="older schema .*`transcode init --db URL` upgrades it"):
        transcode.open(f"sqlite:///{store_file}")
    with sqlite3.connect(store_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables and "thought_unit" in tables
