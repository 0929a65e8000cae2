"""REFI-QDA exchange: a project as ``.qdpx`` (project.qde + Sources/) and the codebook as ``.qdc``.

Mapping (REFI-QDA Project Exchange Standard 1.0, schemas in ``schema/``):

- domains become codes (plus one ``Other (no domain)`` code for units the team put in no domain);
- each transcript becomes a TextSource whose plain text is ``LABEL: text`` per turn;
- each thought unit becomes a PlainTextSelection; every judge's *current* codes on it become
  Codings whose ``creatingUser`` is that judge, and the consensus codes become Codings by a
  ``consensus`` user;
- cases become Cases with their attributes as Text variables.

A Note named ``transcode metadata`` carries, as JSON, what the standard has no slot for (domain
ids, unit keys, turn boundaries, the codebook's questions), so a transcode-to-transcode round
trip is lossless; files from other tools, which lack it, are imported from the standard elements
alone. The decision log's history, model proposals, core ideas and categories are not in the
.qdpx (the CSV/Excel tables carry core ideas and categories).

Reading and writing are pure (bytes in, :class:`~transcode.store.snapshot.ProjectSnapshot` out,
and back); the store is read and written by :mod:`transcode.store.snapshot`, writing in one
transaction.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from transcode.codebook import Codebook, parse_codebook
from transcode.errors import InputError
from transcode.files import write_atomic
from transcode.ingest import DEFAULT_INTERVIEWER_LABELS, DEFAULT_PARTICIPANT_LABELS
from transcode.store import Store
from transcode.store.snapshot import (
    ProjectSnapshot,
    TranscriptData,
    TurnData,
    UnitData,
    project_summary,
    read_snapshot,
    write_snapshot,
)

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).with_name("schema")
#: Fixed namespace for deterministic GUIDs: exporting the same project twice gives the same file.
GUID_NAMESPACE = uuid.UUID("6f1d2c3e-9a57-4b8e-8a44-2f0c6e1b7d15")
METADATA_NOTE = "transcode metadata"
METADATA_FORMAT = "transcode-refi/1"
CONSENSUS_USER = "consensus"
OTHER = "other"  # the domain of a unit the team put in no domain
OTHER_CODE_NAME = "Other (no domain)"
ORIGIN = "transcode"


def guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


# -- schema validation ------------------------------------------------------------------------------
@cache
def _schema(kind: str) -> etree.XMLSchema:
    name = {"project": "Project-mrt2019.xsd", "codebook": "Codebook.xsd"}[kind]
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / name)))


def schema_errors(document: bytes | etree._Element, kind: str) -> list[str]:
    """Messages (``line N: ...``) for where ``document`` breaks the REFI-QDA ``project``/``codebook`` XSD."""
    tree = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = _schema(kind)
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


# -- writing XML --------------------------------------------------------------------------------------
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


def _el(parent: etree._Element, tag: str, ns: str = PROJECT_NS, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attributes.items() if v is not None})


def _codes_element(parent: etree._Element, codebook: Codebook, ns: str, with_other: bool) -> None:
    codes = _el(parent, "Codes", ns)
    for domain in codebook.domains:
        code = _el(codes, "Code", ns, guid=guid("domain", domain.id), name=domain.name, isCodable="true")
        if domain.description:
            _el(code, "Description", ns).text = domain.description
    if with_other:
        other = _el(codes, "Code", ns, guid=guid("domain", OTHER), name=OTHER_CODE_NAME, isCodable="true")
        _el(other, "Description", ns).text = "The team agreed the thought unit fits no domain."


def codebook_document(codebook: Codebook) -> bytes:
    """The codebook as a REFI-QDA .qdc document (domains as codable codes with their descriptions)."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    _codes_element(root, codebook, CODEBOOK_NS, with_other=False)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def project_document(snapshot: ProjectSnapshot) -> tuple[bytes, dict[str, bytes]]:
    """``project.qde`` and the ``Sources/`` files of a .qdpx for ``snapshot``."""
    root = etree.Element(
        f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS}, name=snapshot.name, origin=ORIGIN
    )
    users = _el(root, "Users")
    user_guids = {name: guid("user", name) for name in snapshot.judges}
    consensus_guid = guid("user", f"{CONSENSUS_USER}\x00")
    for name in snapshot.judges:
        _el(users, "User", guid=user_guids[name], name=name, id=name)
    _el(users, "User", guid=consensus_guid, name=CONSENSUS_USER, id=CONSENSUS_USER)
    _codes_element(_el(root, "CodeBook"), snapshot.codebook, PROJECT_NS, with_other=True)

    attribute_names = sorted({a for attrs in snapshot.cases.values() for a in attrs})
    if attribute_names:
        variables = _el(root, "Variables")
        for attribute in attribute_names:
            _el(
                variables, "Variable", guid=guid("variable", attribute), name=attribute, typeOfVariable="Text"
            )

    source_guids = {id(t): guid("source", f"{t.case}/{t.source_name}") for t in snapshot.transcripts}
    by_case: dict[str, list[str]] = defaultdict(list)
    for t in snapshot.transcripts:
        by_case[t.case].append(source_guids[id(t)])
    if snapshot.cases:
        cases = _el(root, "Cases")
        for key, attributes in sorted(snapshot.cases.items()):
            case = _el(cases, "Case", guid=guid("case", key), name=key)
            for attribute, value in sorted(attributes.items()):
                variable_value = _el(case, "VariableValue")
                _el(variable_value, "VariableRef", targetGUID=guid("variable", attribute))
                _el(variable_value, "TextValue").text = value
            for source_guid in by_case.get(key, []):
                _el(case, "SourceRef", targetGUID=source_guid)

    files: dict[str, bytes] = {}
    meta_sources: dict[str, dict] = {}
    if snapshot.transcripts:
        sources = _el(root, "Sources")
        for t in snapshot.transcripts:
            source_guid = source_guids[id(t)]
            text, spans = render_source(t.turns)
            files[f"Sources/{source_guid}.txt"] = text.encode("utf-8")
            source = _el(
                sources,
                "TextSource",
                guid=source_guid,
                name=t.source_name,
                plainTextPath=f"internal://{source_guid}.txt",
            )
            units_meta = {}
            for unit in t.units:
                turn_start = spans[unit.turn - 1][0]
                selection_guid = guid("unit", f"{t.case}/{unit.key}")
                selection = _el(
                    source,
                    "PlainTextSelection",
                    guid=selection_guid,
                    name=unit.key,
                    startPosition=str(turn_start + unit.start),
                    endPosition=str(turn_start + unit.end),
                )
                for judge in sorted(snapshot.judge_codes):
                    for domain in sorted(snapshot.judge_codes[judge].get(unit.key, ())):
                        coding = _el(
                            selection,
                            "Coding",
                            guid=guid("coding", f"{unit.key}/{judge}/{domain}"),
                            creatingUser=user_guids[judge],
                        )
                        _el(coding, "CodeRef", targetGUID=guid("domain", domain))
                for domain in sorted(snapshot.consensus.get(unit.key, ())):
                    coding = _el(
                        selection,
                        "Coding",
                        guid=guid("consensus", f"{unit.key}/{domain}"),
                        creatingUser=consensus_guid,
                    )
                    _el(coding, "CodeRef", targetGUID=guid("domain", domain))
                units_meta[selection_guid] = {
                    "key": unit.key,
                    "position": unit.position,
                    "turn": unit.turn,
                    "question": unit.question,
                    "consensus_by": snapshot.consensus_by.get(unit.key),
                }
            meta_sources[source_guid] = {
                "case": t.case,
                "metadata": t.metadata,
                "turns": [
                    [turn.role, turn.label, turn.line, a, b]
                    for turn, (a, b) in zip(t.turns, spans, strict=True)
                ],
                "units": units_meta,
            }
    metadata = {
        "format": METADATA_FORMAT,
        "codebook": snapshot.codebook.to_dict(),
        "domains": {guid("domain", d): d for d in [*snapshot.codebook.domain_ids, OTHER]},
        "consensus_user": consensus_guid,
        "judges": {user_guids[n]: role for n, role in snapshot.judges.items()},
        "sources": meta_sources,
    }
    notes = _el(root, "Notes")
    note = _el(notes, "Note", guid=guid("note", METADATA_NOTE), name=METADATA_NOTE)
    _el(note, "PlainTextContent").text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True), files


