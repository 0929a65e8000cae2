"""Domain proposals for thought units: zero-shot from the codebook, then learned from coders."""

from __future__ import annotations

from dataclasses import dataclass


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
