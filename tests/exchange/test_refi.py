"""REFI-QDA export and import: schema validity, lossless round trips, foreign files, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from tests.support.cli import run_transcode
from tests.support.stores import build_demo_store
from transcode.coding.consensus import all_judge_codes
from transcode.errors import InputError
from transcode.exchange import refi
from transcode.exchange.archive import DEFAULT_LIMITS
from transcode.store import open_store


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refi")
    db = build_demo_store(folder)
    store = open_store(db)
    qdpx = folder / "demo.qdpx"
    refi.export_qdpx(store, qdpx)
    yield store, qdpx
    store.close()


def test_the_import_admits_what_the_export_writes_for_200k_units(demo):
    """The import's zip-bomb limits must not refuse transcode's own export of a large study: the
    project.qde grows linearly with the units (a metadata note per source, no node that grows
    with the project), so the demo's bytes per unit, with room for twice the codings, bound it."""
    store, qdpx = demo
    with zipfile.ZipFile(qdpx) as archive:
        info = archive.getinfo("project.qde")
    per_unit = info.file_size / store.status().units
    assert 200_000 * per_unit * 2 < DEFAULT_LIMITS.member_bytes
    assert info.file_size / info.compress_size < DEFAULT_LIMITS.ratio
    root = etree.fromstring(zipfile.ZipFile(qdpx).read("project.qde"))
    longest = max(len(node.text or "") for node in root.iter())
    assert longest < 10_000_000 / 100  # libxml2 refuses a text node past 10 M characters