# -- reading XML ---------------------------------------------------------------------------------------
def _q(tag: str, ns: str = PROJECT_NS) -> str:
    return f"{{{ns}}}{tag}"


def _parse_xml(data: bytes, path: str, what: str) -> etree._Element:
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise InputError(f"{what} is not well-formed XML: {err.msg}", path, err.lineno) from None


def _check_schema(root: etree._Element, kind: str, path: str, what: str) -> None:
    errors = schema_errors(root, kind)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{what} does not follow the REFI-QDA {kind} schema: {errors[0]}{more}", path)


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_") or "code"
    if base == OTHER:
        base = "other_code"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def parse_codebook_document(data: bytes, path: str = "<qdc>") -> Codebook:
    """A .qdc as a codebook: top-level codes become domains (nested codes become their categories)."""
    root = _parse_xml(data, path, "the codebook")
    if root.tag != _q("CodeBook", CODEBOOK_NS):
        raise InputError(f"not a REFI-QDA codebook: the root element is {root.tag!r}, not CodeBook", path)
    for empty in root.findall(_q("Sets", CODEBOOK_NS)):
        if len(empty) == 0:  # Taguette writes <Sets/>, which the schema forbids; it carries nothing
            root.remove(empty)
    _check_schema(root, "codebook", path, "the codebook")
    domains = _domains_from_codes(root.find(_q("Codes", CODEBOOK_NS)), CODEBOOK_NS, {})
    return parse_codebook({"name": Path(path).stem, "domains": domains}, path)


