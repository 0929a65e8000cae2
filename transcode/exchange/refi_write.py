"""Writing a project as REFI-QDA XML (``project.qde`` + ``sources/``) and a codebook as ``.qdc``.

Written for the programs researchers use, not only for ourselves: each coder's work is a
selection of its own (``creatingUser`` on the selection, where QualCoder reads it, and on each
coding), sources go in lower-case ``sources/`` (REFI-QDA 1.5, QualCoder, qc, NVivo) under their
base name, notes carry ``creationDateTime`` (QualCoder's importer needs it), categories are codes
nested under their domain, the domains also form a Set, and protocol questions follow each
domain's description.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

from lxml import etree

from transcode.codebook import Codebook
from transcode.exchange.refi_meta import FORMAT, category_json, codebook_categories
from transcode.exchange.refi_xml import (
    CODEBOOK_NS,
    CONSENSUS_USER,
    DOMAINS_SET,
    METADATA_NOTE,
    ORIGIN,
    OTHER,
    OTHER_CODE_NAME,
    PROJECT_NS,
    describe,
    element,
    guid,
    q,
)
from transcode.store.snapshot import CategoryData, ProjectSnapshot, TurnData


def basename(source_name: str) -> str:
    """The file name alone, whether the path was typed on Windows or elsewhere."""
    return PurePosixPath(PureWindowsPath(source_name).name).name or source_name


def render_source(turns: tuple[TurnData, ...]) -> tuple[str, list[tuple[int, int]]]:
    """The source's plain text (``LABEL: text`` per line) and where each turn's text sits in it."""
    parts, spans, offset = [], [], 0
    for turn in turns:
        prefix = f"{turn.label}: " if turn.label else ""
        start = offset + len(prefix)
        spans.append((start, start + len(turn.text)))
        line = f"{prefix}{turn.text}\n"
        parts.append(line)
        offset += len(line)
    return "".join(parts), spans


def _merged_categories(codebook: Codebook, stored: dict[str, tuple[CategoryData, ...]]) -> dict[str, list]:
    """Per domain: the codebook's categories, then the cross-analysis categories not already there."""
    out: dict[str, list[CategoryData]] = {}
    for domain in codebook.domains:
        trees = [codebook_categories(c) for c in domain.categories]
        names = {t.name for t in trees}
        trees += [t for t in stored.get(domain.id, ()) if t.name not in names]
        out[domain.id] = trees
    return out


def _category_codes(parent: etree._Element, ns: str, path: str, trees) -> None:
    for node in trees:
        key = f"{path}/{node.name}"
        code = element(parent, "Code", ns, guid=guid("category", key), name=node.name, isCodable="true")
        _category_codes(code, ns, key, node.children)


def _codebook_elements(
    parent: etree._Element, codebook: Codebook, ns: str, categories: dict[str, list], with_other: bool
) -> list[str]:
    """``Codes`` (domains with their categories nested) under ``parent``; the domain GUIDs."""
    codes = element(parent, "Codes", ns)
    guids = []
    for domain in codebook.domains:
        code = element(codes, "Code", ns, guid=guid("domain", domain.id), name=domain.name, isCodable="true")
        guids.append(code.get("guid"))
        text = describe(domain.description, domain.questions)
        if text:
            element(code, "Description", ns).text = text
        _category_codes(code, ns, domain.id, categories.get(domain.id, ()))
    if with_other:
        other = element(codes, "Code", ns, guid=guid("domain", OTHER), name=OTHER_CODE_NAME, isCodable="true")
        element(other, "Description", ns).text = "The team agreed the thought unit fits no domain."
    return guids


def _domains_set(parent: etree._Element, ns: str, domain_guids: list[str]) -> None:
    _domains_set_members(element(parent, "Sets", ns), ns, domain_guids)


def _domains_set_members(sets: etree._Element, ns: str, domain_guids: list[str]) -> None:
    group = element(sets, "Set", ns, guid=guid("set", DOMAINS_SET), name=DOMAINS_SET)
    element(
        group, "Description", ns
    ).text = "The CQR domains of the codebook (categories are nested under them)."
    reference = "guid" if ns == CODEBOOK_NS else "targetGUID"  # the two schemas differ here
    for code_guid in domain_guids:
        element(group, "MemberCode", ns, **{reference: code_guid})


