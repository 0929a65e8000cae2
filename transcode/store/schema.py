"""The project store: SQLAlchemy 2 models for everything a CQR team decides.

Portable SQL only (no SQLite-isms), so the same models run on PostgreSQL.
Decisions are an append-only log: a judge's current codes are derived from it,
and nothing a judge did is ever overwritten.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: A case's study phases, in order (the rules for moving between them: transcode.coding.phases).
PHASES = ("independent", "consensus", "audit", "closed")
INDEPENDENT = PHASES[0]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Project(Base):
    __tablename__ = "project"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodebookVersion(Base):
    __tablename__ = "codebook"
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict] = mapped_column(JSON)
    #: How this version came from the one before (``transcode codebook apply``): the operations,
    #: what each moved, and the last decision id before it; None for a version given to ``init``.
    changes: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodebookRecode(Base):
    """A unit to code again after its domain was split: a judge's (``judge_id``) or the team's
    consensus (``judge_id`` NULL). It stays pending until that judge decides on the unit again
    (a decision id above ``after_id``), or the team records the unit's consensus after the version.
    """

    __tablename__ = "codebook_recode"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("thought_unit.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id", ondelete="CASCADE"), nullable=True)
    codebook_version: Mapped[int] = mapped_column(Integer)
    domain: Mapped[str] = mapped_column(String(100))
    into: Mapped[list] = mapped_column(JSON)
    after_id: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "case_"
    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    #: independent | consensus | audit | closed (transcode.coding.phases); only a lead moves it.
    phase: Mapped[str] = mapped_column(String(20), default=INDEPENDENT, server_default=INDEPENDENT)
    transcripts: Mapped[list[TranscriptRow]] = relationship(back_populates="case")


class TranscriptRow(Base):
    __tablename__ = "transcript"
    __table_args__ = (Index("ix_transcript_case_id", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_.id", ondelete="CASCADE"))
    source_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    deidentified: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    case: Mapped[Case] = relationship(back_populates="transcripts")
    turns: Mapped[list[TurnRow]] = relationship(order_by="TurnRow.number", cascade="all, delete-orphan")


class TurnRow(Base):
    __tablename__ = "turn"
    __table_args__ = (UniqueConstraint("transcript_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    speaker_role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)


class ThoughtUnitRow(Base):
    __tablename__ = "thought_unit"
    __table_args__ = (
        UniqueConstraint("case_id", "key"),
        # a transcript's units in order (exports), a unit by its key (each keypress), a turn's units
        Index("ix_thought_unit_transcript_id", "transcript_id", "position"),
        Index("ix_thought_unit_key", "key"),
        Index("ix_thought_unit_turn_id", "turn_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    turn_id: Mapped[int] = mapped_column(ForeignKey("turn.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer)
    turn_number: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    case: Mapped[Case] = relationship()


class Judge(Base):
    __tablename__ = "judge"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="judge")  # judge | auditor | lead
    #: The PostgreSQL role this person connects as (row-level security reads it); None on SQLite.
    db_role: Mapped[str | None] = mapped_column(String(63), nullable=True)


class Assignment(Base):
    """A judge assigned to code a case; ``finished_at`` is set once they have coded all of it."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("judge_id", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judge.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StudySetting(Base):
    """One study setting (``suggestions``: visible | after-first-choice | hidden); absent means default."""

    __tablename__ = "study_setting"
    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(50))
    value: Mapped[str] = mapped_column(String(200))


class Event(Base):
    """The audit trail: who did what, when, to which case, with the details as JSON. Append-only.

    ``kind`` names the event (``phase``, ``unlock``, ``judge_added``, ``assigned``, ``setting``,
    and whatever later workflows add); ``db_user`` is the database role that wrote it (PostgreSQL).
    """

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id"), nullable=True)
    db_user: Mapped[str | None] = mapped_column(String(63), nullable=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_.id", ondelete="CASCADE"), nullable=True, index=True
    )
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Proposal(Base):
    __tablename__ = "proposal"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("thought_unit.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    suggested: Mapped[bool] = mapped_column(Boolean, default=False)
    model_version: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodeDecision(Base):
    """One decision by one judge: append-only; the latest per (unit, judge, domain) is current.

    ``action`` is ``accepted`` / ``added`` (the domain applies), ``rejected`` /
    ``removed`` (it does not), or ``other`` with a NULL domain (the unit fits no domain).
    """

    __tablename__ = "code_decision"
    __table_args__ = (Index("ix_code_decision_unit_judge", "unit_id", "judge_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("thought_unit.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("judge.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: Whether the model's suggestions were on the judge's screen when they decided (None: not recorded).
    suggestions_shown: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsensusCode(Base):
    __tablename__ = "consensus_code"
    __table_args__ = (UniqueConstraint("unit_id", "domain"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("thought_unit.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(100))  # "other" when the team agreed on no domain
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CoreIdea(Base):
    """A core idea for one case x domain; revisions point at what they supersede."""

    __tablename__ = "core_idea"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # machine_draft | draft | consensus
    author_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id"), nullable=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("core_idea.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CoreIdeaUnit(Base):
    __tablename__ = "core_idea_unit"
    core_idea_id: Mapped[int] = mapped_column(
        ForeignKey("core_idea.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("thought_unit.id", ondelete="CASCADE"), primary_key=True)


class Category(Base):
    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(300))
    is_other: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CoreIdeaCategory(Base):
    __tablename__ = "core_idea_category"
    core_idea_id: Mapped[int] = mapped_column(
        ForeignKey("core_idea.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"), primary_key=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("judge.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditComment(Base):
    """An auditor's comment on a consensus code, core idea or category, and the team's answer."""

    __tablename__ = "audit_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(30))  # unit | core_idea | category
    target_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("judge.id"))
    text: Mapped[str] = mapped_column(Text)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("audit_comment.id"), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)  # accepted | rejected
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
