"""The in-memory transcript every pipeline stage passes along.

Kept free of I/O so de-identification, splitting and classification can be
tested on plain objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

SpeakerRole = Literal["interviewer", "participant", "other"]


@dataclass(frozen=True)
class Turn:
    """One speaker turn. ``line`` is the 1-based source line where it starts."""

    speaker_role: SpeakerRole
    label: str
    text: str
    line: int
    start: float | None = None
    end: float | None = None

    def with_text(self, text: str) -> Turn:
        return replace(self, text=text)


@dataclass(frozen=True)
class Transcript:
    case: str
    turns: tuple[Turn, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def with_turns(self, turns: list[Turn] | tuple[Turn, ...]) -> Transcript:
        return replace(self, turns=tuple(turns))

    @property
    def participant_turns(self) -> list[tuple[int, Turn]]:
        return [(i, t) for i, t in enumerate(self.turns) if t.speaker_role == "participant"]