def codebook_document(
    codebook: Codebook, categories: dict[str, tuple[CategoryData, ...]] | None = None
) -> bytes:
    """The codebook as a REFI-QDA .qdc: domains as codes (categories nested), and a Set of the domains."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    merged = _merged_categories(codebook, categories or {})
    domain_guids = _codebook_elements(root, codebook, CODEBOOK_NS, merged, with_other=False)
    _domains_set(root, CODEBOOK_NS, domain_guids)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _note(key: str, document: dict, created: str) -> etree._Element:
    note = _standalone("Note", guid=guid("note", key), name=METADATA_NOTE, creationDateTime=created)
    element(note, "PlainTextContent").text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return note


def _standalone(tag: str, **attributes: str) -> etree._Element:
    """An element written on its own into the streamed document (its subtree, then it is dropped)."""
    return etree.Element(q(tag), attributes, nsmap={None: PROJECT_NS})


def source_files(snapshot: ProjectSnapshot) -> Iterator[tuple[str, bytes]]:
    """The ``sources/`` files of a .qdpx for ``snapshot``, one transcript at a time."""
    for t in snapshot.transcripts:
        text, _ = render_source(t.turns)
        yield f"sources/{_source_guid(t.case, t.source_name)}.txt", text.encode("utf-8")


def _source_guid(case: str, source_name: str) -> str:
    return guid("source", f"{case}/{basename(source_name)}")


def project_document(snapshot: ProjectSnapshot, created: str) -> tuple[bytes, dict[str, bytes]]:
    """``project.qde`` and the ``sources/`` files of a .qdpx for ``snapshot``; ``created`` is the
    ISO 8601 UTC time stamped on the notes."""
    buffer = io.BytesIO()
    write_project(snapshot, created, buffer)
    return buffer.getvalue(), dict(source_files(snapshot))


def write_project(snapshot: ProjectSnapshot, created: str, stream: IO[bytes]) -> None:
    """Stream ``project.qde`` for ``snapshot`` into ``stream``: each source (its selections and
    codings) is built, written and dropped in turn, so memory does not grow with the project's
    units; only the sources' metadata notes wait (as JSON text) for the Notes section."""
    users = _standalone("Users")
    user_guids = {name: guid("user", name) for name in snapshot.judges}
    consensus_guid = guid("user", f"{CONSENSUS_USER}\x00")
    for name in snapshot.judges:
        element(users, "User", guid=user_guids[name], name=name, id=name)
    element(users, "User", guid=consensus_guid, name=CONSENSUS_USER, id=CONSENSUS_USER)
    categories = _merged_categories(snapshot.codebook, snapshot.categories)
    codebook = _standalone("CodeBook")
    domain_guids = _codebook_elements(codebook, snapshot.codebook, PROJECT_NS, categories, with_other=True)

    by_case: dict[str, list[str]] = defaultdict(list)
    for t in snapshot.transcripts:
        by_case[t.case].append(_source_guid(t.case, t.source_name))
    with etree.xmlfile(stream, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(q("Project"), {"name": snapshot.name, "origin": ORIGIN}, nsmap={None: PROJECT_NS}):
            xf.write(users, pretty_print=True)
            xf.write(codebook, pretty_print=True)
            attribute_names = sorted({a for attrs in snapshot.cases.values() for a in attrs})
            if attribute_names:
                variables = _standalone("Variables")
                for attribute in attribute_names:
                    element(
                        variables,
                        "Variable",
                        guid=guid("variable", attribute),
                        name=attribute,
                        typeOfVariable="Text",
                    )
                xf.write(variables, pretty_print=True)
            if snapshot.cases:
                with xf.element(q("Cases")):
                    for key, attributes in sorted(snapshot.cases.items()):
                        case = _standalone("Case", guid=guid("case", key), name=key)
                        for attribute, value in sorted(attributes.items()):
                            variable_value = element(case, "VariableValue")
                            element(variable_value, "VariableRef", targetGUID=guid("variable", attribute))
                            element(variable_value, "TextValue").text = value
                        for source_guid in by_case.get(key, []):
                            element(case, "SourceRef", targetGUID=source_guid)
                        xf.write(case, pretty_print=True)
            notes: list[tuple[str, dict]] = []
            if snapshot.transcripts:
                with xf.element(q("Sources")):
                    for t in snapshot.transcripts:
                        source, note = _source(snapshot, t, user_guids, consensus_guid)
                        xf.write(source, pretty_print=True)
                        notes.append(note)
            project_meta = {
                "format": FORMAT,
                "kind": "project",
                "codebook": snapshot.codebook.to_dict(),
                "domains": [
                    {"guid": guid("domain", d.id), "id": d.id, "name": d.name}
                    for d in snapshot.codebook.domains
                ]
                + [{"guid": guid("domain", OTHER), "id": OTHER, "name": OTHER_CODE_NAME}],
                "consensus_user": consensus_guid,
                "judges": [
                    {"guid": user_guids[n], "name": n, "role": role} for n, role in snapshot.judges.items()
                ],
                "categories": {
                    domain: [category_json(c) for c in trees]
                    for domain, trees in sorted(snapshot.categories.items())
                },
            }
            with xf.element(q("Notes")):
                xf.write(_note("project", project_meta, created), pretty_print=True)
                for key, document in notes:
                    xf.write(_note(key, document, created), pretty_print=True)
            sets = _standalone("Sets")
            _domains_set_members(sets, PROJECT_NS, domain_guids)
            xf.write(sets, pretty_print=True)


def _source(
    snapshot: ProjectSnapshot, t, user_guids: dict[str, str], consensus_guid: str
) -> tuple[etree._Element, tuple[str, dict]]:
    """One TextSource with its selections and codings, and its metadata note's (key, document)."""
    source_guid = _source_guid(t.case, t.source_name)
    text, spans = render_source(t.turns)
    source = _standalone(
        "TextSource",
        guid=source_guid,
        name=basename(t.source_name),
        plainTextPath=f"internal://{source_guid}.txt",
    )
    units_meta = []
    for unit in t.units:
        turn_start = spans[unit.turn - 1][0]
        start, end = turn_start + unit.start, turn_start + unit.end
        # "line:N KEY": qc places a selection by a leading line:N (0-based), other tools show the key
        label = f"line:{unit.turn - 1} {unit.key}"
        _unit_selections(source, snapshot, (t.case, unit.key, label), start, end, user_guids, consensus_guid)
        question: str | int | None = unit.question
        asked = next((i + 1 for i in range(unit.turn - 2, -1, -1) if t.turns[i].role == "interviewer"), None)
        if asked is not None and t.turns[asked - 1].text == unit.question:
            question = asked
        units_meta.append(
            {
                "key": unit.key,
                "position": unit.position,
                "turn": unit.turn,
                "start": start,
                "end": end,
                "question": question,
                "consensus_by": snapshot.consensus_by.get(unit.key),
            }
        )
    note_key = f"source/{source_guid}"
    element(source, "NoteRef", targetGUID=guid("note", note_key))
    document = {
        "format": FORMAT,
        "kind": "source",
        "source": source_guid,
        "case": t.case,
        "metadata": t.metadata,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "turns": [
            [turn.role, turn.label, turn.line, a, b] for turn, (a, b) in zip(t.turns, spans, strict=True)
        ],
        "units": units_meta,
    }
    return source, (note_key, document)


def _unit_selections(
    source: etree._Element,
    snapshot: ProjectSnapshot,
    unit: tuple[str, str, str],
    start: int,
    end: int,
    user_guids: dict[str, str],
    consensus_guid: str,
) -> None:
    """One selection per coder of the unit (QualCoder reads the coder from the selection), each
    with that coder's codings. A unit nobody coded has no selection (QualCoder would make each an
    empty annotation); the source's metadata note keeps it."""
    case, key, label = unit
    coders: list[tuple[str, str, list[str]]] = [
        (judge, user_guids[judge], sorted(snapshot.judge_codes[judge][key]))
        for judge in sorted(snapshot.judge_codes)
        if snapshot.judge_codes[judge].get(key)
    ]
    if snapshot.consensus.get(key):
        coders.append((f"{CONSENSUS_USER}\x00", consensus_guid, sorted(snapshot.consensus[key])))
    for coder, user_guid, domains in coders:
        selection = element(
            source,
            "PlainTextSelection",
            guid=guid("unit", f"{case}/{key}/{coder}"),
            name=label,
            startPosition=str(start),
            endPosition=str(end),
            creatingUser=user_guid,
        )
        for domain in domains:
            coding = element(
                selection, "Coding", guid=guid("coding", f"{key}/{coder}/{domain}"), creatingUser=user_guid
            )
            element(coding, "CodeRef", targetGUID=guid("domain", domain))
