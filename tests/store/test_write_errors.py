"""A store that cannot be written (full disk, read-only file): one clear line, exit 2, nothing written."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from tests.support import demo_transcripts
from transcode.errors import StoreWriteError
from transcode.ingest import read_transcript
from transcode.store import open_store


def transcode(*args: str, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transcode", *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


@pytest.fixture()
def store_file(tmp_path) -> Path:
    path = tmp_path / "store.db"
    result = transcode("init", "--db", f"sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    return path


def snapshot(url: str) -> dict:
    store = open_store(url)
    status = store.status().as_dict()
    store.close()
    return status


def test_read_only_store_refuses_an_import_in_one_line(store_file):
    before = snapshot(f"sqlite:///{store_file}")
    url = f"sqlite:///file:{store_file}?mode=ro&uri=true"  # SQLite itself opens the file read-only
    result = transcode("import", str(demo_transcripts()[0]), "--db", url)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"transcode: error: cannot write to the store {url}: the database is read-only"
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert snapshot(f"sqlite:///{store_file}") == before


def test_full_disk_during_an_import_leaves_the_store_as_it_was(store_file):
    before = snapshot(f"sqlite:///{store_file}")
    # Files may not grow past 48 KiB: room for the WAL index, not for a transcript's rows in the WAL.
    limit = 48 * 1024

    def cannot_grow_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = transcode(
        "import", str(demo_transcripts()[0]), "--db", f"sqlite:///{store_file}", preexec_fn=cannot_grow_files
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"transcode: error: cannot write to the store sqlite:///{store_file}: disk")
    assert "Traceback" not in result.stderr
    assert snapshot(f"sqlite:///{store_file}") == before


def test_sqlite_full_is_reported_as_full(store_file):
    """SQLite's own SQLITE_FULL (a page limit stands in for the disk) maps to the same error."""
    url = f"sqlite:///{store_file}"
    before = snapshot(url)
    store = open_store(url)
    pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def no_more_pages(connection, _record):
        connection.execute(f"PRAGMA max_page_count = {pages}")

    transcript = read_transcript(demo_transcripts()[0])
    with pytest.raises(StoreWriteError, match="cannot write to the store .*: database or disk is full"):
        store.import_transcript(transcript, [])
    store.close()
    assert snapshot(url) == before
