"""The "transcode metadata" notes: what the REFI-QDA standard has no slot for, as checked JSON.

Format ``transcode-refi/2`` (written now) is one project note (codebook, domain and judge ids, the
cross-analysis categories) and one note per text source (its case, turn boundaries, unit keys and
spans), each a ``Note`` named ``transcode metadata``; a source points at its note with a ``NoteRef``.
Per-source notes keep each note small however many units a project has. ``transcode-refi/1``
(one note for everything, written by earlier versions) is still read, converted to the same
objects. Every note is validated against ``schema/transcode-metadata.schema.json``; what a schema
cannot say (offsets inside the text, ids the codebook defines) the reader checks against the
project itself. A note that fails either check stops the import with one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from transcode.codebook import Category, Codebook, parse_codebook
from transcode.errors import InputError
from transcode.exchange.refi_xml import METADATA_NOTE, OTHER, SCHEMA_DIR, q
from transcode.store.snapshot import CategoryData

FORMAT = "transcode-refi/2"
FORMAT_V1 = "transcode-refi/1"


@dataclass(frozen=True)
class UnitMeta:
    key: str
    position: int
    turn: int  # 1-based
    start: int  # offsets in the source text
    end: int
    question: str | int | None  # text, or the number of the turn whose text it is
    consensus_by: str | None


@dataclass(frozen=True)
class SourceMeta:
    source: str  # the TextSource GUID it was written for
    case: str
    metadata: dict[str, str]
    text_sha256: str | None  # None: written by format 1, which kept no hash
    turns: list[tuple[str, str, int, int, int]]  # role, label, line, start, end in the text
    units: list[UnitMeta]


@dataclass
class ProjectMeta:
    codebook: Codebook
    domains_by_guid: dict[str, str]
    domains_by_name: dict[str, str]
    consensus_user: str
    judges_by_guid: dict[str, tuple[str | None, str]]  # guid -> (name, role)
    categories: dict[str, tuple[CategoryData, ...]]
    sources: dict[str, SourceMeta] = field(default_factory=dict)  # by the source GUID they name
    notes: dict[str, SourceMeta] = field(default_factory=dict)  # by the GUID of their Note


@cache
def _validator():
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / "transcode-metadata.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@cache
def _branch_validator(branch: str):
    """The schema narrowed to one of its ``oneOf`` branches: a note that says which it is is
    checked against that one only (the same verdict, without computing why every other branch
    fails, which cost more than the check itself on large sources)."""
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / "transcode-metadata.schema.json").read_text(encoding="utf-8"))
    schema.pop("oneOf")
    schema["$ref"] = f"#/$defs/{branch}"
    return Draft202012Validator(schema)


#: (format, kind) -> the schema's branch for such a note
_BRANCHES: dict[tuple[object, object], str] = {(FORMAT, "project"): "project2", (FORMAT, "source"): "source2"}


def _validated(document: object, path: str) -> dict:
    from jsonschema.exceptions import best_match

    branch = None
    if isinstance(document, dict):
        kind = document.get("kind")
        branch = (
            "whole1" if document.get("format") == FORMAT_V1 else _BRANCHES.get((document.get("format"), kind))
        )
    validator = _validator() if branch is None else _branch_validator(branch)
    error = best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        message = error.message if len(error.message) < 200 else error.message[:200] + "..."
        raise InputError(f"a {METADATA_NOTE!r} note does not follow its schema at {where}: {message}", path)
    assert isinstance(document, dict)
    return document


def read_metadata(root: etree._Element, read_member: Callable[[str], str], path: str) -> ProjectMeta | None:
    """The validated metadata of a project, or None when it has none (a file from another tool)."""
    project: dict | None = None
    v1: dict | None = None
    sources: list[tuple[str | None, dict]] = []
    for note in root.iter(q("Note")):
        if note.get("name") != METADATA_NOTE:
            continue
        document = _validated(_note_json(note, read_member, path), path)
        if document["format"] == FORMAT_V1:
            v1 = document
        elif document["kind"] == "project":
            if project is not None:
                raise InputError(f"two project {METADATA_NOTE!r} notes; there must be one", path)
            project = document
        else:
            sources.append((note.get("guid"), document))
    if v1 is not None:
        return _from_v1(v1, root, path)
    if project is None:
        if sources:
            raise InputError(f"source {METADATA_NOTE!r} notes without the project's note", path)
        return None
    meta = _project(project, path)
    for note_guid, document in sources:
        source = SourceMeta(
            document["source"],
            document["case"],
            dict(document["metadata"]),
            document["text_sha256"],
            [tuple(t) for t in document["turns"]],
            [UnitMeta(**u) for u in document["units"]],
        )
        if source.source.upper() in meta.sources:
            raise InputError(f"two {METADATA_NOTE!r} notes for source {source.source}", path)
        meta.sources[source.source.upper()] = source
        if note_guid:
            meta.notes[note_guid.upper()] = source
    return meta


def _note_json(note: etree._Element, read_member: Callable[[str], str], path: str) -> object:
    text = note.findtext(q("PlainTextContent"))
    if text is None and note.get("plainTextPath"):
        text = read_member(note.get("plainTextPath", ""))
    try:
        return json.loads(text or "")
    except json.JSONDecodeError as err:
        raise InputError(f"the {METADATA_NOTE!r} note is not valid JSON: {err.msg}", path) from None
    except RecursionError:
        raise InputError(f"the {METADATA_NOTE!r} note nests too deeply", path) from None


def _codebook(data: dict, path: str) -> Codebook:
    return parse_codebook(data, f"{path}: the {METADATA_NOTE!r} note")


def _check_domains(domains: dict[str, str], codebook: Codebook, path: str) -> None:
    known = set(codebook.domain_ids) | {OTHER}
    unknown = sorted(set(domains.values()) - known)
    if unknown:
        raise InputError(
            f"the {METADATA_NOTE!r} note maps codes to domain(s) the codebook lacks: "
            f"{', '.join(unknown[:5])}",
            path,
        )


def _project(document: dict, path: str) -> ProjectMeta:
    codebook = _codebook(document["codebook"], path)
    by_guid = {d["guid"].upper(): d["id"] for d in document["domains"]}
    by_name = {d["name"]: d["id"] for d in document["domains"]}
    _check_domains(by_guid, codebook, path)
    categories = {
        domain: tuple(_category(c) for c in trees) for domain, trees in document.get("categories", {}).items()
    }
    _check_domains({d: d for d in categories}, codebook, path)
    return ProjectMeta(
        codebook,
        by_guid,
        by_name,
        document["consensus_user"].upper(),
        {j["guid"].upper(): (j["name"], j["role"]) for j in document["judges"]},
        categories,
    )


def _category(data: dict) -> CategoryData:
    return CategoryData(
        data["name"], bool(data.get("is_other", False)), tuple(_category(c) for c in data.get("children", []))
    )


def category_json(node: CategoryData) -> dict:
    return {
        "name": node.name,
        "is_other": node.is_other,
        "children": [category_json(c) for c in node.children],
    }


def codebook_categories(node: Category) -> CategoryData:
    return CategoryData(node.name, False, tuple(codebook_categories(c) for c in node.subcategories))


def _from_v1(document: dict, root: etree._Element, path: str) -> ProjectMeta:
    """Format 1 kept units by selection GUID; their spans come from those selections."""
    codebook = _codebook(document["codebook"], path)
    by_guid = {g.upper(): d for g, d in document["domains"].items()}
    _check_domains(by_guid, codebook, path)
    meta = ProjectMeta(
        codebook,
        by_guid,
        {},
        document["consensus_user"].upper(),
        {g.upper(): (None, role) for g, role in document["judges"].items()},
        {},
    )
    selections = {s.get("guid"): s for s in root.iter(q("PlainTextSelection"))}
    for source_guid, data in document["sources"].items():
        units = []
        for selection_guid, u in data["units"].items():
            selection = selections.get(selection_guid)
            if selection is None:
                raise InputError(
                    f"the {METADATA_NOTE!r} note names selection {selection_guid}, "
                    "which is not in the project",
                    path,
                )
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            units.append(
                UnitMeta(u["key"], u["position"], u["turn"], start, end, u["question"], u.get("consensus_by"))
            )
        meta.sources[source_guid.upper()] = SourceMeta(
            source_guid,
            data["case"],
            dict(data["metadata"]),
            None,
            [tuple(t) for t in data["turns"]],
            units,
        )
    return meta