def _domains_from_codes(codes: etree._Element, ns: str, known: Mapping[str, str]) -> list[dict]:
    taken: set[str] = set(known.values())

    def category(code: etree._Element) -> dict:
        name = code.get("name")
        return {
            "id": _slug(name, set()),
            "name": name,
            "subcategories": [category(c) for c in code.findall(_q("Code", ns))],
        }

    domains = []
    for code in codes.findall(_q("Code", ns)):
        domain_id = known.get(code.get("guid")) or _slug(code.get("name"), taken)
        if domain_id == OTHER:
            continue
        domains.append(
            {
                "id": domain_id,
                "name": code.get("name"),
                "description": code.findtext(_q("Description", ns)) or "",
                "categories": [category(c) for c in code.findall(_q("Code", ns))],
            }
        )
    return domains


def _foreign_turns(text: str) -> tuple[list[TurnData], list[tuple[int, int]]]:
    """Turns of a source from another tool: one per non-empty line, ``LABEL:`` naming the speaker."""
    interviewer = {s.casefold() for s in DEFAULT_INTERVIEWER_LABELS}
    participant = {s.casefold() for s in DEFAULT_PARTICIPANT_LABELS}
    turns, spans, offset = [], [], 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        match = re.match(r"^([A-Za-z][\w.'-]{0,30}):\s?", body)
        label, start = (match.group(1), match.end()) if match else ("", 0)
        role = "interviewer" if label.casefold() in interviewer else "participant"
        if label and label.casefold() not in interviewer | participant:
            role = "other"
        if body.strip():
            turns.append(TurnData(role, label, body[start:], number))
            spans.append((offset + start, offset + len(body)))
        offset += len(line)
    return turns, spans


@dataclass
class _Refs:
    codes: dict[str, str]  # code guid -> domain id
    users: dict[str, str]  # user guid -> name
    path: str


def _source_text(source: etree._Element, files: Mapping[str, bytes], path: str) -> str:
    content = source.findtext(_q("PlainTextContent"))
    if content is not None:
        return content
    where = source.get("plainTextPath")
    name = source.get("name") or source.get("guid")
    if not where:
        raise InputError(f"text source {name!r} has neither PlainTextContent nor plainTextPath", path)
    member = "Sources/" + where.removeprefix("internal://") if where.startswith("internal://") else where
    if member not in files:
        raise InputError(f"text source {name!r} points to {where!r}, which is not in the archive", path)
    try:
        return files[member].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"source file {member!r} is not UTF-8 text", path) from None


