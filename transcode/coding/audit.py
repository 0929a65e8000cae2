"""The audit: auditors comment on consensus codes, core ideas and categories; the team answers.

One comment API for every target and every caller (the coding room's audit
screen, ``transcode comment`` and the category log): a comment, a reply that
may settle the comment it answers (``accepted`` / ``rejected``, its text the
rationale), and the thread, oldest first. :class:`AuditSession` is the audit
screen without the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from transcode.codebook import Codebook
from transcode.coding import people, phases
from transcode.errors import InputError, PhaseError, StoreError
from transcode.store import Store
from transcode.store.repo import registered_judge
from transcode.store.schema import AuditComment, Category, CoreIdea, Judge, ThoughtUnitRow

COMMENT_TARGETS = ("unit", "core_idea", "category")
RESOLUTIONS = ("accepted", "rejected")
_TARGET_ROWS = {"unit": ThoughtUnitRow, "core_idea": CoreIdea, "category": Category}


@dataclass(frozen=True)
class AuditTarget:
    """Something an auditor can comment on: a unit's consensus codes or a core idea."""

    target_type: str  # unit | core_idea
    target_id: int
    case: str
    title: str
    text: str
    codes: frozenset[str]
    context: str | None = None


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    role: str
    text: str
    reply_to: int | None
    resolution: str | None
    rationale: str | None
    created_at: datetime | None = None

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


def _check_target_type(target_type: str) -> None:
    if target_type not in COMMENT_TARGETS:
        raise InputError(f"comments go on {', '.join(COMMENT_TARGETS)}, not {target_type!r}")


