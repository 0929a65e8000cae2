"""The project store: persistence only. Each public method that changes anything is one transaction.

What the rows mean for the workflow (a judge's current codes, core-idea versions,
the cross-analysis) lives in :mod:`transcode.coding`, :mod:`transcode.analysis`
and :mod:`transcode.cross`; this module reads and writes them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from transcode.classify import UnitProposal
from transcode.codebook import Codebook, parse_codebook
from transcode.codebook_changes import DomainMap
from transcode.errors import InputError, StoreError
from transcode.store import db, security
from transcode.store.schema import (
    INDEPENDENT,
    Assignment,
    Case,
    CodebookVersion,
    CodeDecision,
    ConsensusCode,
    Event,
    Judge,
    Project,
    Proposal,
    StudySetting,
    ThoughtUnitRow,
    TranscriptRow,
    TurnRow,
    utcnow,
)
from transcode.transcript import Transcript
from transcode.units import ThoughtUnit

T = TypeVar("T")
JUDGE_ROLES = ("judge", "auditor", "lead")
#: The longest judge name and case id the store holds (its column widths).
MAX_NAME = 100
#: Keys per IN (...) lookup and rows per bulk insert: under every database's parameter limit.
LOOKUP_SLICE = 5_000
INSERT_SLICE = 2_000


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
    phases: dict[str, str]

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
    suggestions_shown: bool | None


class CodebookRecord(NamedTuple):
    """One stored codebook version: ``changes`` says how ``codebook apply`` made it (None: given whole)."""

    version: int
    name: str
    time: datetime
    body: dict
    changes: dict | None


class JudgeRecord(NamedTuple):
    name: str
    role: str
    db_role: str | None


class AssignmentRecord(NamedTuple):
    judge: str
    case: str
    finished: bool


class EventRecord(NamedTuple):
    """One entry of the event trail: who (a registered person and/or the database role), when, what."""

    id: int
    time: datetime
    actor: str | None
    db_user: str | None
    kind: str
    case: str | None
    details: dict

    def as_dict(self) -> dict:
        out = self._asdict()
        out["time"] = self.time.isoformat()
        return out


def _slices(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def registered_judge(s: Session, name: str) -> Judge:
    """The registered person called ``name``; refused, with how to register them, when there is none."""
    name = (name or "").strip()
    if not name:
        raise InputError("a person must be named (--judge NAME): the store keeps who decided")
    judge = s.scalars(select(Judge).where(Judge.name == name)).first()
    if judge is None:
        raise InputError(
            f"{name!r} is not a registered judge of this study; "
            f"add them with `transcode judges add {name} --role judge|auditor|lead`"
        )
    return judge


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
    turn_rows = [
        TurnRow(transcript_id=row.id, number=number, speaker_role=role, label=label, text=text, line=line)
        for number, (role, label, text, line) in enumerate(turns, start=1)
    ]
    s.add_all(turn_rows)
    s.flush()  # one batched insert for the turns (their ids come back with it), not one per turn
    turn_ids = {t.number: t.id for t in turn_rows}
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
        if engine.url.get_backend_name() == "postgresql":
            with engine.begin() as connection:
                security.install_policies(connection)
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
        self._db_user: str | None = None

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

    def _save_codebook(self, s: Session, codebook: Codebook, changes: dict | None = None) -> int:
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
                changes=changes,
            )
        )
        return version

    def codebook_version(self) -> int | None:
        """The current codebook version's number (None before any codebook)."""
        with self.session() as s:
            return s.scalar(select(func.max(CodebookVersion.version)))

    def codebook_versions(self) -> list[CodebookRecord]:
        """Every version, oldest first, with how each came from the one before (its ``changes``)."""
        with self.session() as s:
            rows = s.execute(
                select(
                    CodebookVersion.version,
                    CodebookVersion.name,
                    CodebookVersion.created_at,
                    CodebookVersion.body,
                    CodebookVersion.changes,
                ).order_by(CodebookVersion.version)
            )
            return [CodebookRecord._make(row) for row in rows]

    def domain_map(self) -> DomainMap:
        """Where every domain id that ``transcode codebook apply`` moved lives now."""
        return DomainMap.from_changes(v.changes for v in self.codebook_versions())

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
        """Bulk statements in slices (no ORM object per score): memory stays at a slice's rows
        however many units a batch holds, and no statement exceeds a database's parameter limit."""
        keys = list(proposals)
        rows: dict[str, int] = {}
        for part in _slices(keys, LOOKUP_SLICE):
            rows.update(
                s.execute(
                    select(ThoughtUnitRow.key, ThoughtUnitRow.id).where(ThoughtUnitRow.key.in_(part))
                ).all()
            )
        missing = [k for k in keys if k not in rows]
        if missing:
            raise StoreError(f"proposals for units not in the store: {missing[:3]}")
        for ids in _slices(list(rows.values()), LOOKUP_SLICE):
            s.execute(delete(Proposal).where(Proposal.unit_id.in_(ids)))
        created = utcnow()
        for part in _slices(keys, INSERT_SLICE):
            s.execute(
                insert(Proposal),
                [
                    {
                        "unit_id": rows[k],
                        "domain": d,
                        "score": score,
                        "suggested": d in proposals[k].suggested,
                        "model_version": proposals[k].model_version,
                        "created_at": created,
                    }
                    for k in part
                    for d, score in proposals[k].scores
                ],
            )
        return len(keys)

    def proposals(self, unit_key: str) -> list[tuple[str, float, bool]]:
        with self.session() as s:
            unit = self._unit(s, unit_key)
            rows = s.scalars(
                select(Proposal).where(Proposal.unit_id == unit.id).order_by(Proposal.score.desc())
            )
            return [(p.domain, p.score, p.suggested) for p in rows]

    # -- people: judges, auditors, leads -----------------------------------------------
    def judge(self, name: str) -> int:
        """The id of the registered person ``name`` (refused when the study has nobody of that name)."""
        with self.session() as s:
            return registered_judge(s, name).id

    def add_judge(
        self, name: str, role: str, db_role: str | None = None, *, details: dict | None = None
    ) -> int:
        """Register a person (one transaction, with its ``judge_added`` event); refused if already there."""
        name = (name or "").strip()
        if role not in JUDGE_ROLES:
            raise InputError(f"role must be judge, auditor or lead, not {role!r}")
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            if s.scalar(select(Judge.id).where(Judge.project_id == project_id, Judge.name == name)):
                raise InputError(f"{name!r} is already registered in this study")
            if db_role and s.scalar(select(Judge.name).where(Judge.db_role == db_role)):
                raise InputError(f"the database role {db_role!r} already belongs to another person")
            judge_id = ensure_judge(s, project_id, name, role)
            if db_role:
                if self.engine.url.get_backend_name() != "postgresql":
                    raise InputError(
                        "database roles are PostgreSQL's: "
                        "on SQLite whoever can read the file reads everything"
                    )
                security.grant_person(s.connection(), db_role, lead=role == "lead")
                s.get_one(Judge, judge_id).db_role = db_role
            added = {"name": name, "role": role, **(details or {})}
            self._event(s, project_id, "judge_added", None, None, added)
            return judge_id

    def judges(self) -> list[JudgeRecord]:
        with self.session() as s:
            rows = s.execute(select(Judge.name, Judge.role, Judge.db_role).order_by(Judge.name))
            return [JudgeRecord._make(row) for row in rows]

    def judge_role(self, name: str) -> str | None:
        """``judge``, ``auditor`` or ``lead``; None for a name the store does not know."""
        with self.session() as s:
            return s.scalar(select(Judge.role).where(Judge.name == name))

    def db_user(self) -> str | None:
        """The database role this store is opened as (PostgreSQL); None on SQLite."""
        if self.engine.url.get_backend_name() != "postgresql":
            return None
        if self._db_user is None:
            with self.engine.connect() as connection:
                self._db_user = str(connection.execute(sql("SELECT current_user")).scalar_one())
        return self._db_user

    def connected_judge(self) -> str | None:
        """The registered person whose database role this store is opened as (PostgreSQL), if any."""
        user = self.db_user()
        if user is None:
            return None
        with self.session() as s:
            return s.scalar(select(Judge.name).where(Judge.db_role == user))

    # -- assignments ------------------------------------------------------------------------
    def assign(self, judges: Sequence[str], cases: Sequence[str], actor: str) -> int:
        """Assign each person to each case (pairs already assigned stay); one transaction; how many new."""
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            actor_id = registered_judge(s, actor).id
            judge_ids = {name: registered_judge(s, name).id for name in judges}
            case_ids = self._case_ids(s, project_id, cases)
            existing = set(s.execute(select(Assignment.judge_id, Assignment.case_id)).all())
            added = 0
            for case_id in case_ids.values():
                new = [name for name, j in judge_ids.items() if (j, case_id) not in existing]
                s.add_all(Assignment(judge_id=judge_ids[name], case_id=case_id) for name in new)
                if new:
                    added += len(new)
                    self._event(s, project_id, "assigned", actor_id, case_id, {"judges": new})
            return added

    def unassign(self, judges: Sequence[str], cases: Sequence[str], actor: str) -> int:
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            actor_id = registered_judge(s, actor).id
            judge_ids = {name: registered_judge(s, name).id for name in judges}
            removed = 0
            for case_id in self._case_ids(s, project_id, cases).values():
                result = s.execute(
                    delete(Assignment).where(
                        Assignment.case_id == case_id, Assignment.judge_id.in_(judge_ids.values())
                    )
                )
                count = getattr(result, "rowcount", 0) or 0
                if count:
                    removed += count
                    self._event(s, project_id, "unassigned", actor_id, case_id, {"judges": sorted(judge_ids)})
            return removed

    def assignments(self, judge: str | None = None) -> list[AssignmentRecord]:
        query = (
            select(Judge.name, Case.key, Assignment.finished_at)
            .join(Judge, Judge.id == Assignment.judge_id)
            .join(Case, Case.id == Assignment.case_id)
            .order_by(Case.key, Judge.name)
        )
        if judge is not None:
            query = query.where(Judge.name == judge)
        with self.session() as s:
            return [AssignmentRecord(name, case, at is not None) for name, case, at in s.execute(query)]

    def set_finished(self, judge: str, case: str, finished: bool) -> None:
        """Mark the judge's assignment to ``case`` finished (or not); one short transaction."""
        with self.sessions.begin() as s:
            judge_id = registered_judge(s, judge).id
            case_id = s.scalar(select(Case.id).where(Case.key == case))
            s.execute(
                update(Assignment)
                .where(Assignment.judge_id == judge_id, Assignment.case_id == case_id)
                .values(finished_at=utcnow() if finished else None)
            )

    # -- phases and the event trail -------------------------------------------------------------
    def case_phases(self) -> dict[str, str]:
        """Every case's phase, cases in key order."""
        with self.session() as s:
            return dict(s.execute(select(Case.key, Case.phase).order_by(Case.key)).all())

    def set_phases(self, changes: Mapping[str, tuple[str, dict]], actor: str | None) -> None:
        """Move cases to new phases, each with its ``phase`` event, in one transaction.

        ``changes`` maps a case to ``(phase, event details)``; the rules live in
        :mod:`transcode.coding.phases`, this only writes.
        """
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            actor_id = registered_judge(s, actor).id if actor else None
            case_ids = self._case_ids(s, project_id, list(changes))
            for case, (phase, details) in changes.items():
                s.execute(update(Case).where(Case.id == case_ids[case]).values(phase=phase))
                self._event(s, project_id, "phase", actor_id, case_ids[case], details)

    def add_event(self, kind: str, actor: str | None, details: dict, case: str | None = None) -> int:
        """Append one event to the trail (its own transaction)."""
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            actor_id = registered_judge(s, actor).id if actor else None
            case_id = self._case_ids(s, project_id, [case])[case] if case else None
            return self._event(s, project_id, kind, actor_id, case_id, details)

    def _event(
        self, s: Session, project_id: int, kind: str, actor_id: int | None, case_id: int | None, details: dict
    ) -> int:
        row = Event(
            project_id=project_id,
            kind=kind,
            actor_id=actor_id,
            case_id=case_id,
            details=details,
            db_user=self.db_user(),
        )
        s.add(row)
        s.flush()
        return row.id

    def events(self, case: str | None = None, kind: str | None = None) -> list[EventRecord]:
        """The trail, oldest first: every event, or one case's, or one kind's."""
        query = (
            select(Event.id, Event.created_at, Judge.name, Event.db_user, Event.kind, Case.key, Event.details)
            .outerjoin(Judge, Judge.id == Event.actor_id)
            .outerjoin(Case, Case.id == Event.case_id)
            .order_by(Event.id)
        )
        if case is not None:
            query = query.where(Case.key == case)
        if kind is not None:
            query = query.where(Event.kind == kind)
        with self.session() as s:
            return [EventRecord._make(row) for row in s.execute(query)]

    def _case_ids(self, s: Session, project_id: int, cases: Sequence[str | None]) -> dict[str, int]:
        found = dict(
            s.execute(
                select(Case.key, Case.id).where(Case.project_id == project_id, Case.key.in_(list(cases)))
            ).all()
        )
        missing = [c for c in cases if c not in found]
        if missing:
            raise InputError(f"no case {missing[0]!r} in the store")
        return found

    # -- study settings -------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        with self.session() as s:
            return s.scalar(select(StudySetting.value).where(StudySetting.key == key))

    def set_setting(self, key: str, value: str, actor: str) -> None:
        """Change a study setting, with its ``setting`` event, in one transaction."""
        with self.sessions.begin() as s:
            project_id = self.project_id(s)
            actor_id = registered_judge(s, actor).id
            row = s.scalars(
                select(StudySetting).where(StudySetting.project_id == project_id, StudySetting.key == key)
            ).first()
            before = None if row is None else row.value
            if row is None:
                s.add(StudySetting(project_id=project_id, key=key, value=value))
            else:
                row.value = value
            self._event(s, project_id, "setting", actor_id, None, {"key": key, "from": before, "to": value})

    # -- decisions ----------------------------------------------------------------------------
    def decision_log(
        self,
        judge: str | None = None,
        *,
        roles: Sequence[str] | None = None,
        cases: Iterable[str] | None = None,
    ) -> list[LoggedDecision]:
        """The decision log, oldest first: every judge's, one judge's, some roles', some cases'.

        Reading every judge's decisions is for after independent coding: the callers in
        :mod:`transcode.coding` pass the cases the phase rules open (:mod:`transcode.coding.phases`).
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
                CodeDecision.suggestions_shown,
            )
            .join(Judge, Judge.id == CodeDecision.judge_id)
            .join(ThoughtUnitRow, ThoughtUnitRow.id == CodeDecision.unit_id)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .order_by(CodeDecision.id)
        )
        if judge is not None:
            query = query.where(Judge.name == judge)
        if roles is not None:
            query = query.where(Judge.role.in_(list(roles)))
        if cases is not None:
            query = query.where(Case.key.in_(list(cases)))
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

    def cases_with_consensus(self) -> list[str]:
        """The cases holding at least one consensus code."""
        with self.session() as s:
            rows = s.scalars(
                select(Case.key)
                .join(ThoughtUnitRow, ThoughtUnitRow.case_id == Case.id)
                .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
                .distinct()
                .order_by(Case.key)
            )
            return list(rows)

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
                coded=s.scalar(
                    select(func.count(func.distinct(CodeDecision.unit_id)))
                    .join(ThoughtUnitRow, ThoughtUnitRow.id == CodeDecision.unit_id)
                    .join(Case, Case.id == ThoughtUnitRow.case_id)
                    .where(Case.phase != INDEPENDENT)
                )
                or 0,
                agreed=s.scalar(select(func.count(func.distinct(ConsensusCode.unit_id)))) or 0,
                judges=list(s.scalars(select(Judge.name).order_by(Judge.name))),
                codebook_version=version,
                phases=dict(s.execute(select(Case.key, Case.phase).order_by(Case.key)).all()),
            )
