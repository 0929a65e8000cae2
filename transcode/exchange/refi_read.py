"""Reading a REFI-QDA project (``project.qde`` and its sources) into a :class:`ProjectSnapshot`.

A transcode export carries its own metadata notes (:mod:`~transcode.exchange.refi_meta`) and comes
back exactly. Anything else is read from the standard elements, the way the programs that write
it mean them:

- top-level codable codes are domains, codes nested in them their categories (a coding on a
  category counts for its domain); a non-codable code (``isCodable="false"``, how QualCoder and
  MAXQDA write folders) is a folder whose codes are domains; ``Other (no domain)`` is ``other``;
- a source's plain text is split into speaker turns: a line starting ``LABEL:`` opens a turn,
  following lines without a label continue it, a blank line ends it;
- every selection is trimmed to the speaker's words (the ``P: `` label, surrounding spaces and
  line breaks are dropped), so whole-line and whole-paragraph selections are accepted; only a
  selection that truly straddles two turns is refused, naming both lines;
- selections with the same trimmed span are one thought unit, whoever made them, so a span coded
  by several users is one unit with several judges;
- the coder is the coding's ``creatingUser``, or else its selection's; a user called
  ``consensus`` holds the team's consensus codes; users with the same name stay apart;
- offsets count Unicode code points of the text without its byte-order mark (as QualCoder and qc
  count). Where a text has CRLF line breaks, a break counts as one character (QualCoder's
  "MAXQDA line endings", MAXQDA, ATLAS.ti) unless the selections only fit counting it as two;
  selection names that repeat the selected text (QualCoder's) decide a tie.

What a transcript cannot hold (pictures, PDFs, audio, video, memos, links, other notes) is left
out with a warning naming how much, as the standard asks.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree

from transcode.codebook import Category, Codebook, Domain, parse_codebook
from transcode.errors import InputError
from transcode.exchange.refi_meta import ProjectMeta, SourceMeta, read_metadata
from transcode.exchange.refi_write import basename
from transcode.exchange.refi_xml import (
    CODEBOOK_NS,
    CONSENSUS_USER,
    METADATA_NOTE,
    OTHER,
    OTHER_CODE_NAME,
    PROJECT_NS,
    check_schema,
    parse_xml,
    q,
    slug,
    undescribe,
)
from transcode.ingest import SpeakerRoles
from transcode.store.snapshot import ProjectSnapshot, TranscriptData, TurnData, UnitData

#: Column limits of the store (a longer value would fail late, on PostgreSQL only).
CASE_KEY_MAX, UNIT_KEY_MAX, NAME_MAX, SOURCE_NAME_MAX, PROJECT_NAME_MAX = 100, 120, 100, 500, 200
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LABEL = re.compile(r"([^\W\d_][\w.'’-]{0,30}(?: [^\W\d_][\w.'’-]{0,30})?)[ \t]*:(?:[ \t]|$)")
_HEADER = re.compile(r"#\s*[\w -]+:")
_NOT_TEXT = ("PictureSource", "PDFSource", "AudioSource", "VideoSource")


@dataclass
class QdpxContent:
    """What a .qdpx holds, as plain data, with what was left out and which texts came from elsewhere."""

    snapshot: ProjectSnapshot
    warnings: list[str] = field(default_factory=list)
    #: Cases whose text did not come from transcode: they go through de-identification.
    foreign_cases: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Turns:
    """A source's speaker turns and where each one's text lies in the (layout of the) source text."""

    text: str  # the source text as the offsets count it
    turns: list[TurnData]
    spans: list[tuple[int, int]]
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.starts.extend(a for a, _ in self.spans)

    def locate(self, start: int, end: int) -> tuple[int, int, int] | str:
        """(turn index, start, end in the turn's text) of a selection trimmed to words, or why not."""
        first = max(bisect.bisect_right(self.starts, start) - 1, 0)
        hits = []
        for index in range(first, len(self.spans)):
            a, b = self.spans[index]
            if a >= end:
                break
            if start < b and a < end:
                hits.append(index)
        if len(hits) > 1:
            lines = " and ".join(str(self.turns[i].line) for i in (hits[0], hits[-1]))
            return f"straddles {len(hits)} speaker turns (lines {lines}); a thought unit lies within one turn"
        if not hits:
            return "covers no speaker's words (only labels, spaces or line breaks)"
        index = hits[0]
        a, b = self.spans[index]
        lo, hi = max(start, a), min(end, b)
        while lo < hi and self.text[lo].isspace():
            lo += 1
        while hi > lo and self.text[hi - 1].isspace():
            hi -= 1
        if lo == hi:
            return "covers no speaker's words (only labels, spaces or line breaks)"
        return index, lo - a, hi - a


@dataclass
class _Selection:
    guid: str
    name: str
    start: int
    end: int
    codes: list[tuple[str, str]]  # (user guid, domain)


def _split_turns(text: str, roles: SpeakerRoles) -> _Turns:
    """Speaker turns of a text from another tool (line numbers 1-based; see the module docstring)."""
    turns: list[TurnData] = []
    spans: list[tuple[int, int]] = []
    open_turn: list | None = None  # [role, label, start, end, line]
    last = ("participant", "")
    pos, number = 0, 0

    def close() -> None:
        nonlocal open_turn
        if open_turn is not None:
            role, label, a, b, line = open_turn
            turns.append(TurnData(role, label, text[a:b].replace("\r", " ").replace("\n", " "), line))
            spans.append((a, b))
        open_turn = None

    while pos < len(text) or number == 0:
        found = _LINE_BREAK.search(text, pos)
        end, following = (found.start(), found.end()) if found else (len(text), len(text))
        number += 1
        line = text[pos:end]
        content_end = pos + len(line.rstrip())
        if not line.strip():
            close()
        elif not turns and open_turn is None and _HEADER.match(line):
            pass  # a `# key: value` header line of the transcript format
        else:
            match = _LABEL.match(line)
            label = match.group(1) if match else ""
            role = roles.role(label) if match else None
            if match and role is None and _speaker_like(label):
                role = "other"
            if match and role is not None:
                close()
                start = pos + match.end()
                while start < content_end and text[start].isspace():
                    start += 1
                open_turn = [role, label, start, content_end, number]
                last = (role, label)
            elif open_turn is not None:
                open_turn[3] = content_end
            else:
                start = pos + len(line) - len(line.lstrip())
                open_turn = [last[0], last[1], start, content_end, number]
        pos = following
        if not found:
            break
    close()
    return _Turns(text, turns, spans)


def _locate_all(turns: _Turns, selections: list[_Selection]) -> list[tuple[int, int, int] | str]:
    return [
        turns.locate(s.start, s.end) if s.end <= len(turns.text) else "ends after the end of the text"
        for s in selections
    ]


def _speaker_like(label: str) -> bool:
    return all(w[:1].isupper() or w[:1].isdigit() for w in label.split())


def _question(turns: list[TurnData], index: int) -> str | None:
    return next((turns[i].text for i in range(index - 1, -1, -1) if turns[i].role == "interviewer"), None)


class _Reader:
    def __init__(
        self, root: etree._Element, read_member: Callable[[str], bytes], path: str, roles: SpeakerRoles
    ):
        self.root = root
        self.read_member = read_member
        self.path = path
        self.roles = roles
        self.warnings: list[str] = []

    def error(self, message: str) -> InputError:
        return InputError(message, self.path)

    # -- users -------------------------------------------------------------------------------------
    def users(self, meta: ProjectMeta | None) -> tuple[dict[str, str], str | None, dict[str, str]]:
        """(user GUID -> judge name, the consensus user's GUID, judge name -> role)."""
        names: dict[str, str] = {}
        roles: dict[str, str] = {}
        consensus = None
        taken: Counter[str] = Counter()
        for user in self.root.iter(q("User")):
            user_guid = user.get("guid", "").upper()
            name = (user.get("name") or user.get("id") or user_guid).strip() or user_guid
            meta_name, role = meta.judges_by_guid.get(user_guid, (None, "judge")) if meta else (None, "judge")
            if meta and user_guid == meta.consensus_user:
                consensus = user_guid
                continue
            if meta is None and name.casefold() == CONSENSUS_USER and consensus is None:
                consensus = user_guid
                continue
            name = meta_name or name
            taken[name] += 1
            if taken[name] > 1:
                renamed = f"{name} ({taken[name]})"
                self.warnings.append(f"two users are called {name!r}; the second is imported as {renamed!r}")
                name = renamed
            if len(name) > NAME_MAX:
                raise self.error(f"user name {name[:40]!r}... is longer than {NAME_MAX} characters")
            names[user_guid] = name
            roles[name] = role
        if meta and consensus is None:
            consensus = next(
                (
                    g
                    for g, n in names.items()
                    if n.casefold() == CONSENSUS_USER and g not in meta.judges_by_guid
                ),
                None,
            )
            if consensus:
                roles.pop(names.pop(consensus))
        return names, consensus, roles

    # -- codebook ----------------------------------------------------------------------------------
    def codebook(self, meta: ProjectMeta | None) -> tuple[Codebook, dict[str, str | None]]:
        """The codebook and, per code GUID, the domain a coding on it counts for (None: a folder)."""
        codes_el = self.root.find(q("CodeBook") + "/" + q("Codes"))
        codes: dict[str, str | None] = {}
        if meta is not None:
            domains = list(meta.codebook.domains)
            taken = set(meta.codebook.domain_ids)
            if codes_el is not None:
                for code in codes_el.findall(q("Code")):
                    self._meta_code(code, meta, codes, domains, taken)
            return Codebook(meta.codebook.name, tuple(domains), meta.codebook.version), codes
        if codes_el is None:
            raise self.error("the project has no codebook (no CodeBook element)")
        found = self.foreign_domains(codes_el, PROJECT_NS, codes)
        return parse_codebook({"name": self.root.get("name"), "domains": found}, self.path), codes

    def _meta_code(self, code, meta: ProjectMeta, codes, domains: list[Domain], taken: set[str]) -> None:
        code_guid = code.get("guid", "").upper()
        name = code.get("name", "")
        domain = meta.domains_by_guid.get(code_guid) or meta.domains_by_name.get(name)
        if domain is None and name.casefold() == OTHER_CODE_NAME.casefold():
            domain = OTHER
        if domain is None:
            if code.get("isCodable") == "false":
                codes[code_guid] = None
                for child in code.findall(q("Code")):
                    self._meta_code(child, meta, codes, domains, taken)
                return
            domain = slug(name, taken)
            description, questions = undescribe(code.findtext(q("Description")) or "")
            domains.append(Domain(domain, name, " ".join(description.split()), questions))
            self.warnings.append(
                f"code {name!r} is not in the transcode codebook; added as domain {domain!r}"
            )
        codes[code_guid] = domain
        for nested in code.iter(q("Code")):
            codes.setdefault(nested.get("guid", "").upper(), domain)

    def foreign_domains(self, codes_el: etree._Element, ns: str, codes: dict[str, str | None]) -> list[dict]:
        taken: set[str] = set()
        domains: list[dict] = []
        folders: list[str] = []

        def category(code: etree._Element, domain: str, siblings: set[str]) -> dict:
            codes[code.get("guid", "").upper()] = domain
            inner: set[str] = set()
            return {
                "id": slug(code.get("name", ""), siblings),
                "name": code.get("name", ""),
                "subcategories": [category(c, domain, inner) for c in code.findall(q("Code", ns))],
            }

        def walk(code: etree._Element) -> None:
            name = code.get("name", "")
            code_guid = code.get("guid", "").upper()
            if name.strip().casefold() == OTHER_CODE_NAME.casefold():
                for nested in code.iter(q("Code", ns)):
                    codes[nested.get("guid", "").upper()] = OTHER
                return
            if code.get("isCodable") == "false":
                codes[code_guid] = None
                folders.append(name)
                for child in code.findall(q("Code", ns)):
                    walk(child)
                return
            domain = slug(name, taken)
            codes[code_guid] = domain
            description, questions = undescribe(code.findtext(q("Description", ns)) or "")
            siblings: set[str] = set()
            domains.append(
                {
                    "id": domain,
                    "name": name,
                    "description": description,
                    "questions": list(questions),
                    "categories": [category(c, domain, siblings) for c in code.findall(q("Code", ns))],
                }
            )

        for code in codes_el.findall(q("Code", ns)):
            walk(code)
        if folders:
            self.warnings.append(
                f"{len(folders)} code folder(s) ({', '.join(repr(f) for f in folders[:3])}) are not codable; "
                "their codes became domains (transcode's codebook has no folders)"
            )
        return domains

    # -- cases -------------------------------------------------------------------------------------
    def cases(self, text_sources: list[etree._Element]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        """Case attributes by case, and the case of each source GUID that a Case names."""
        variables = {v.get("guid", "").upper(): v.get("name", "") for v in self.root.iter(q("Variable"))}
        source_guids = {s.get("guid", "").upper() for s in text_sources}
        all_sources = {
            s.get("guid", "").upper() for kind in ("TextSource", *_NOT_TEXT) for s in self.root.iter(q(kind))
        }
        cases: dict[str, dict[str, str]] = {}
        source_case: dict[str, str] = {}
        loose: dict[str, dict[str, str]] = {}  # nameless Cases: attributes of one source
        for case in self.root.iter(q("Case")):
            attributes = {}
            for value in case.findall(q("VariableValue")):
                ref = value.find(q("VariableRef"))
                target = (ref.get("targetGUID") if ref is not None else "") or ""
                if target.upper() not in variables:
                    raise self.error(
                        f"case {case.get('name')!r} refers to variable {target}, which is not defined"
                    )
                found = next((c.text for c in value if c.tag != q("VariableRef")), None)
                attributes[variables[target.upper()]] = "" if found is None else str(found)
            refs = [r.get("targetGUID", "").upper() for r in case.findall(q("SourceRef"))]
            for ref in refs:
                if ref not in all_sources:
                    raise self.error(
                        f"case {case.get('name')!r} refers to source {ref}, which is not in the project"
                    )
            text_refs = [r for r in refs if r in source_guids]
            key = case.get("name")
            if key is None:
                for ref in text_refs:
                    loose.setdefault(ref, {}).update(attributes)
                continue
            key = key.strip() or case.get("guid", "")
            if len(key) > CASE_KEY_MAX:
                raise self.error(f"case name {key[:40]!r}... is longer than {CASE_KEY_MAX} characters")
            cases[key] = attributes
            if len(text_refs) > 1:
                raise self.error(
                    f"case {key!r} holds {len(text_refs)} text sources; transcode keeps one transcript per "
                    "case: merge them, or give each its own case"
                )
            for ref in text_refs:
                source_case[ref] = key
        self._match_unlinked(text_sources, cases, source_case)
        for ref, attributes in loose.items():
            key = source_case.get(ref)
            if key is not None:
                cases.setdefault(key, {}).update(attributes)
        return cases, source_case

    def _match_unlinked(
        self, sources: list[etree._Element], cases: dict, source_case: dict[str, str]
    ) -> None:
        """Cases that name no source (QualCoder writes no SourceRef): link a case to the one source whose
        file name is the case name or contains it as a word (``case_01.txt`` for case ``01``)."""
        unlinked = set(cases) - set(source_case.values())
        wanted: dict[str, list[str]] = defaultdict(list)
        for source in sources:
            source_guid = source.get("guid", "").upper()
            if source_guid in source_case:
                continue
            stem = PurePosixPath(basename(source.get("name") or "")).stem
            words = set(re.split(r"[\W_]+", stem))
            matches = [c for c in unlinked if c == stem or c in words]
            if len(matches) == 1:
                wanted[matches[0]].append(source_guid)
        for case, guids in wanted.items():
            if len(guids) == 1:
                source_case[guids[0]] = case

    # -- sources -----------------------------------------------------------------------------------
    def source_text(self, source: etree._Element, name: str) -> str:
        content = source.findtext(q("PlainTextContent"))
        if content is not None:
            return content.removeprefix("\ufeff")
        where = source.get("plainTextPath")
        if not where:
            raise self.error(f"text source {name!r} has neither PlainTextContent nor plainTextPath")
        data = self.read_member(where)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise self.error(f"the text of source {name!r} is not UTF-8 (byte {err.start})") from None

    def selections(
        self,
        source: etree._Element,
        codes: dict[str, str | None],
        users: dict[str, str],
        consensus: str | None,
    ) -> list[_Selection]:
        out = []
        name = source.get("name") or source.get("guid")
        for selection in source.findall(q("PlainTextSelection")):
            sel_guid = selection.get("guid", "")
            start, end = int(selection.get("startPosition", "0")), int(selection.get("endPosition", "0"))
            if not 0 <= start < end:
                raise self.error(f"selection {sel_guid} in source {name!r} has positions {start}-{end}")
            picked = []
            for coding in selection.findall(q("Coding")):
                ref = coding.find(q("CodeRef"))
                target = ((ref.get("targetGUID") if ref is not None else "") or "").upper()
                if target not in codes:
                    raise self.error(
                        f"coding {coding.get('guid')} refers to code {target}, "
                        "which the codebook does not define"
                    )
                domain = codes[target]
                if domain is None:
                    raise self.error(
                        f"coding {coding.get('guid')} is on code folder {target}, which is not codable"
                    )
                user = (coding.get("creatingUser") or selection.get("creatingUser") or "").upper()
                if not user:
                    raise self.error(
                        f"coding {coding.get('guid')} names no creatingUser, nor does its selection; "
                        "transcode needs to know who coded"
                    )
                if user not in users and user != consensus:
                    raise self.error(
                        f"coding {coding.get('guid')} was created by user {user}, who is not in Users"
                    )
                picked.append((user, domain))
            out.append(_Selection(sel_guid, selection.get("name") or "", start, end, picked))
        return out

    def layout(
        self, raw: str, selections: list[_Selection], name: str
    ) -> tuple[_Turns, list[tuple[int, int, int]]]:
        """The reading of the text (CRLF as one character or two) that the selections fit best."""
        candidates = [raw.replace("\r\n", "\n")]
        if candidates[0] != raw:
            candidates.append(raw)
        best: tuple[tuple[int, int], _Turns, list] | None = None
        for text in candidates:
            turns = _split_turns(text, self.roles)
            located = _locate_all(turns, selections)
            fits = sum(not isinstance(x, str) for x in located)
            named = sum(
                s.name.strip() == text[s.start : s.end].strip() for s in selections if s.end <= len(text)
            )
            if best is None or (fits, named) > best[0]:
                best = ((fits, named), turns, located)
        assert best is not None
        _, turns, located = best
        return turns, self.placed(selections, located, name)

    def placed(
        self, selections: list[_Selection], located: list[tuple[int, int, int] | str], name: str
    ) -> list[tuple[int, int, int]]:
        """The located spans, or the first reason one selection could not be placed, as an error."""
        out = []
        for selection, where in zip(selections, located, strict=True):
            if isinstance(where, str):
                raise self.error(
                    f"selection {selection.guid} (characters {selection.start}-{selection.end}) in source "
                    f"{name!r} {where}"
                )
            out.append(where)
        return out

    def meta_turns(self, smeta: SourceMeta, text: str, name: str) -> _Turns:
        turns, spans, previous = [], [], 0
        for number, (role, label, line, a, b) in enumerate(smeta.turns, start=1):
            if not previous <= a <= b <= len(text):
                raise self.error(
                    f"the {METADATA_NOTE!r} note puts turn {number} of source {name!r} at {a}-{b}, "
                    f"outside its text ({len(text)} characters) or before the turn before it"
                )
            turns.append(TurnData(role, label, text[a:b], line))
            spans.append((a, b))
            previous = b
        return _Turns(text, turns, spans)


def _locate_meta_units(reader: _Reader, smeta: SourceMeta, turns: _Turns, name: str) -> list[UnitData]:
    units = []
    for u in smeta.units:
        if u.turn > len(turns.turns):
            raise reader.error(
                f"the {METADATA_NOTE!r} note puts unit {u.key!r} in turn {u.turn}, which does not exist"
            )
        a, b = turns.spans[u.turn - 1]
        if not a <= u.start < u.end <= b:
            raise reader.error(
                f"the {METADATA_NOTE!r} note puts unit {u.key!r} at {u.start}-{u.end}, outside turn {u.turn} "
                f"of source {name!r} ({a}-{b})"
            )
        question = u.question
        if isinstance(question, int):
            if question > len(turns.turns):
                raise reader.error(
                    f"the {METADATA_NOTE!r} note gives unit {u.key!r} a question turn that does not exist"
                )
            question = turns.turns[question - 1].text
        units.append(
            UnitData(u.key, u.position, u.turn, u.start - a, u.end - a, turns.text[u.start : u.end], question)
        )
    return units


def parse_project(
    data: bytes, read_member: Callable[[str], bytes], path: str = "<qdpx>", roles: SpeakerRoles | None = None
) -> QdpxContent:
    """A project.qde (``read_member`` gives the archive file a ``plainTextPath`` names) as plain data."""
    root = parse_xml(data, path, "project.qde")
    if root.tag != q("Project"):
        raise InputError(
            f"not a REFI-QDA project: the root element of project.qde is {root.tag!r}, not Project "
            f"in namespace {PROJECT_NS}",
            path,
        )
    check_schema(root, "project", path, "project.qde")
    reader = _Reader(root, read_member, path, roles or SpeakerRoles(other_speakers="keep"))
    meta = read_metadata(root, lambda where: _note_text(reader, where), path)
    users, consensus_guid, judge_roles = reader.users(meta)
    codebook, codes = reader.codebook(meta)
    text_sources = [s for s in root.iter(q("TextSource")) if s.getparent().tag == q("Sources")]
    cases, source_case = reader.cases(text_sources)
    _warn_left_out(reader, root)

    project_name = (root.get("name") or "imported project")[:PROJECT_NAME_MAX]
    content = QdpxContent(ProjectSnapshot(project_name, codebook, cases, [], {}, {}), reader.warnings)
    snapshot = content.snapshot
    judge_codes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    consensus: dict[str, set[str]] = defaultdict(set)
    coded_by: set[str] = set()
    used_cases: dict[str, str] = {}
    keys: set[str] = set()
    for source in text_sources:
        source_guid = source.get("guid", "").upper()
        name = basename(source.get("name") or source_guid)
        if len(name) > SOURCE_NAME_MAX:
            raise reader.error(f"source name {name[:40]!r}... is longer than {SOURCE_NAME_MAX} characters")
        raw = reader.source_text(source, name)
        smeta = _source_meta(meta, source)
        if smeta is not None and smeta.text_sha256 not in (
            None,
            hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        ):
            reader.warnings.append(
                f"the text of source {name!r} changed after transcode exported it; its thought units were "
                "rebuilt from the selections"
            )
            smeta = None
        selections = reader.selections(source, codes, users, consensus_guid)
        if smeta is not None:
            case_key = smeta.case
            turns = reader.meta_turns(smeta, raw, name)
            units = _locate_meta_units(reader, smeta, turns, name)
            metadata = dict(smeta.metadata)
            located = reader.placed(selections, _locate_all(turns, selections), name)
        else:
            meta_case = _meta_case(meta, source)
            case_key = meta_case or source_case.get(source_guid) or PurePosixPath(name).stem or source_guid
            turns, located = reader.layout(raw, selections, name)
            units, metadata = [], {}
        if case_key in used_cases:
            if smeta is not None:
                raise reader.error(
                    f"the {METADATA_NOTE!r} notes put sources {used_cases[case_key]!r} and {name!r} in one "
                    f"case ({case_key!r}); a case has one transcript"
                )
            renamed, n = case_key, 2
            while renamed in used_cases or renamed in cases:
                renamed, n = f"{case_key} ({n})", n + 1
            reader.warnings.append(
                f"sources {used_cases[case_key]!r} and {name!r} both make case {case_key!r}; "
                f"the second is case {renamed!r}"
            )
            case_key = renamed
        if len(case_key) > CASE_KEY_MAX:
            raise reader.error(f"case name {case_key[:40]!r}... is longer than {CASE_KEY_MAX} characters")
        if smeta is None:
            content.foreign_cases.add(case_key)
        used_cases[case_key] = name
        cases.setdefault(case_key, {})

        groups: dict[tuple[int, int, int], list[tuple[str, str]]] = {}
        for selection, where in zip(selections, located, strict=True):
            groups.setdefault(where, []).extend(selection.codes)
        units = _add_units(reader, units, groups, turns, case_key, name, smeta is not None)
        by_span = {(u.turn - 1, u.start, u.end): u for u in units}
        for span, picked in groups.items():
            unit = by_span[span]
            for user, domain in picked:
                if user == consensus_guid:
                    consensus[unit.key].add(domain)
                else:
                    judge_codes[users[user]][unit.key].add(domain)
                    coded_by.add(user)
        for unit in units:
            if len(unit.key) > UNIT_KEY_MAX:
                raise reader.error(
                    f"thought unit key {unit.key[:40]!r}... is longer than {UNIT_KEY_MAX} characters"
                )
            if unit.key in keys:
                raise reader.error(f"thought unit key {unit.key!r} is used twice")
            keys.add(unit.key)
        snapshot.transcripts.append(
            TranscriptData(case_key, name, metadata, tuple(turns.turns), tuple(units))
        )

    snapshot.judges = {
        name: judge_roles.get(name, "judge")
        for user_guid, name in users.items()
        if user_guid in coded_by or (meta is not None and user_guid in meta.judges_by_guid)
    }
    idle = sorted(name for g, name in users.items() if name not in snapshot.judges)
    if idle:
        reader.warnings.append(f"user(s) {', '.join(map(repr, idle))} coded nothing and are not judges")
    snapshot.judge_codes = {j: {k: _clean(d) for k, d in codes_.items()} for j, codes_ in judge_codes.items()}
    snapshot.consensus = {k: frozenset(d) for k, d in consensus.items()}
    snapshot.consensus_by = _consensus_by(meta, snapshot)
    if meta is not None:
        snapshot.categories = dict(meta.categories)
    return content


def _add_units(
    reader: _Reader,
    units: list[UnitData],
    groups: dict[tuple[int, int, int], list[tuple[str, str]]],
    turns: _Turns,
    case_key: str,
    name: str,
    from_transcode: bool,
) -> list[UnitData]:
    """``units`` plus one unit per selected span they lack, numbered on in text order."""
    known = {(u.turn - 1, u.start, u.end) for u in units}
    new_spans = sorted(span for span in groups if span not in known)
    if not new_spans:
        return units
    if from_transcode:
        reader.warnings.append(
            f"{len(new_spans)} selection(s) in source {name!r} are new since transcode exported it; "
            "added as thought units"
        )
    taken = {u.key for u in units}
    position = max((u.position for u in units), default=0)
    added = []
    for index, a, b in new_spans:
        position += 1
        number = position
        while (key := f"{case_key}-{number:04d}") in taken:
            number += 1
        taken.add(key)
        text = turns.turns[index].text
        added.append(UnitData(key, position, index + 1, a, b, text[a:b], _question(turns.turns, index)))
    return units + added


def _consensus_by(meta: ProjectMeta | None, snapshot: ProjectSnapshot) -> dict[str, str | None]:
    if meta is None:
        return {}
    recorded = {u.key: u.consensus_by for s in meta.sources.values() for u in s.units}
    return {
        key: recorded.get(key) if recorded.get(key) in snapshot.judges else None for key in snapshot.consensus
    }


def _clean(domains: set[str]) -> frozenset[str]:
    """``other`` together with domains means the domains (a judge's "other" is cleared by a domain)."""
    return frozenset(domains - {OTHER}) or frozenset(domains)


def _source_meta(meta: ProjectMeta | None, source: etree._Element) -> SourceMeta | None:
    if meta is None:
        return None
    found = meta.sources.get(source.get("guid", "").upper())
    if found is None:
        for ref in source.findall(q("NoteRef")):
            found = meta.notes.get(ref.get("targetGUID", "").upper()) or found
    return found


def _meta_case(meta: ProjectMeta | None, source: etree._Element) -> str | None:
    found = _source_meta(meta, source)
    return found.case if found else None


def _note_text(reader: _Reader, where: str) -> str:
    try:
        return reader.read_member(where).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise reader.error(f"note file {where!r} is not UTF-8") from None


def _warn_left_out(reader: _Reader, root: etree._Element) -> None:
    counts = {kind: len(list(root.iter(q(kind)))) for kind in _NOT_TEXT}
    for kind, count in counts.items():
        if count:
            codings = sum(len(list(s.iter(q("Coding")))) for s in root.iter(q(kind)))
            reader.warnings.append(
                f"{count} {kind}(s) with {codings} coding(s) left out: transcode codes text only"
            )
    whole = sum(len(s.findall(q("Coding"))) for s in root.iter(q("TextSource")))
    if whole:
        reader.warnings.append(f"{whole} coding(s) of whole sources left out: transcode codes thought units")
    memos = sum(
        1 for s in root.iter(q("PlainTextSelection")) if (s.findtext(q("Description")) or "").strip()
    ) + sum(1 for c in root.iter(q("Code")) for _ in c.findall(q("NoteRef")))
    notes = sum(1 for n in root.iter(q("Note")) if n.get("name") != METADATA_NOTE)
    links = len(list(root.iter(q("Link"))))
    graphs = len(list(root.iter(q("Graph"))))
    sets = sum(1 for s in root.iter(q("Set")) if s.get("name") != "CQR domains")
    for count, what in (
        (memos, "memo(s) on selections or codes"),
        (notes, "note(s)"),
        (links, "link(s)"),
        (graphs, "graph(s)"),
        (sets, "set(s)"),
    ):
        if count:
            reader.warnings.append(f"{count} {what} left out: a transcode store has no place for them")


def parse_codebook_document(data: bytes, path: str = "<qdc>") -> Codebook:
    """A .qdc as a codebook: codable top-level codes become domains, nested codes their categories."""
    root = parse_xml(data, path, "the codebook")
    if root.tag != q("CodeBook", CODEBOOK_NS):
        raise InputError(f"not a REFI-QDA codebook: the root element is {root.tag!r}, not CodeBook", path)
    for empty in root.findall(q("Sets", CODEBOOK_NS)):
        if len(empty) == 0:  # Taguette writes <Sets/>, which the schema forbids; it carries nothing
            root.remove(empty)
    check_schema(root, "codebook", path, "the codebook")
    reader = _Reader(root, lambda where: b"", path, SpeakerRoles())
    domains = reader.foreign_domains(root.find(q("Codes", CODEBOOK_NS)), CODEBOOK_NS, {})
    name = PurePosixPath(path).stem
    return parse_codebook({"name": name, "domains": domains}, path)


__all__ = ["Category", "QdpxContent", "parse_codebook_document", "parse_project"]
