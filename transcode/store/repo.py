"""The project store: persistence only. Each public method that changes anything is one transaction.

What the rows mean for the workflow (a judge's current codes, core-idea versions,
the cross-analysis) lives in :mod:`transcode.coding`, :mod:`transcode.analysis`
and :mod:`transcode.cross`; this module reads and writes them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from transcode.classify import UnitProposal
from transcode.codebook import Codebook, parse_codebook
from transcode.errors import InputError, StoreError
from transcode.store import db
from transcode.store.schema import (
    Case,
    CodebookVersion,
    CodeDecision,
    ConsensusCode,
    Judge,
    Project,
    Proposal,
    ThoughtUnitRow,
    TranscriptRow,
    TurnRow,
)
from transcode.transcript import Transcript
from transcode.units import ThoughtUnit

JUDGE_ROLES = ("judge", "auditor")
#: The longest judge name and case id the store holds (its column widths).
MAX_NAME = 100


@dataclass(frozen=True)
class StoreStatus:
    project: str
    cases: int
    transcripts: int
    units: int
    coded: int
    agreed: int
    judges: list[str]
    codebook_version: int | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class UnitFields(NamedTuple):
    """A thought unit as stored: ``turn`` is the 1-based turn number, offsets are in its text."""

    key: str
    position: int
    turn: int
    start: int
    end: int
    text: str
    question: str | None


class LoggedDecision(NamedTuple):
    """One row of the append-only decision log, with who decided and on which case and unit."""

    id: int
    time: datetime
    judge: str
    role: str
    case: str
    unit: str
    domain: str | None
    action: str
    note: str | None
    model_version: str | None


def ensure_judge(s: Session, project_id: int, name: str, role: str = "judge") -> int:
    """The id of the judge ``name``, added inside ``s`` when new (a failed transaction adds nobody).

    A judge keeps the role they were first given.
    """
    name = (name or "").strip()
    if not name:
        raise InputError("a person must be named (--judge NAME): the store keeps who decided")
    if len(name) > MAX_NAME:
        raise InputError(f"a judge's name has at most {MAX_NAME} characters, not {len(name)}")
    if role not in JUDGE_ROLES:
        raise InputError(f"role must be judge or auditor, not {role!r}")
    judge = s.scalars(select(Judge).where(Judge.project_id == project_id, Judge.name == name)).first()
    if judge is None:
        judge = Judge(project_id=project_id, name=name, role=role)
        s.add(judge)
        s.flush()
    return judge.id


def transcript_hash(turns: Iterable[tuple[str, str]]) -> str:
    """Content hash of (label, text) turns: re-importing the same transcript is recognised."""
    return hashlib.sha256("\n".join(f"{label}\t{text}" for label, text in turns).encode()).hexdigest()


def insert_transcript_rows(
    s: Session,
    case_id: int,
    *,
    source_name: str,
    content_hash: str,
    metadata: Mapping[str, str],
    turns: Sequence[tuple[str, str, str, int | None]],
    units: Iterable[UnitFields],
) -> dict[str, int]:
    """Add a transcript, its (role, label, text, line) turns and its units inside ``s``; unit ids by key."""
    row = TranscriptRow(
        case_id=case_id, source_name=source_name, content_hash=content_hash, metadata_=dict(metadata)
    )
    s.add(row)
    s.flush()
    turn_ids = {}
    for number, (role, label, text, line) in enumerate(turns, start=1):
        turn_row = TurnRow(
            transcript_id=row.id, number=number, speaker_role=role, label=label, text=text, line=line
        )
        s.add(turn_row)
        s.flush()
        turn_ids[number] = turn_row.id
    unit_rows = [
        ThoughtUnitRow(
            case_id=case_id,
            transcript_id=row.id,
            turn_id=turn_ids[u.turn],
            key=u.key,
            position=u.position,
            turn_number=u.turn,
            start=u.start,
            end=u.end,
            text=u.text,
            question=u.question,
        )
        for u in units
    ]
    s.add_all(unit_rows)
    s.flush()
    return {u.key: u.id for u in unit_rows}


def open_store(
    url: str, *, create: bool = False, project: str = "transcode project", migrate: bool = True
) -> Store:
    """Open the store at ``url``: with ``create``, initialise it; unless ``migrate`` is False, bring its
    schema up to date. Without ``migrate`` a store at an older schema is refused, not changed.

    Every message names the store by :func:`~transcode.store.db.public_url` (no password)."""
    engine = db.make_engine(url)
    label = db.public_url(engine.url)
    database = db.sqlite_file(engine.url) if engine.url.get_backend_name() == "sqlite" else None
    if not create and database is not None and not database.exists():
        raise InputError(f"no transcode store at {label}; run `transcode init` first")
    try:
        if database is not None and create:
            db.create_sqlite_file(database)
        if not create and not db.is_initialised(engine):
            raise InputError(f"no transcode store at {label}; run `transcode init` first")
        if create or migrate:
            db.migrate(engine)
        elif db.schema_revision(engine) != db.head_revision():
            raise StoreError(
                f"the store at {label} has an older schema ({db.schema_revision(engine) or 'none'}); "
                "`transcode init --db URL` upgrades it"
            )
    except DBAPIError as err:
        engine.dispose()
        raise InputError(f"cannot open store {label}: {_first_line(err.orig)}") from None
    except BaseException:
        engine.dispose()
        raise
    store = Store(engine)
    if create:
        store.ensure_project(project)
    return store


def _first_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class Store:
    """A project store: ``with open_store(url) as store:`` closes it at the end of the block."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = db.session_factory(engine)
        #: How the store is named to people and in records (model cards): its URL without secrets.
        self.label = db.public_url(engine.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self) -> Session:
        return self.sessions()

    # -- project and codebook -------------------------------------------------
    def ensure_project(self, name: str) -> int:
        with self.sessions.begin() as s:
            project = s.scalars(select(Project).order_by(Project.id)).first()
            if project is None:
                project = Project(name=name)
                s.add(project)
                s.flush()
            return project.id

    def project_id(self, s: Session) -> int:
        project_id = s.scalar(select(Project.id).order_by(Project.id))
        if project_id is None:
            raise StoreError("the store holds no project; run `transcode init`")
        return project_id

    def save_codebook(self, codebook: Codebook) -> int:
        """Store the codebook; a changed codebook becomes a new version. Returns the version."""
        with self.sessions.begin() as s:
            return self._save_codebook(s, codebook)

    def _save_codebook(self, s: Session, codebook: Codebook) -> int:
        project_id = self.project_id(s)
        latest = s.scalars(
            select(CodebookVersion)
            .where(CodebookVersion.project_id == project_id)
            .order_by(CodebookVersion.version.desc())
        ).first()
        if latest is not None and latest.fingerprint == codebook.fingerprint():
            return latest.version
        version = 1 if latest is None else latest.version + 1
        s.add(
            CodebookVersion(
                project_id=project_id,
                version=version,
                name=codebook.name,
                fingerprint=codebook.fingerprint(),
                body=codebook.to_dict(),
            )
        )
        return version

    def codebook(self) -> Codebook | None:
        with self.session() as s:
            row = s.scalars(select(CodebookVersion).order_by(CodebookVersion.version.desc())).first()
            return None if row is None else parse_codebook(row.body, f"store codebook v{row.version}")

    # -- cases, transcripts, units ---------------------------------------------
    def import_transcript(self, transcript: Transcript, units: Sequence[ThoughtUnit]) -> str:
        """Add a de-identified transcript with its turns and units; one transaction.

        Re-importing identical content is a no-op; a case already holding a
        different transcript is an error rather than a silent duplicate.
        """
        with self.sessions.begin() as s:
            return self._import_transcript(s, transcript, units)

    def import_cases(
        self,
        cases: Sequence[tuple[Transcript, Sequence[ThoughtUnit]]],
        *,
        codebook: Codebook | None = None,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
        proposals: Mapping[str, UnitProposal] | None = None,
    ) -> dict[str, str]:
        """Load a batch (``import``, ``precode --store``) in one transaction: all of it or nothing.

        The codebook, every case's transcript and units, the case attributes and the units'
        proposals; any error (a case holding another transcript, a full disk) rolls back the
        whole batch. Returns ``imported`` or ``unchanged`` per case.
        """
        keys = [t.case for t, _ in cases]
        for transcript, _ in cases:
            if len(transcript.case) > MAX_NAME:
                raise InputError(f"a case id has at most {MAX_NAME} characters", transcript.source)
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            sources = [t.source for t, _ in cases if t.case == twice[0]]
            raise InputError(f"case {twice[0]!r} comes from two transcripts: {', '.join(map(str, sources))}")
        with self.sessions.begin() as s:
            if codebook is not None:
                self._save_codebook(s, codebook)
            results = {t.case: self._import_transcript(s, t, units) for t, units in cases}
            if attributes:
                self._set_case_attributes(s, attributes)
            if proposals:
                self._save_proposals(s, proposals)
            return results

    def _import_transcript(self, s: Session, transcript: Transcript, units: Sequence[ThoughtUnit]) -> str:
        content_hash = transcript_hash((t.label, t.text) for t in transcript.turns)
        project_id = self.project_id(s)
        case = s.scalars(
            select(Case).where(Case.project_id == project_id, Case.key == transcript.case)
        ).first()
        if case is None:
            case = Case(project_id=project_id, key=transcript.case, attributes={})
            s.add(case)
            s.flush()
        existing = s.scalars(select(TranscriptRow).where(TranscriptRow.case_id == case.id)).all()
        if any(t.content_hash == content_hash for t in existing):
            return "unchanged"
        if existing:
            raise InputError(
                f"case {transcript.case!r} already has a different transcript in the store",
                transcript.source,
            )
        insert_transcript_rows(
            s,
            case.id,
            source_name=transcript.source or transcript.case,
            content_hash=content_hash,
            metadata=transcript.metadata,
            turns=[(t.speaker_role, t.label, t.text, t.line) for t in transcript.turns],
            units=[UnitFields(u.unit_id, u.index, u.turn, u.start, u.end, u.text, u.question) for u in units],
        )
        return "imported"

    def set_case_attributes(self, attributes: Mapping[str, Mapping[str, str]]) -> None:
        with self.sessions.begin() as s:
            self._set_case_attributes(s, attributes)

    def _set_case_attributes(self, s: Session, attributes: Mapping[str, Mapping[str, str]]) -> None:
        project_id = self.project_id(s)
        for key, values in attributes.items():
            case = s.scalars(select(Case).where(Case.project_id == project_id, Case.key == key)).first()
            if case is None:
                case = Case(project_id=project_id, key=key, attributes={})
                s.add(case)
            case.attributes = {**(case.attributes or {}), **dict(values)}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        """Every case in the store with its attributes: the sample N the frequency labels count."""
        with self.session() as s:
            project_id = self.project_id(s)
            rows = s.scalars(select(Case).where(Case.project_id == project_id).order_by(Case.key))
            return {c.key: {str(k): str(v) for k, v in (c.attributes or {}).items()} for c in rows}

    def units(self, case: str | None = None) -> list[ThoughtUnitRow]:
        with self.session() as s:
            query = select(ThoughtUnitRow).join(Case).order_by(Case.key, ThoughtUnitRow.position)
            if case is not None:
                query = query.where(Case.key == case)
            return list(s.scalars(query))

    def _unit(self, s: Session, unit_key: str) -> ThoughtUnitRow:
        unit = s.scalars(select(ThoughtUnitRow).where(ThoughtUnitRow.key == unit_key)).first()
        if unit is None:
            raise StoreError(f"no thought unit {unit_key!r} in the store")
        return unit

    # -- proposals --------------------------------------------------------------
    def save_proposals(self, proposals: Mapping[str, UnitProposal]) -> int:
        """Replace the current proposals of the given units (keyed by unit id)."""
        with self.sessions.begin() as s:
            return self._save_proposals(s, proposals)

    def _save_proposals(self, s: Session, proposals: Mapping[str, UnitProposal]) -> int:
        keys = list(proposals)
        rows = {u.key: u.id for u in s.scalars(select(ThoughtUnitRow).where(ThoughtUnitRow.key.in_(keys)))}
        missing = [k for k in keys if k not in rows]
        if missing:
            raise StoreError(f"proposals for units not in the store: {missing[:3]}")
        s.execute(delete(Proposal).where(Proposal.unit_id.in_(rows.values())))
        s.add_all(
            Proposal(
                unit_id=rows[k],
                domain=d,
                score=score,
                suggested=d in p.suggested,
                model_version=p.model_version,
            )
            for k, p in proposals.items()
            for d, score in p.scores
        )
        return len(keys)

    def proposals(self, unit_key: str) -> list[tuple[str, float, bool]]:
        with self.session() as s:
            unit = self._unit(s, unit_key)
            rows = s.scalars(
                select(Proposal).where(Proposal.unit_id == unit.id).order_by(Proposal.score.desc())
            )
            return [(p.domain, p.score, p.suggested) for p in rows]

    # -- judges and decisions -----------------------------------------------------
    def judge(self, name: str, role: str = "judge") -> int:
        """The judge's id; a new name becomes a judge (or auditor) in its own transaction."""
        with self.sessions.begin() as s:
            return ensure_judge(s, self.project_id(s), name, role)

    def judge_role(self, name: str) -> str | None:
        """``judge`` or ``auditor``; None for a name the store does not know."""
        with self.session() as s:
            return s.scalar(select(Judge.role).where(Judge.name == name))

    def decision_log(self, judge: str | None = None, *, role: str | None = None) -> list[LoggedDecision]:
        """The decision log, oldest first: every judge's, one judge's, or one role's.

        Every judge's decisions are for after independent coding (agreement, consensus,
        exports); during it a judge sees their own only.
        """
        query = (
            select(
                CodeDecision.id,
                CodeDecision.created_at,
                Judge.name,
                Judge.role,
                Case.key,
                ThoughtUnitRow.key,
                CodeDecision.domain,
                CodeDecision.action,
                CodeDecision.note,
                CodeDecision.model_version,
            )
            .join(Judge, Judge.id == CodeDecision.judge_id)
            .join(ThoughtUnitRow, ThoughtUnitRow.id == CodeDecision.unit_id)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .order_by(CodeDecision.id)
        )
        if judge is not None:
            query = query.where(Judge.name == judge)
        if role is not None:
            query = query.where(Judge.role == role)
        with self.session() as s:
            return [LoggedDecision._make(row) for row in s.execute(query)]

    def set_consensus(
        self, unit_key: str, domains: Iterable[str], recorded_by: str | None = None, note: str | None = None
    ) -> None:
        domains = sorted(set(domains)) or ["other"]
        recorder = self.judge(recorded_by) if recorded_by else None
        with self.sessions.begin() as s:
            unit = self._unit(s, unit_key)
            s.execute(delete(ConsensusCode).where(ConsensusCode.unit_id == unit.id))
            s.add_all(
                ConsensusCode(unit_id=unit.id, domain=d, recorded_by_id=recorder, note=note) for d in domains
            )

    def consensus(self) -> dict[str, frozenset[str]]:
        with self.session() as s:
            rows = s.execute(
                select(ThoughtUnitRow.key, ConsensusCode.domain).join(
                    ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id
                )
            ).all()
        out: dict[str, set[str]] = defaultdict(set)
        for key, domain in rows:
            out[key].add(domain)
        return {k: frozenset(v) for k, v in out.items()}

    # -- overview ------------------------------------------------------------------
    def status(self) -> StoreStatus:
        with self.session() as s:
            project = s.scalars(select(Project).order_by(Project.id)).first()
            if project is None:
                raise StoreError("the store holds no project; run `transcode init`")
            version = s.scalar(select(func.max(CodebookVersion.version)))
            return StoreStatus(
                project=project.name,
                cases=s.scalar(select(func.count(Case.id))) or 0,
                transcripts=s.scalar(select(func.count(TranscriptRow.id))) or 0,
                units=s.scalar(select(func.count(ThoughtUnitRow.id))) or 0,
                coded=s.scalar(select(func.count(func.distinct(CodeDecision.unit_id)))) or 0,
                agreed=s.scalar(select(func.count(func.distinct(ConsensusCode.unit_id)))) or 0,
                judges=list(s.scalars(select(Judge.name).order_by(Judge.name))),
                codebook_version=version,
            )
