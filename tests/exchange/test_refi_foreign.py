"""Files written by other programs (../shared/data/refi_foreign: QualCoder and qc) import whole.

Every source, code and coder arrives; a span coded by several users is one unit with several
judges; whole-line selections and CRLF texts with emoji land on the words they selected.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter

import pytest
from lxml import etree

from tests.support import shared_path
from tests.support.cli import run_transcode
from transcode.exchange import refi

DOMAINS = [
    "Client and therapy context",
    "Rupture antecedents",
    "The rupture itself",
    "Therapist's internal reactions",
    "Therapist's repair actions",
    "Role of supervision and training",
    "Consequences for the client and the therapy",
    "Effects on the therapist's development",
]
NS = {"q": refi.PROJECT_NS}


def _foreign(name: str):
    return shared_path("data", "refi_foreign", name)


def _selection_names(path) -> dict[tuple[str, int, int], str]:
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    return {
        (s.getparent().get("name"), int(s.get("startPosition")), int(s.get("endPosition"))): s.get("name")
        for s in root.iterfind(".//q:PlainTextSelection", NS)
    }


def _judges_per_unit(snapshot) -> Counter:
    return Counter(key for codes in snapshot.judge_codes.values() for key in codes)


def test_qualcoder_per_coder_export_gives_units_with_several_judges():
    path = _foreign("qualcoder_percoder.qdpx")
    content = refi.load_qdpx(path)
    snapshot = content.snapshot
    assert sorted(d.name for d in snapshot.codebook.domains) == sorted(
        DOMAINS
    )  # "Other (no domain)" is other
    assert [t.source_name for t in snapshot.transcripts] == [f"case_{n:02d}.txt" for n in range(1, 13)]
    assert [t.case for t in snapshot.transcripts] == [f"{n:02d}" for n in range(1, 13)]  # matched by name
    assert snapshot.cases["01"]["anxiety"] == "high"
    assert set(snapshot.judges) == {"A", "B"}
    units = [u for t in snapshot.transcripts for u in t.units]
    assert len(units) == 1119
    judged = _judges_per_unit(snapshot)
    assert sum(1 for n in judged.values() if n == 2) == 1119
    assert len(snapshot.consensus) == 1119
    assert any("'default' coded nothing" in w for w in content.warnings)
    # QualCoder names each selection after its text: every unit holds exactly that text (BOM not counted)
    names = {name.strip() for name in _selection_names(path).values()}
    assert {u.text for u in units} == names


def test_qc_export_whole_line_selections_become_the_speakers_words():
    content = refi.load_qdpx(_foreign("qc_export.qdpx"))
    snapshot = content.snapshot
    assert sorted(d.name for d in snapshot.codebook.domains) == sorted(DOMAINS)
    assert len(snapshot.transcripts) == 12 and set(snapshot.cases) == {f"case_{n:02d}" for n in range(1, 13)}
    assert set(snapshot.judges) == {"A", "B"} and any("'team' coded nothing" in w for w in content.warnings)
    units = [(t, u) for t in snapshot.transcripts for u in t.units]
    assert len(units) == 359 and len(snapshot.consensus) == 359
    for transcript, unit in units:  # "P: " and the line break trimmed: the unit is the turn's text
        turn = transcript.turns[unit.turn - 1]
        assert unit.text == turn.text and turn.role == "participant"
    assert sum(1 for n in _judges_per_unit(snapshot).values() if n == 2) > 300


def test_maxqda_line_endings_crlf_and_emoji_land_on_the_selected_words():
    path = _foreign("qualcoder_maxqda_endings.qdpx")
    snapshot = refi.load_qdpx(path).snapshot
    names = _selection_names(path)
    texts = {(t.source_name, u.text) for t in snapshot.transcripts for u in t.units}
    assert texts == {(source, name) for (source, _, _), name in names.items()}
    assert set(snapshot.judges) == {"default"}
    two = [k for k, d in snapshot.judge_codes["default"].items() if len(d) == 2]
    assert len(two) == 2  # the same span coded twice by one user: one unit, both codes


def test_qualcoder_codebook_imports():
    codebook = refi.read_qdc(_foreign("qualcoder_codebook.qdc"))
    assert [d.name for d in codebook.domains] == DOMAINS
    assert all(d.description for d in codebook.domains)


@pytest.mark.slow
def test_cli_import_then_agreement_reports_the_pair(tmp_path):
    path = _foreign("qualcoder_percoder.qdpx")
    db = f"sqlite:///{tmp_path / 'qualcoder.db'}"
    done = run_transcode("import-qdpx", path, "--db", db, "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["units"] == 1119 and summary["judges"] == ["A", "B"] and summary["consensus_units"] == 1119
    done = run_transcode("agree", "--db", db, "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["n_units"] == 1119 and report["n_judges"] == 2
    assert [p["judges"] for p in report["pairs"]] == [["A", "B"]]
    assert report["overall"]["cohen_kappa"] > 0.5