def parse_project_document(data: bytes, files: Mapping[str, bytes], path: str = "<qdpx>") -> ProjectSnapshot:
    """A project.qde (with the archive's ``Sources/`` files) as a snapshot; every reference is checked."""
    root = _parse_xml(data, path, "project.qde")
    if root.tag != _q("Project"):
        raise InputError(
            f"not a REFI-QDA project: the root element of project.qde is {root.tag!r}, not Project "
            f"in namespace {PROJECT_NS}",
            path,
        )
    _check_schema(root, "project", path, "project.qde")
    meta = _metadata(root, path)
    users = {u.get("guid"): u.get("name") or u.get("id") or u.get("guid") for u in root.iter(_q("User"))}
    consensus_guid = meta.get("consensus_user")
    judges = {
        name: meta.get("judges", {}).get(g, "judge") for g, name in users.items() if g != consensus_guid
    }

    codebook_el = root.find(_q("CodeBook"))
    known_domains = meta.get("domains", {})
    if "codebook" in meta:
        codebook = parse_codebook(meta["codebook"], f"{path}: transcode metadata")
    elif codebook_el is not None:
        codebook = parse_codebook(
            {
                "name": root.get("name"),
                "domains": _domains_from_codes(codebook_el.find(_q("Codes")), PROJECT_NS, {}),
            },
            path,
        )
    else:
        raise InputError("the project has no codebook (no CodeBook element)", path)
    codes: dict[str, str] = {}
    if codebook_el is not None:
        taken: set[str] = set()
        for code in codebook_el.iter(_q("Code")):
            top = code.getparent().tag == _q("Codes")
            domain = known_domains.get(code.get("guid")) or (_slug(code.get("name"), taken) if top else None)
            if domain is not None:
                codes[code.get("guid")] = domain
            elif not top:
                codes[code.get("guid")] = codes[code.getparent().get("guid")]
    refs = _Refs(codes, users, path)

    variables = {v.get("guid"): v.get("name") for v in root.iter(_q("Variable"))}
    source_case: dict[str, str] = {}
    cases: dict[str, dict[str, str]] = {}
    source_guids = {s.get("guid") for s in root.iter(_q("TextSource"))}
    for case in root.iter(_q("Case")):
        key = case.get("name") or case.get("guid")
        attributes = {}
        for value in case.findall(_q("VariableValue")):
            target = value.find(_q("VariableRef")).get("targetGUID")
            if target not in variables:
                raise InputError(f"case {key!r} refers to variable {target}, which is not defined", path)
            found = next((c.text for c in value if c.tag != _q("VariableRef")), None)
            attributes[variables[target]] = "" if found is None else str(found)
        cases[key] = attributes
        for ref in case.findall(_q("SourceRef")):
            if ref.get("targetGUID") not in source_guids:
                raise InputError(
                    f"case {key!r} refers to source {ref.get('targetGUID')}, which is not in the project",
                    path,
                )
            source_case[ref.get("targetGUID")] = key

    transcripts: list[TranscriptData] = []
    judge_codes: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
    consensus: dict[str, frozenset[str]] = {}
    consensus_by: dict[str, str | None] = {}
    for source in root.iter(_q("TextSource")):
        if source.getparent().tag != _q("Sources"):
            continue
        source_guid = source.get("guid")
        source_meta = meta.get("sources", {}).get(source_guid)
        text = _source_text(source, files, path)
        name = source.get("name") or source_guid
        if source_meta:
            turns = [
                TurnData(role, label, text[a:b], line) for role, label, line, a, b in source_meta["turns"]
            ]
            spans = [(a, b) for *_, a, b in source_meta["turns"]]
            case_key = source_meta["case"]
        else:
            turns, spans = _foreign_turns(text)
            case_key = source_case.get(source_guid) or Path(name).stem
        cases.setdefault(case_key, {})
        units = []
        selections = sorted(
            source.findall(_q("PlainTextSelection")), key=lambda e: int(e.get("startPosition"))
        )
        for position, selection in enumerate(selections, start=1):
            unit = _unit(selection, position, case_key, turns, spans, source_meta, name, path)
            units.append(unit)
            given: dict[str, set[str]] = defaultdict(set)
            for coding in selection.findall(_q("Coding")):
                user, domain = _coding(coding, refs)
                given[user].add(domain)
            for user, domains in given.items():
                if user == consensus_guid:
                    consensus[unit.key] = frozenset(domains)
                    consensus_by[unit.key] = (
                        (source_meta or {})
                        .get("units", {})
                        .get(selection.get("guid"), {})
                        .get("consensus_by")
                    )
                else:
                    judge_codes[users[user]][unit.key] = _clean(domains)
        transcripts.append(
            TranscriptData(
                case_key, name, dict((source_meta or {}).get("metadata", {})), tuple(turns), tuple(units)
            )
        )
    keys = [u.key for t in transcripts for u in t.units]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise InputError(f"thought unit name(s) used twice: {', '.join(duplicates[:5])}", path)
    return ProjectSnapshot(
        name=root.get("name"),
        codebook=codebook,
        cases=cases,
        transcripts=transcripts,
        judges=judges,
        judge_codes=dict(judge_codes),
        consensus=consensus,
        consensus_by=consensus_by,
    )


