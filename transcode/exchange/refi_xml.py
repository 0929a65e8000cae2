"""What the REFI-QDA reader and writer share: namespaces, GUIDs, safe parsing, schema checks."""

from __future__ import annotations

import re
import uuid
from functools import cache
from pathlib import Path
from typing import IO

from anyascii import anyascii
from lxml import etree

from transcode.errors import InputError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).with_name("schema")
#: Fixed namespace for deterministic GUIDs: the same project gets the same GUIDs in every export.
GUID_NAMESPACE = uuid.UUID("6f1d2c3e-9a57-4b8e-8a44-2f0c6e1b7d15")
METADATA_NOTE = "transcode metadata"
CONSENSUS_USER = "consensus"
OTHER = "other"  # the domain of a unit the team put in no domain
OTHER_CODE_NAME = "Other (no domain)"
DOMAINS_SET = "CQR domains"
QUESTIONS_HEADING = "Protocol questions:"
ORIGIN = "transcode"


def guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


def q(tag: str, ns: str = PROJECT_NS) -> str:
    return f"{{{ns}}}{tag}"


def element(
    parent: etree._Element, tag: str, ns: str = PROJECT_NS, **attributes: str | None
) -> etree._Element:
    return etree.SubElement(parent, q(tag, ns), {k: v for k, v in attributes.items() if v is not None})


@cache
def _schema(kind: str) -> etree.XMLSchema:
    name = {"project": "Project-mrt2019.xsd", "codebook": "Codebook.xsd"}[kind]
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / name)))


def schema_errors(document: bytes | etree._Element, kind: str) -> list[str]:
    """Messages (``line N: ...``) for where ``document`` breaks the REFI-QDA ``project``/``codebook`` XSD."""
    tree = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = _schema(kind)
    try:
        if schema.validate(tree):
            return []
    except etree.XMLSchemaValidateError as err:  # libxml2 gives up on some nodes (unresolved entities)
        return [f"the validator gave up: {err}"]
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def streamed_schema_errors(stream: IO[bytes], kind: str) -> list[str]:
    """:func:`schema_errors` for a document read from ``stream`` as it is parsed: each element of
    the root's children is dropped once checked, so memory does not grow with the document."""
    try:
        for _, node in etree.iterparse(stream, events=("end",), schema=_schema(kind)):
            parent = node.getparent()
            if (
                parent is not None
                and parent.getparent() is not None
                and parent.getparent().getparent() is None
            ):
                node.clear()  # a source, case or note, checked: its subtree is no longer needed
                while node.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as err:
        return [f"line {err.lineno}: {err.msg}"]
    return []


def parse_xml(data: bytes, path: str, what: str) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network; any of them is a one-line error."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise InputError(f"{what} is not well-formed XML: {err.msg}", path, err.lineno) from None
    except ValueError as err:  # e.g. an encoding declaration lxml cannot use
        raise InputError(f"{what} cannot be read as XML: {err}", path) from None
    if root is None:
        raise InputError(f"{what} holds no XML element", path)
    if root.getroottree().docinfo.doctype:
        raise InputError(
            f"{what} declares a DOCTYPE (entities); REFI-QDA files have none, so it is refused", path
        )
    for node in root.iter(etree.Entity):
        if node is not None:
            raise InputError(f"{what} holds an entity reference; REFI-QDA files have none", path)
    return root


def check_schema(root: etree._Element, kind: str, path: str, what: str) -> None:
    errors = schema_errors(root, kind)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{what} does not follow the REFI-QDA {kind} schema: {errors[0]}{more}", path)


def slug(name: str, taken: set[str]) -> str:
    """A readable id (``[a-z0-9_]+``) from a name in any script, unique within ``taken``.

    Letters are transliterated (``Émotions 😬`` -> ``emotions_grimacing``, ``Эмоции`` -> ``emotsii``),
    so ids stay readable instead of collapsing to ``code_2``.
    """
    base = re.sub(r"[^a-z0-9]+", "_", anyascii(name).casefold()).strip("_")[:90] or "code"
    if base == OTHER:
        base = "other_code"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def describe(description: str, questions: tuple[str, ...]) -> str:
    """A code's Description: the domain's description, then its protocol questions (kept for other tools)."""
    if not questions:
        return description
    listed = "\n".join(f"- {question}" for question in questions)
    return f"{description}\n\n{QUESTIONS_HEADING}\n{listed}".strip()


def undescribe(text: str) -> tuple[str, tuple[str, ...]]:
    """The inverse of :func:`describe`: (description, questions)."""
    head, marker, tail = text.partition(f"\n{QUESTIONS_HEADING}\n")
    if not marker and text.startswith(f"{QUESTIONS_HEADING}\n"):
        head, tail, marker = "", text.removeprefix(f"{QUESTIONS_HEADING}\n"), "yes"
    if not marker:
        return text, ()
    questions = tuple(line[2:].strip() for line in tail.split("\n") if line.startswith("- "))
    return head.strip(), questions