def _rezip(source: Path, target: Path, change) -> Path:
    """Copy a .qdpx, letting ``change(name, data)`` alter (or drop, with None) each member."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


NS = {"q": refi.PROJECT_NS}
CREATED = "2026-12-01T00:00:00Z"


def _new_store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'new.db'}", create=True)


def _transcripts(store) -> int:
    return store.status().transcripts


def test_export_follows_the_refi_project_schema(demo):
    _, qdpx = demo
    with zipfile.ZipFile(qdpx) as archive:
        document = archive.read("project.qde")
        names = archive.namelist()
    assert refi.schema_errors(document, "project") == []
    assert len([n for n in names if n.startswith("sources/")]) == 12
    assert not [n for n in names if n.startswith("Sources/")]
    root = etree.fromstring(document)
    assert {u.get("name") for u in root.iterfind(".//q:User", NS)} == {"A", "B", "team", "consensus"}
    spans = {
        (s.getparent().get("guid"), s.get("startPosition"), s.get("endPosition"))
        for s in root.iterfind(".//q:PlainTextSelection", NS)
    }
    assert len(spans) == 1119


def test_export_is_what_other_programs_read(demo):
    """creatingUser on selections and codings (QualCoder reads the selection's), one coder per
    selection, notes with creationDateTime, base names, categories nested, domains as a Set."""
    store, qdpx = demo
    with zipfile.ZipFile(qdpx) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    coded = 0
    for selection in root.iterfind(".//q:PlainTextSelection", NS):
        codings = selection.findall("q:Coding", NS)
        if codings:
            coded += 1
            assert selection.get("creatingUser")
            assert {c.get("creatingUser") for c in codings} == {selection.get("creatingUser")}
    assert coded > 1119  # units coded by several judges are several selections
    notes = root.findall(".//q:Notes/q:Note", NS)
    assert len(notes) == 13 and all(n.get("creationDateTime") for n in notes)
    assert all("/" not in s.get("name") for s in root.iterfind(".//q:TextSource", NS))
    codebook = store.codebook()
    top = root.findall("q:CodeBook/q:Codes/q:Code", NS)
    assert [c.get("name") for c in top] == [d.name for d in codebook.domains] + ["Other (no domain)"]
    domain_set = root.find("q:Sets/q:Set", NS)
    assert domain_set.get("name") == "CQR domains"
    assert [m.get("targetGUID") for m in domain_set.findall("q:MemberCode", NS)] == [
        c.get("guid") for c in top[:-1]
    ]
    first = codebook.domains[0]
    assert first.questions and all(
        q in top[0].findtext("q:Description", namespaces=NS) for q in first.questions
    )
    snapshot = refi.read_snapshot(store)
    nested = {c.get("name") for c in root.iterfind("q:CodeBook/q:Codes/q:Code/q:Code", NS)}
    stored = {c.name for trees in snapshot.categories.values() for c in trees}
    assert stored and stored <= nested


def test_selections_point_at_the_unit_text(demo):
    store, qdpx = demo
    with zipfile.ZipFile(qdpx) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        texts = {n: archive.read(n).decode() for n in archive.namelist() if n.startswith("sources/")}
    ns = NS
    by_key = {u.key: u.text for u in store.units()}
    for source in root.iterfind(".//q:TextSource", ns):
        text = texts["sources/" + source.get("plainTextPath").removeprefix("internal://")]
        for selection in source.iterfind("q:PlainTextSelection", ns):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert text[start:end] == by_key[selection.get("name").split()[-1]]


def test_project_round_trip_is_lossless(demo, tmp_path):
    store, qdpx = demo
    target = _new_store(tmp_path)
    refi.import_qdpx(qdpx, target)
    before, after = refi.read_snapshot(store), refi.read_snapshot(target)
    assert after.codebook == before.codebook
    assert after.cases == before.cases
    assert after.transcripts == [replace(t, source_name=Path(t.source_name).name) for t in before.transcripts]
    assert after.judges == before.judges
    assert after.judge_codes == before.judge_codes and len(after.judge_codes["A"]) > 100
    assert after.consensus == before.consensus
    cases = list(store.case_phases())
    assert all_judge_codes(target, cases=cases) == all_judge_codes(store, cases=cases)
    assert after.categories == before.categories and after.categories
    assert refi.project_document(after, CREATED) == refi.project_document(before, CREATED)
    target.close()


def test_codebook_round_trip_through_qdc(demo, tmp_path):
    store, _ = demo
    path = tmp_path / "codebook.qdc"
    refi.export_qdc(store, path)
    assert refi.schema_errors(path.read_bytes(), "codebook") == []
    back = refi.read_qdc(path)
    original = store.codebook()
    assert [(d.name, d.description) for d in back.domains] == [
        (d.name, d.description) for d in original.domains
    ]


def test_foreign_project_without_transcode_metadata(demo, tmp_path):
    """A file from another tool has only the standard elements: codes, sources, selections, users."""
    _, qdpx = demo

    def strip_note(name, data):
        if name != "project.qde":
            return data
        root = etree.fromstring(data)
        notes = root.find(f"{{{refi.PROJECT_NS}}}Notes")
        root.remove(notes)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    foreign = _rezip(qdpx, tmp_path / "foreign.qdpx", strip_note)
    snapshot = refi.read_qdpx(foreign)
    assert [d.name for d in snapshot.codebook.domains][:2] == [
        "Client and therapy context",
        "Rupture antecedents",
    ]
    assert sum(len(t.units) for t in snapshot.transcripts) == 1119
    assert set(snapshot.cases) == {f"{n:02d}" for n in range(1, 13)}
    assert snapshot.cases["01"]["anxiety"] == "high"
    first = snapshot.transcripts[0]
    assert (
        first.units[0].text
        == first.turns[first.units[0].turn - 1].text[first.units[0].start : first.units[0].end]
    )
    assert len(snapshot.consensus) == 1119  # a user called consensus holds the consensus codes
    assert "consensus" not in snapshot.judges and "consensus" not in snapshot.judge_codes
    target = _new_store(tmp_path)
    assert refi.write_snapshot(target, snapshot)["units"] == 1119
    target.close()


def _replace_qde(qdpx: Path, target: Path, edit) -> Path:
    return _rezip(qdpx, target, lambda name, data: edit(data) if name == "project.qde" else data)


BAD = {
    "not_zip": (lambda q, t: (t.write_bytes(b"%PDF-1.4 not a zip"), t)[1], "not a REFI-QDA .qdpx"),
    "no_project": (
        lambda q, t: _rezip(q, t, lambda n, d: None if n == "project.qde" else d),
        "no project.qde",
    ),
    "not_xml": (lambda q, t: _replace_qde(q, t, lambda d: d[:200]), "not well-formed XML"),
    "not_refi": (
        lambda q, t: _replace_qde(q, t, lambda d: b"<?xml version='1.0'?><Project name='x'/>"),
        "not a REFI-QDA project",
    ),
    "schema": (
        lambda q, t: _replace_qde(q, t, lambda d: d.replace(b'isCodable="true"', b'isCodable="maybe"', 1)),
        "does not follow the REFI-QDA project schema",
    ),
}


@pytest.mark.parametrize(
    ("case", "message"),
    [(k, v[1]) for k, v in BAD.items()],
)
def test_bad_archives_name_the_problem_and_import_nothing(demo, tmp_path, case, message):
    _, qdpx = demo
    bad = BAD[case][0](qdpx, tmp_path / f"{case}.qdpx")
    target = _new_store(tmp_path)
    with pytest.raises(InputError, match=message) as info:
        refi.import_qdpx(bad, target)
    assert str(bad) in str(info.value)
    assert _transcripts(target) == 0
    target.close()


def test_missing_source_file_is_named(demo, tmp_path):
    _, qdpx = demo
    with zipfile.ZipFile(qdpx) as archive:
        first = sorted(n for n in archive.namelist() if n.startswith("sources/"))[0]
    bad = _rezip(qdpx, tmp_path / "missing.qdpx", lambda n, d: None if n == first else d)
    with pytest.raises(InputError, match=r"points to 'internal://.*\.txt', which is not in the archive"):
        refi.read_qdpx(bad)


def test_guid_referencing_nothing_is_named(demo, tmp_path):
    _, qdpx = demo
    ghost = "00000000-0000-0000-0000-000000000000"

    def retarget(data):
        root = etree.fromstring(data)
        ref = root.find(f".//{{{refi.PROJECT_NS}}}CodeRef")
        ref.set("targetGUID", ghost)
        return etree.tostring(root)

    bad = _replace_qde(qdpx, tmp_path / "ghost.qdpx", retarget)
    with pytest.raises(InputError, match=f"refers to code {ghost}, which the codebook does not define"):
        refi.read_qdpx(bad)


def test_unknown_user_is_named(demo, tmp_path):
    _, qdpx = demo
    ghost = "11111111-1111-1111-1111-111111111111"

    def reassign(data):
        root = etree.fromstring(data)
        root.find(f".//{{{refi.PROJECT_NS}}}Coding").set("creatingUser", ghost)
        return etree.tostring(root)

    bad = _replace_qde(qdpx, tmp_path / "user.qdpx", reassign)
    with pytest.raises(InputError, match=f"created by user {ghost}, who is not in Users"):
        refi.read_qdpx(bad)


def test_failure_late_in_the_import_leaves_the_store_empty(demo, tmp_path):
    """A unit key used twice is found only while writing units: the transaction must roll back."""
    store, qdpx = demo
    snapshot = refi.read_qdpx(qdpx)
    broken = snapshot.transcripts[-1]
    snapshot.transcripts[-1] = type(broken)(
        broken.case, broken.source_name, broken.metadata, broken.turns, (*broken.units, broken.units[0])
    )
    target = _new_store(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - the database's own uniqueness error
        refi.write_snapshot(target, snapshot)
    assert _transcripts(target) == 0 and target.status().cases == 0 and target.codebook() is None
    target.close()


def test_import_refuses_a_store_with_transcripts(demo):
    store, qdpx = demo
    with pytest.raises(InputError, match="already holds transcripts"):
        refi.import_qdpx(qdpx, store)


def test_cli_export_and_import(demo, tmp_path):
    from transcode.cli import _register, app

    _register()
    store, _ = demo
    db = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    out = tmp_path / "cli.qdpx"
    result = runner.invoke(app, ["export", "--db", db, "--format", "qdpx", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["units"] == 1119 and document["cases"] == 12
    new_db = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(app, ["import-qdpx", str(out), "--db", new_db, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["units"] == 1119
    qdc = tmp_path / "cli.qdc"
    assert runner.invoke(app, ["export", "--db", db, "--format", "qdc", "--out", str(qdc)]).exit_code == 0
    yaml_out = tmp_path / "codebook.yaml"
    result = runner.invoke(app, ["import-qdc", str(qdc), "--out", str(yaml_out), "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["domains"]) == 8


def test_cli_bad_qdpx_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("readme.txt", "hello")
    done = run_transcode("import-qdpx", bad, "--db", f"sqlite:///{tmp_path / 'x.db'}", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith(f"transcode: error: {bad}: no project.qde")


def test_qdc_errors(tmp_path):
    path = tmp_path / "x.qdc"
    path.write_bytes(io.BytesIO(b"<CodeBook xmlns='urn:QDA-XML:codebook:1.0'/>").getvalue())
    with pytest.raises(InputError, match="does not follow the REFI-QDA codebook schema"):
        refi.read_qdc(path)
    path.write_bytes(b"<Codes/>")
    with pytest.raises(InputError, match="not a REFI-QDA codebook"):
        refi.read_qdc(path)


def test_uncoded_units_travel_in_the_metadata_only(tmp_path):
    """No selection for a unit nobody coded (QualCoder would make each an empty annotation), yet it
    comes back."""
    from tests.support.stores import build_store

    store = build_store(f"sqlite:///{tmp_path / 'room.db'}")
    path = tmp_path / "room.qdpx"
    refi.export_qdpx(store, path)
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    assert root.find(".//q:PlainTextSelection", NS) is None
    before = refi.read_snapshot(store)
    after = refi.read_qdpx(path)
    assert sum(len(t.units) for t in after.transcripts) == 12
    assert [t.units for t in after.transcripts] == [t.units for t in before.transcripts]
    store.close()
