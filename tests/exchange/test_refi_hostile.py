"""Hostile and damaged .qdpx/.qdc files: one line naming the file, never a traceback, nothing stored.

Zip bombs, entity references, malformed transcode metadata notes (each mutation a case), the
older metadata format, re-issued GUIDs, text edited elsewhere, and a property test over random
bytes and random odd-but-well-formed archives.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.support.cli import run_transcode
from tests.support.qdpx import TEXT, selection, span, write_project
from tests.support.stores import build_small_store
from transcode.errors import InputError
from transcode.exchange import refi
from transcode.exchange.archive import ArchiveLimits
from transcode.store import open_store

NS = {"q": refi.PROJECT_NS}


@pytest.fixture(scope="module")
def small(tmp_path_factory, demo_codebook):
    folder = tmp_path_factory.mktemp("hostile")
    store = build_small_store(f"sqlite:///{folder / 'small.db'}", demo_codebook)
    path = folder / "small.qdpx"
    refi.export_qdpx(store, path)
    yield refi.read_snapshot(store), path
    store.close()


def _rewrite(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def _edit_notes(source: Path, target: Path, edit) -> Path:
    """Copy a .qdpx, letting ``edit(document)`` change each metadata note (first source note: ``first``)."""

    def change(name, data):
        if name != "project.qde":
            return data
        root = etree.fromstring(data)
        for index, note in enumerate(root.iterfind(".//q:Note", NS)):
            content = note.find("q:PlainTextContent", NS)
            document = json.loads(content.text)
            result = edit(document, index)
            content.text = result if isinstance(result, str) else json.dumps(document)
        return etree.tostring(root)

    return _rewrite(source, target, change)


def _on(kind: str, index: int | None = None):
    """An edit applied to the project note, or to source note ``index`` (1 = the first source)."""

    def decorate(change):
        def edit(document, position):
            if document.get("kind") == kind and (index is None or position == index):
                return change(document)
            return None

        return edit

    return decorate


MUTATIONS = {
    "not_json": (_on("source", 1)(lambda d: "{"), "is not valid JSON"),
    "unknown_format": (
        _on("project")(lambda d: d.update(format="transcode-refi/9")),
        "does not follow its schema",
    ),
    "missing_units": (_on("source", 1)(lambda d: d.pop("units")), "does not follow its schema"),
    "wrong_type": (
        _on("source", 1)(lambda d: d["units"][0].update(position="one")),
        "does not follow its schema",
    ),
    "negative_offset": (
        _on("source", 1)(lambda d: d["turns"][0].__setitem__(3, -1)),
        "does not follow its schema",
    ),
    "turn_past_text": (_on("source", 1)(lambda d: d["turns"][-1].__setitem__(4, 10**6)), "outside its text"),
    "turns_overlap": (
        _on("source", 1)(lambda d: d["turns"][1].__setitem__(3, 0)),
        "before the turn before it",
    ),
    "unit_outside_turn": (_on("source", 1)(lambda d: d["units"][0].update(end=10**5)), "outside turn"),
    "unit_in_no_turn": (_on("source", 1)(lambda d: d["units"][0].update(turn=99)), "which does not exist"),
    "question_turn": (_on("source", 1)(lambda d: d["units"][0].update(question=99)), "question turn"),
    "two_sources_one_case": (_on("source", 2)(lambda d: d.update(case="01")), "in one case"),
    "duplicate_unit": (_on("source", 2)(lambda d: d["units"][0].update(key="01-0001")), "used twice"),
    "long_key": (
        _on("source", 1)(lambda d: d["units"][0].update(key="k" * 500)),
        "does not follow its schema",
    ),
    "long_case": (_on("source", 1)(lambda d: d.update(case="c" * 500)), "does not follow its schema"),
    "unknown_domain": (_on("project")(lambda d: d["domains"][0].update(id="nowhere")), "the codebook lacks"),
    "empty_codebook": (
        _on("project")(lambda d: d["codebook"].update(domains=[])),
        "does not follow its schema",
    ),
    "bad_domain_id": (_on("project")(lambda d: d["codebook"]["domains"][0].update(id="A b")), "must match"),
    "long_judge": (
        _on("project")(lambda d: d["judges"][0].update(name="j" * 500)),
        "does not follow its schema",
    ),
    "deep": (_on("source", 1)(lambda d: "[" * 100_000 + "]" * 100_000), "nests too deeply|does not follow"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_malformed_metadata_notes_are_one_line_errors(small, tmp_path, case):
    _, path = small
    edit, message = MUTATIONS[case]
    bad = _edit_notes(path, tmp_path / f"{case}.qdpx", edit)
    with pytest.raises(InputError, match=message) as info:
        refi.load_qdpx(bad)
    assert str(info.value).startswith(f"{bad}: ") and "\n" not in str(info.value)


def test_a_failed_import_leaves_no_new_store(small, tmp_path):
    _, path = small
    bad = _edit_notes(path, tmp_path / "bad.qdpx", MUTATIONS["unit_outside_turn"][0])
    target = tmp_path / "new.db"
    done = run_transcode("import-qdpx", bad, "--db", f"sqlite:///{target}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"transcode: error: {bad}: ")
    assert not target.exists()


def test_a_store_created_for_an_import_that_fails_while_writing_is_removed(small, tmp_path):
    """A unit key used twice is found only by the database: the new SQLite file goes again."""
    from transcode.store.snapshot import write_new_store

    before, _ = small
    broken = before.transcripts[-1]
    snapshot = replace(
        before,
        transcripts=[*before.transcripts[:-1], replace(broken, units=(*broken.units, broken.units[0]))],
    )
    target = tmp_path / "new.db"
    with pytest.raises(Exception):  # noqa: B017 - the database's own uniqueness error
        write_new_store(f"sqlite:///{target}", snapshot)
    assert not target.exists() and not Path(f"{target}-wal").exists()
    summary, shown = write_new_store(f"sqlite:///{target}", before)
    assert summary["units"] == 8 and target.exists() and shown == f"sqlite:///{target}"


def test_the_first_metadata_format_is_still_read(small, tmp_path):
    """transcode-refi/1 (one note, units by selection GUID) from earlier exports imports the same."""
    before, path = small
    questions = {u.key: u.question for t in before.transcripts for u in t.units}

    def to_v1(name, data):
        if name != "project.qde":
            return data
        root = etree.fromstring(data)
        notes = root.find("q:Notes", NS)
        documents = [json.loads(n.findtext("q:PlainTextContent", namespaces=NS)) for n in notes]
        project = next(d for d in documents if d["kind"] == "project")
        sources = {}
        for d in (d for d in documents if d["kind"] == "source"):
            source = root.find(f".//q:TextSource[@guid='{d['source']}']", NS)
            units = {}
            for u in d["units"]:
                chosen = next(
                    s
                    for s in source.iterfind("q:PlainTextSelection", NS)
                    if (int(s.get("startPosition")), int(s.get("endPosition"))) == (u["start"], u["end"])
                )
                question = questions[u["key"]]
                units[chosen.get("guid")] = {
                    "key": u["key"],
                    "position": u["position"],
                    "turn": u["turn"],
                    "question": question,
                    "consensus_by": u["consensus_by"],
                }
            sources[d["source"]] = {
                "case": d["case"],
                "metadata": d["metadata"],
                "turns": d["turns"],
                "units": units,
            }
        v1 = {
            "format": "transcode-refi/1",
            "codebook": project["codebook"],
            "domains": {x["guid"]: x["id"] for x in project["domains"]},
            "consensus_user": project["consensus_user"],
            "judges": {j["guid"]: j["role"] for j in project["judges"]},
            "sources": sources,
        }
        for note in list(notes)[1:]:
            notes.remove(note)
        notes[0].find("q:PlainTextContent", NS).text = json.dumps(v1)
        return etree.tostring(root)

    after = refi.load_qdpx(_rewrite(path, tmp_path / "v1.qdpx", to_v1)).snapshot
    assert after.transcripts == [
        type(t)(t.case, Path(t.source_name).name, t.metadata, t.turns, t.units) for t in before.transcripts
    ]
    assert after.consensus == before.consensus and after.codebook == before.codebook


def test_reissued_guids_keep_the_codes(small, tmp_path):
    """Another tool that gives every code a new GUID but keeps our notes: codes still map by name."""
    before, path = small

    def reissue(name, data):
        if name != "project.qde":
            return data
        root = etree.fromstring(data)
        fresh = {c.get("guid"): str(uuid.uuid4()) for c in root.iterfind(".//q:Code", NS)}
        for node in root.iter():
            for attribute in ("guid", "targetGUID"):
                if node.get(attribute) in fresh:
                    node.set(attribute, fresh[node.get(attribute)])
        return etree.tostring(root)

    after = refi.load_qdpx(_rewrite(path, tmp_path / "guids.qdpx", reissue)).snapshot
    assert after.consensus == before.consensus and after.codebook == before.codebook


def test_text_edited_elsewhere_rebuilds_the_units_with_a_warning(small, tmp_path):
    _, path = small

    def edit(name, data):
        return (
            data.replace(b"She went quiet", b"She went very quiet") if name.startswith("sources/") else data
        )

    content = refi.load_qdpx(_rewrite(path, tmp_path / "edited.qdpx", edit))
    assert any("changed after transcode exported it" in w for w in content.warnings)
    first = content.snapshot.transcripts[0]
    assert first.case == "01" and "01" in content.foreign_cases
    assert any("She went very quiet" in u.text for u in first.units)


def test_metadata_note_stored_as_a_file(small, tmp_path):
    before, path = small

    def to_file(name, data):
        if name != "project.qde":
            return data
        root = etree.fromstring(data)
        note = root.find(".//q:Note", NS)
        content = note.find("q:PlainTextContent", NS)
        moved[0] = content.text.encode("utf-8")
        note.remove(content)
        note.set("plainTextPath", "internal://meta.txt")
        return etree.tostring(root)

    moved = [b""]
    target = _rewrite(path, tmp_path / "file-note.qdpx", to_file)
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr("sources/meta.txt", moved[0])
    assert refi.load_qdpx(target).snapshot.consensus == before.consensus


# -- zip bombs -------------------------------------------------------------------------------------
def test_a_bomb_in_a_referenced_member_is_refused(tmp_path):
    bomb = b"I: a\nP: " + b"x" * (40 * 1024 * 1024)
    path = write_project(tmp_path / "bomb.qdpx", [], text=bomb.decode())
    with pytest.raises(
        InputError, match="inflates more than 200 times its compressed size; refused as a possible zip bomb"
    ):
        refi.load_qdpx(path)


def test_an_unreferenced_bomb_is_never_decompressed(tmp_path):
    members = {"sources/unused.txt": b"\0" * (300 * 1024 * 1024)}
    path = write_project(tmp_path / "p.qdpx", [selection(*span(TEXT, "I called her."))], members=members)
    assert len(refi.load_qdpx(path, limits=ArchiveLimits(total_bytes=1024 * 1024)).snapshot.transcripts) == 1


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ArchiveLimits(member_bytes=100), "member 'project.qde' says it holds"),
        (ArchiveLimits(total_bytes=100), "inflates past 100 bytes in all"),
    ],
)
def test_member_and_total_size_limits(tmp_path, limits, message):
    path = write_project(tmp_path / "p.qdpx", [selection(*span(TEXT, "I called her."))])
    with pytest.raises(InputError, match=message):
        refi.load_qdpx(path, limits=limits)


# -- XML -------------------------------------------------------------------------------------------
ENTITY = '<!DOCTYPE CodeBook [<!ENTITY e "x">]>'
QDC = f"""<?xml version="1.0"?>{{doctype}}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="{uuid.uuid4()}" name="a" isCodable="true"><Description>{{body}}</Description></Code>
</Codes></CodeBook>"""


@pytest.mark.parametrize(
    ("doctype", "body", "message"),
    [
        (ENTITY, "x &e; y", "declares a DOCTYPE"),
        ('<!DOCTYPE CodeBook [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;", "declares a DOCTYPE"),
        ("", "x &e; y", "not well-formed XML"),
    ],
)
def test_entity_references_in_a_codebook_are_refused(tmp_path, doctype, body, message):
    path = tmp_path / "e.qdc"
    path.write_text(QDC.format(doctype=doctype, body=body), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        refi.read_qdc(path)


def test_entity_references_in_a_project_are_refused(tmp_path):
    path = write_project(tmp_path / "p.qdpx", [])
    bad = _rewrite(
        path,
        tmp_path / "e.qdpx",
        lambda n, d: (
            d.replace(b"<Project ", b'<!DOCTYPE Project [<!ENTITY e "x">]><Project ', 1)
            if n == "project.qde"
            else d
        ),
    )
    with pytest.raises(InputError, match="declares a DOCTYPE"):
        refi.load_qdpx(bad)


# -- property: only one-line errors ----------------------------------------------------------------
def _only_one_line_errors(path: Path) -> None:
    try:
        content = refi.load_qdpx(path)
    except InputError as err:
        assert str(err).startswith(f"{path}") and "\n" not in str(err)
        return
    store = open_store(f"sqlite:///{path.with_suffix('.db')}", create=True)
    try:
        refi.write_snapshot(store, content.snapshot)
    finally:
        store.close()
        path.with_suffix(".db").unlink()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_random_bytes_give_one_line_errors(tmp_path, data):
    path = tmp_path / "random.qdpx"
    path.write_bytes(data)
    _only_one_line_errors(path)


LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.tuples(st.sampled_from(["I: ", "P: ", "Émile: ", "", "  "]), LINE), max_size=8),
    breaks=st.sampled_from(["\n", "\r\n", "\r"]),
    spans=st.lists(
        st.tuples(st.integers(-3, 400), st.integers(-3, 400), st.booleans(), st.booleans()), max_size=6
    ),
    bom=st.booleans(),
)
def test_odd_but_well_formed_archives_give_one_line_errors(tmp_path, lines, breaks, spans, bom):
    text = ("\ufeff" if bom else "") + "".join(f"{label}{words}{breaks}" for label, words in lines)
    selections = [
        selection(
            a,
            b,
            user="10000000-0000-4000-8000-000000000000" if on_sel else None,
            coder="20000000-0000-4000-8000-000000000000" if on_coding else None,
        )
        for a, b, on_sel, on_coding in spans
    ]
    path = write_project(tmp_path / "odd.qdpx", selections, text=text)
    _only_one_line_errors(path)
