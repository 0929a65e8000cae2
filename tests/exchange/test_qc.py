"""Interoperability with qc (``qualitative-coding``), an open-source QDA tool installed from PyPI.

Both directions: our .qdpx into qc (its sources, codebook, coders and each coder's coded lines
arrive), and qc's export of that project back into transcode. qc codes whole lines, so a line is
the unit it keeps: what goes round is each coder's codes per speaker turn.

qc lives in its own virtualenv (``make test`` builds ``.venv-qc`` and sets ``QC_COMMAND``); the test
is skipped when there is none. qc 1.7.8 has a stray ``breakpoint()`` in its reader, so it runs
with ``PYTHONBREAKPOINT=0``, and always in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support.stores import build_demo_store
from transcode.exchange import refi
from transcode.store import open_store


def _qc() -> str:
    given = os.environ.get("QC_COMMAND") or shutil.which("qc")
    if not given or not Path(given).is_file():
        pytest.skip("qc is not installed; `make test` builds .venv-qc and sets QC_COMMAND")
    return given


def _run_qc(qc: str, *args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONBREAKPOINT": "0", "HOME": str(cwd.parent)}
    done = subprocess.run([qc, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _name(snapshot, domain: str) -> str:
    return refi.OTHER_CODE_NAME if domain == refi.OTHER else snapshot.codebook.domain(domain).name


def _turn_codes(snapshot, judges: set[str], clean: bool = False) -> set[tuple[str, int, str, str]]:
    """(source file, judge, 0-based turn, code name) for every code a judge gave a unit of that turn;
    with ``clean``, "other" is dropped from a turn that also has a domain (as one unit it would be)."""
    turn_of = {u.key: (Path(t.source_name).name, u.turn - 1) for t in snapshot.transcripts for u in t.units}
    per_turn: dict[tuple, set[str]] = defaultdict(set)
    for judge in judges:
        for key, domains in snapshot.judge_codes.get(judge, {}).items():
            per_turn[(turn_of[key][0], judge, turn_of[key][1])] |= set(domains)
    out = set()
    for (source, judge, turn), domains in per_turn.items():
        if clean and domains - {refi.OTHER}:
            domains = domains - {refi.OTHER}
        out |= {(source, judge, turn, _name(snapshot, d)) for d in domains}
    return out


@pytest.fixture(scope="module")
def qc_round_trip(tmp_path_factory):
    qc = _qc()
    folder = tmp_path_factory.mktemp("qc")
    store = open_store(build_demo_store(folder))
    ours = folder / "demo.qdpx"
    refi.export_qdpx(store, ours)
    snapshot = refi.read_snapshot(store)
    store.close()
    project = folder / "project"
    project.mkdir()
    _run_qc(qc, "init", "--import", str(ours), cwd=project)
    back = folder / "back.qdpx"
    _run_qc(qc, "export", str(back), cwd=project)
    return snapshot, project, back


def test_our_export_arrives_in_qc_with_every_coder_and_coded_line(qc_round_trip):
    snapshot, project, _ = qc_round_trip
    db = sqlite3.connect(project / "qualitative_coding.sqlite3")
    coders = {row[0] for row in db.execute("select name from coder")}
    documents = {row[0] for row in db.execute("select file_path from document")}
    codes = {row[0] for row in db.execute("select name from code")}
    coded = set(
        db.execute(
            "select di.document_id, cl.coder_id, cl.line, cl.code_id from coded_line cl "
            "join coded_line_location_association a on a.coded_line_id = cl.id "
            "join location l on l.id = a.location_id join document_index di on di.id = l.document_index_id"
        )
    )
    db.close()
    assert coders == {"A", "B", "team", "consensus"}
    assert documents == {f"case_{n:02d}.txt" for n in range(1, 13)}  # base names, inside the project
    assert {d.name for d in snapshot.codebook.domains} | {refi.OTHER_CODE_NAME} <= codes
    categories = {c.name for trees in snapshot.categories.values() for c in trees}
    assert categories and categories <= codes  # nested under their domain in qc's codebook
    judged = {row for row in coded if row[1] in ("A", "B")}
    assert judged == _turn_codes(snapshot, {"A", "B"}) and len(judged) > 100
    assert {row[1] for row in coded} == {"A", "B", "consensus"}
    assert not list(project.parent.glob("case_*.txt"))  # qc wrote nothing outside its folder


def test_qc_export_of_our_project_comes_back(qc_round_trip):
    snapshot, _, back = qc_round_trip
    content = refi.load_qdpx(back)
    again = content.snapshot
    assert len(again.transcripts) == 12
    assert {t.source_name for t in again.transcripts} == {f"case_{n:02d}.txt" for n in range(1, 13)}
    assert [d.name for d in again.codebook.domains] == sorted(d.name for d in snapshot.codebook.domains)
    assert {c.name for d in again.codebook.domains for c in d.categories} == {
        c.name for trees in snapshot.categories.values() for c in trees
    }
    assert set(again.judges) == {"A", "B"} and again.consensus
    assert _turn_codes(again, {"A", "B"}) == _turn_codes(snapshot, {"A", "B"}, clean=True)
    for t in again.transcripts:  # whole lines came back as the speaker's words, label and break trimmed
        for unit in t.units:
            assert unit.text == t.turns[unit.turn - 1].text