def _clean(domains: set[str]) -> frozenset[str]:
    """``other`` together with domains means the domains (a judge's "other" is cleared by a domain)."""
    return frozenset(domains - {OTHER}) or frozenset(domains)


def _metadata(root: etree._Element, path: str) -> dict:
    for note in root.iter(_q("Note")):
        if note.get("name") == METADATA_NOTE:
            try:
                meta = json.loads(note.findtext(_q("PlainTextContent")) or "")
            except json.JSONDecodeError as err:
                raise InputError(f"the {METADATA_NOTE!r} note is not valid JSON: {err.msg}", path) from None
            if not isinstance(meta, dict) or meta.get("format") != METADATA_FORMAT:
                raise InputError(f"the {METADATA_NOTE!r} note is not in format {METADATA_FORMAT}", path)
            return meta
    return {}


def _coding(coding: etree._Element, refs: _Refs) -> tuple[str, str]:
    target = coding.find(_q("CodeRef")).get("targetGUID")
    if target not in refs.codes:
        raise InputError(
            f"coding {coding.get('guid')} refers to code {target}, which the codebook does not define",
            refs.path,
        )
    user = coding.get("creatingUser")
    if user is None:
        raise InputError(
            f"coding {coding.get('guid')} names no creatingUser; transcode needs to know who coded", refs.path
        )
    if user not in refs.users:
        raise InputError(
            f"coding {coding.get('guid')} was created by user {user}, who is not in Users", refs.path
        )
    return user, refs.codes[target]


def _unit(selection, position, case_key, turns, spans, source_meta, source_name, path) -> UnitData:
    start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
    unit_meta = (source_meta or {}).get("units", {}).get(selection.get("guid"))
    index = next((i for i, (a, b) in enumerate(spans) if a <= start and end <= b and start < end), None)
    if index is None:
        raise InputError(
            f"selection {selection.get('name') or selection.get('guid')} ({start}-{end}) in source "
            f"{source_name!r} does not lie inside one speaker turn",
            path,
        )
    turn_start = spans[index][0]
    text = turns[index].text[start - turn_start : end - turn_start]
    if unit_meta:
        return UnitData(
            unit_meta["key"],
            unit_meta["position"],
            unit_meta["turn"],
            start - turn_start,
            end - turn_start,
            text,
            unit_meta["question"],
        )
    question = next((turns[i].text for i in range(index - 1, -1, -1) if turns[i].role == "interviewer"), None)
    key = selection.get("name") or f"{case_key}-{position:04d}"
    return UnitData(key, position, index + 1, start - turn_start, end - turn_start, text, question)


# -- archive edges ---------------------------------------------------------------------------------------
def read_qdpx(path: str | Path) -> ProjectSnapshot:
    """Read and check a .qdpx archive; raises InputError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "project.qde" not in names:
                raise InputError(
                    f"no project.qde in the archive (found: {', '.join(names[:5]) or 'nothing'}); "
                    "a .qdpx holds project.qde and a Sources/ folder",
                    str(path),
                )
            data = archive.read("project.qde")
            files = {n: archive.read(n) for n in names if n.startswith("Sources/") and not n.endswith("/")}
    except zipfile.BadZipFile:
        raise InputError(
            "not a REFI-QDA .qdpx (a .qdpx is a zip archive; this is not one)", str(path)
        ) from None
    return parse_project_document(data, files, str(path))


def export_qdpx(store: Store, path: str | Path) -> dict:
    """Write the project as a .qdpx; the file appears only when complete."""
    snapshot = read_snapshot(store)
    document, files = project_document(snapshot)
    errors = schema_errors(document, "project")
    if errors:
        raise RuntimeError(f"exported project.qde breaks the REFI-QDA schema: {errors[0]}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", document)
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    write_atomic(path, buffer.getvalue())
    return project_summary(snapshot)


def export_qdc(store: Store, path: str | Path) -> dict:
    codebook = store.codebook()
    if codebook is None:
        raise InputError("the store holds no codebook; add one before exporting")
    document = codebook_document(codebook)
    write_atomic(path, document)
    return {"codes": len(codebook.domains)}


def read_qdc(path: str | Path) -> Codebook:
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", str(path))
    return parse_codebook_document(path.read_bytes(), str(path))


def import_qdpx(path: str | Path, store: Store) -> dict:
    """Read, check and load a .qdpx into ``store``; nothing is written unless all of it is good."""
    return write_snapshot(store, read_qdpx(path))
