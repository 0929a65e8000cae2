"""The in-memory transcript every pipeline stage passes along.

Kept free of I/O so de-identification, splitting and classification can be
tested on plain objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

SpeakerRole = Literal["interviewer", "participant", "other"]


class InputError(ValueError):
    """Bad user input: reported as one line naming the file (and line), exit 2."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


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
