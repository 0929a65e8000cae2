"""The store never shows its password, loads a batch all or nothing, and is private on disk (issue 14).

Run on SQLite and on PostgreSQL (``db_url``), where the password is real."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy.engine import make_url

from tests.support import DEMO, demo_transcripts
from tests.support.stores import build_small_store
from transcode.cli import run
from transcode.errors import InputError
from transcode.ingest import read_transcript
from transcode.store import open_store
from transcode.store.db import public_url
from transcode.transcript import Transcript, Turn
from transcode.units import ThoughtUnit


def secret_part(url: str) -> str | None:
    """``user:password@`` as typed in the URL (the test server's password is a common word)."""
    parsed = make_url(url)
    return f"{parsed.username}:{parsed.password}@" if parsed.password else None


def test_public_url_masks_every_secret():
    assert public_url("postgresql+psycopg://ana:s3cret@db.example/study") == (
        "postgresql+psycopg://ana:***@db.example/study"
    )
    masked = public_url("postgresql+psycopg://db/study?password=s3cret&sslpassword=k3y&sslmode=require")
    assert "s3cret" not in masked and "k3y" not in masked and "sslmode=require" in masked
    assert public_url("sqlite:///study.db") == "sqlite:///study.db"
    assert public_url("ana:s3cret@nothing") == "***"  # not a URL: nothing of it is echoed


def test_init_and_status_show_the_store_without_its_password(db_url, capsys):
    assert run(["init", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["db"] == public_url(db_url)
    assert run(["status", "--db", db_url]) == 0
    captured = capsys.readouterr()
    secret = secret_part(db_url)
    if secret:  # PostgreSQL: the password is real
        assert secret not in captured.out + captured.err and ":**" in captured.out


def test_a_wrong_password_is_one_masked_line(capsys):
    url = os.environ.get("TRANSCODE_TEST_POSTGRES")
    if not url:
        pytest.skip("no PostgreSQL server (set TRANSCODE_TEST_POSTGRES)")
    wrong = make_url(url).set(password="wr0ng-s3cret-pw").render_as_string(hide_password=False)
    assert run(["status", "--db", wrong]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open store" in err and "***" in err
    assert "wr0ng-s3cret-pw" not in err


def test_a_trained_model_records_the_store_without_its_password(db_url, demo_codebook, tmp_path, capsys):
    build_small_store(db_url, demo_codebook).close()
    out = tmp_path / "model"
    assert run(["train", "--db", db_url, "--out", str(out), "--fast", "--no-evaluate", "--json"]) == 0
    capsys.readouterr()
    recorded = (out / "model.json").read_text() + (out / "MODEL_CARD.md").read_text()
    assert f"consensus codes in {public_url(db_url)}" in recorded
    assert not secret_part(db_url) or secret_part(db_url) not in recorded
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}


def test_train_never_replaces_a_folder_that_is_not_a_model(db_url, demo_codebook, tmp_path, capsys):
    build_small_store(db_url, demo_codebook).close()
    (tmp_path / "thesis.docx").write_text("years of work")
    assert run(["train", "--db", db_url, "--out", str(tmp_path), "--fast", "--no-evaluate"]) == 2
    err = capsys.readouterr().err
    assert "holds other files (" in err and "thesis.docx" in err
    assert (tmp_path / "thesis.docx").read_text() == "years of work"


def _case(case: str, text: str) -> tuple[Transcript, list[ThoughtUnit]]:
    turns = (Turn("interviewer", "I", "How was it?", 1), Turn("participant", "P", text, 2))
    return Transcript(case, turns, source=f"case_{case}.txt"), [
        ThoughtUnit(case, 1, 2, 0, len(text), text, "How was it?")
    ]


def test_a_batch_is_imported_all_or_nothing(db_url, demo_codebook):
    store = open_store(db_url, create=True)
    store.import_cases([_case("01", "It went well.")])
    before = store.status().as_dict()
    batch = [_case("02", "Fine."), _case("03", "Quiet."), _case("01", "A different transcript.")]
    with pytest.raises(InputError, match="case '01' already has a different transcript"):
        store.import_cases(batch, codebook=demo_codebook, attributes={"02": {"anxiety": "high"}})
    assert store.status().as_dict() == before  # neither 02, 03, the codebook nor the attributes
    with pytest.raises(InputError, match="case '04' comes from two transcripts"):
        store.import_cases([_case("04", "One."), _case("04", "Two.")])
    assert store.status().as_dict() == before
    store.close()


def test_import_cli_leaves_nothing_new_when_a_later_transcript_fails(db_url, tmp_path, capsys):
    first, second = demo_transcripts()[:2]
    assert run(["init", "--db", db_url]) == 0
    assert run(["import", str(first), "--db", db_url]) == 0
    with open_store(db_url) as store:
        before = store.status().as_dict()
    changed = tmp_path / second.name
    changed.write_text(first.read_text().replace("P:", "P: changed", 1))  # case 01 again, other text
    capsys.readouterr()
    assert run(["import", str(second), str(changed), "--db", db_url]) == 2
    assert "already has a different transcript" in capsys.readouterr().err
    with open_store(db_url) as store:
        assert store.status().as_dict() == before  # case 02 was not committed


def test_precode_store_failure_writes_neither_the_file_nor_the_store(db_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRANSCODE_CACHE", str(tmp_path / "cache"))
    first = demo_transcripts()[0]
    assert run(["init", "--db", db_url]) == 0
    changed = tmp_path / "changed.txt"
    changed.write_text(first.read_text().replace("P:", "P: changed", 1))
    assert run(["import", str(changed), "--db", db_url]) == 0  # case 01 holds another transcript
    with open_store(db_url) as store:
        before = store.status().as_dict()
    files = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    out = tmp_path / "proposals.jsonl"
    args = ["precode", str(first), "--codebook", str(DEMO / "codebook.yaml"), "--out", str(out)]
    assert run([*args, "--fast", "--store", "--db", db_url]) == 2
    assert "already has a different transcript" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == files
    with open_store(db_url) as store:
        assert store.status().as_dict() == before


def test_a_new_sqlite_store_and_its_wal_are_private(tmp_path):
    previous = os.umask(0o022)
    try:
        path = tmp_path / "store.db"
        store = open_store(f"sqlite:///{path}", create=True)
        store.import_cases([_case("01", "It went well.")])
        with store.engine.connect() as connection:  # WAL and shared memory exist while it is open
            connection.exec_driver_sql("SELECT 1")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        store.close()
    finally:
        os.umask(previous)
    assert modes == {"store.db": 0o600, "store.db-wal": 0o600, "store.db-shm": 0o600}


def test_a_store_holds_no_over_long_names(db_url, capsys):
    assert run(["init", "--db", db_url, "--codebook", str(DEMO / "codebook.yaml")]) == 0
    assert run(["judges", "add", "ana", "--role", "judge", "--db", db_url]) == 0
    capsys.readouterr()
    name = "x" * 400  # the category name column holds 300: PostgreSQL refuses it (DataError)
    args = ["categories", "add", "--domain", "repair_actions", "--name", name, "--judge", "ana"]
    code = run([*args, "--db", db_url])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    if db_url.startswith("postgresql"):
        assert code == 2 and "the store cannot hold a value given" in err
    transcript = read_transcript(demo_transcripts()[0])
    with open_store(db_url) as store, pytest.raises(InputError, match="at most 100"):
        store.import_cases([(Transcript("c" * 101, transcript.turns, source="long.txt"), [])])
