"""Domain proposals for thought units: zero-shot from the codebook, then learned from coders.

Everything that proposes domains is a :class:`Proposer`: it scores one case at a
time (a case's units in transcript order, with their turn numbers), because the
evidence is case-local: answer evidence is standardised over the case, averaged
over each participant turn, and the sequence layer follows the interview from
turn to turn. :class:`transcode.classify.proposer.DomainProposer` is the one
implementation: zero-shot when it has no learned weights, trained when it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from transcode.codebook import Codebook


@dataclass(frozen=True)
class UnitProposal:
    """Scores for every domain, highest first, and the set the model would code."""

    scores: tuple[tuple[str, float], ...]
    suggested: tuple[str, ...]
    model_version: str

    def as_contract(self) -> dict:
        return {
            "proposals": [{"domain": d, "score": round(float(s), 4)} for d, s in self.scores],
            "suggested": list(self.suggested),
        }


@dataclass(frozen=True)
class CaseUnits:
    """One case's units in transcript order: what a proposer scores together.

    ``turns`` are the units' turn numbers in the transcript (units of one turn share
    it); ``vectors`` are the unit vectors, question vectors and has-question mask when
    the caller already has them (precode embeds a case once and reuses the vectors).
    """

    texts: tuple[str, ...]
    questions: tuple[str | None, ...]
    turns: tuple[int, ...]
    vectors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if not len(self.texts) == len(self.questions) == len(self.turns):
            raise ValueError("a case needs one question and one turn number per unit")

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def of(cls, units: Iterable[Any], vectors=None) -> CaseUnits:
        """From objects with ``text``, ``question`` and ``turn`` (thought units, labelled units)."""
        units = list(units)
        return cls(
            tuple(u.text for u in units),
            tuple(u.question for u in units),
            tuple(int(u.turn) for u in units),
            vectors,
        )

    @classmethod
    def unordered(cls, texts: Sequence[str], questions: Sequence[str | None]) -> CaseUnits:
        """Units without a transcript around them: each its own turn (no turn to average over)."""
        return cls(tuple(texts), tuple(questions), tuple(range(1, len(texts) + 1)))


@runtime_checkable
class Proposer(Protocol):
    """What the pipeline, the coding room and the evaluation need from a domain proposer."""

    codebook: Codebook
    encoder: Any

    @property
    def version(self) -> str: ...

    def score(self, case: CaseUnits, *, sequence: bool = True) -> np.ndarray:
        """Scores (n_units x n_domains), each row a probability distribution over the domains."""
        ...

    def propose(self, case: CaseUnits, *, sequence: bool = True) -> list[UnitProposal]:
        """Every domain ranked per unit, and the suggested set (maybe empty)."""
        ...


def propose_units(
    proposer: Proposer,
    units: Sequence[Any],
    *,
    sequence: bool = True,
    case_of: Callable[[Any], str] = lambda u: str(u.case),
    turn_of: Callable[[Any], int] = lambda u: int(u.turn),
) -> list[UnitProposal]:
    """Proposals for units of any number of cases (objects with ``text`` and ``question``; their
    case and turn number read by ``case_of`` and ``turn_of``), in their order: each case is
    scored on its own, its units in the order given."""
    by_case: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        by_case.setdefault(case_of(unit), []).append(i)
    out: list[UnitProposal | None] = [None] * len(units)
    for indices in by_case.values():
        case = CaseUnits(
            tuple(units[i].text for i in indices),
            tuple(units[i].question for i in indices),
            tuple(turn_of(units[i]) for i in indices),
        )
        for i, proposal in zip(indices, proposer.propose(case, sequence=sequence), strict=True):
            out[i] = proposal
    return [p for p in out if p is not None]