def _check_resolution(resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise InputError(f"resolution must be accepted or rejected, not {resolution!r}")


def _clean_text(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InputError("an empty comment is not saved")
    return text


def add_to_thread(
    s: Session,
    project_id: int,
    target_type: str,
    target_id: int,
    author_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    resolution: str | None = None,
) -> AuditComment:
    """Append a comment row inside ``s`` (the caller's transaction): the one place comments are written."""
    row = AuditComment(
        project_id=project_id,
        target_type=target_type,
        target_id=target_id,
        author_id=author_id,
        text=text,
        reply_to_id=reply_to,
        resolution=resolution,
    )
    s.add(row)
    return row


def comment(
    store: Store,
    target_type: str,
    target_id: int,
    author: str,
    text: str,
    *,
    reply_to: int | None = None,
    resolution: str | None = None,
) -> int:
    """An auditor's comment on a unit, core idea or category, or (``reply_to``) the team's answer.

    A reply may settle the comment it answers (``resolution``); its text is the rationale.
    The author is a registered person of the study. One transaction.
    """
    _check_target_type(target_type)
    if resolution is not None:
        _check_resolution(resolution)
        if reply_to is None:
            raise InputError("a resolution answers a comment: give --reply-to ID")
    text = _clean_text(text)
    people.require(store, author, doing="commenting")
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        if s.get(_TARGET_ROWS[target_type], target_id) is None:
            raise StoreError(f"no {target_type.replace('_', ' ')} {target_id}")
        parent = None
        if reply_to is not None:
            parent = s.get(AuditComment, reply_to)
            if parent is None or (parent.target_type, parent.target_id) != (target_type, target_id):
                raise StoreError(f"comment {reply_to} is not on {target_type} {target_id}")
        author_id = registered_judge(s, author).id
        row = add_to_thread(s, project_id, target_type, target_id, author_id, text, reply_to=reply_to)
        if parent is not None and resolution is not None:
            parent.resolution = resolution
            parent.rationale = text
        s.flush()
        return row.id


def resolve_comment(store: Store, comment_id: int, resolution: str, rationale: str | None = None) -> None:
    """The team's verdict on an auditor's comment: ``accepted`` or ``rejected``, with why."""
    _check_resolution(resolution)
    with store.sessions.begin() as s:
        row = s.get(AuditComment, comment_id)
        if row is None:
            raise StoreError(f"no audit comment {comment_id}")
        row.resolution = resolution
        row.rationale = rationale


def thread(store: Store, target_type: str, target_id: int) -> list[Comment]:
    """The comments on one target, oldest first (replies point at what they answer)."""
    _check_target_type(target_type)
    with store.session() as s:
        rows = s.execute(
            select(AuditComment, Judge.name, Judge.role)
            .join(Judge, Judge.id == AuditComment.author_id)
            .where(AuditComment.target_type == target_type, AuditComment.target_id == target_id)
            .order_by(AuditComment.id)
        ).all()
    return [
        Comment(c.id, name, role, c.text, c.reply_to_id, c.resolution, c.rationale, c.created_at)
        for c, name, role in rows
    ]


def audit_targets(store: Store) -> list[AuditTarget]:
    """What auditors review, in the cases in ``audit``: units with consensus codes (transcript
    order), then the current version of every core idea."""
    from transcode.analysis.core_ideas import core_ideas
    from transcode.coding.queue import coding_queue

    in_audit = {case for case, phase in store.case_phases().items() if phase == phases.AUDIT}
    if not in_audit:
        return []
    consensus = store.consensus()
    items = {item.key: item for item in coding_queue(store, cases=in_audit)}
    with store.session() as s:
        unit_ids = dict(s.execute(select(ThoughtUnitRow.key, ThoughtUnitRow.id)).all())
    targets = [
        AuditTarget("unit", unit_ids[key], item.case, f"unit {key}", item.text, consensus[key], item.question)
        for key, item in items.items()
        if key in consensus
    ]
    targets += [
        AuditTarget(
            "core_idea",
            idea.id,
            idea.case,
            f"core idea · case {idea.case} · {idea.domain}",
            idea.text,
            frozenset({idea.domain}),
            idea.status,
        )
        for idea in core_ideas(store, all_versions=True)
        if idea.superseded_by is None and idea.case in in_audit
    ]
    return targets


class AuditSession:
    """An auditor's (or a team member's) walk through consensus codes and core ideas."""

    def __init__(self, store: Store, codebook: Codebook, name: str):
        self.store = store
        self.codebook = codebook
        self.name = name
        self.role = people.require(store, name, doing="the audit")
        self.targets = audit_targets(store)
        if not self.targets:
            raise PhaseError(
                "nothing to audit yet: a lead moves a case to audit once its consensus is recorded "
                "(`transcode phase CASE audit --by LEAD`)"
            )
        self.index = 0
        self.thread: list[Comment] = []
        self.load_thread()

    @property
    def current(self) -> AuditTarget | None:
        return self.targets[self.index] if self.targets else None

    def load_thread(self) -> None:
        target = self.current
        self.thread = [] if target is None else thread(self.store, target.target_type, target.target_id)

    def move(self, step: int) -> None:
        if self.targets:
            self.index = max(0, min(self.index + step, len(self.targets) - 1))
            self.load_thread()

    def open_comment(self) -> Comment | None:
        """The newest top-level comment without a verdict: what a reply or a verdict applies to."""
        for item in reversed(self.thread):
            if item.reply_to is None and item.resolution is None:
                return item
        return next((c for c in reversed(self.thread) if c.reply_to is None), None)

    def comment(self, text: str) -> int:
        target = self._target()
        comment_id = comment(self.store, target.target_type, target.target_id, self.name, text)
        self.load_thread()
        return comment_id

    def reply(self, text: str) -> int:
        target = self._target()
        parent = self.open_comment()
        if parent is None:
            raise StoreError("no comment here to answer")
        comment_id = comment(
            self.store,
            target.target_type,
            target.target_id,
            self.name,
            text,
            reply_to=parent.id,
        )
        self.load_thread()
        return comment_id

    def resolve(self, resolution: str, rationale: str | None) -> int:
        """The team accepts or rejects the open comment (auditors comment; the team decides)."""
        if self.role == "auditor":
            raise StoreError("the team answers an audit comment; an auditor cannot accept or reject it")
        parent = self.open_comment()
        if parent is None or parent.resolution is not None:
            raise StoreError("no open comment here to accept or reject")
        resolve_comment(self.store, parent.id, resolution, rationale)
        self.load_thread()
        return parent.id

    def _target(self) -> AuditTarget:
        if self.current is None:
            raise StoreError("nothing to audit yet: record consensus codes or core ideas first")
        return self.current
