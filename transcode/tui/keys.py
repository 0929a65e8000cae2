"""A screen's keys, each declared once: its Textual bindings, its help line and its key-line entry.

A :class:`Key` can bind several keys (``1``-``9``, ``0``) or several actions (``→`` next,
``←`` back) that the help shows as one line; the screens build ``BINDINGS``, the help
screen and the always-visible key line from the same list, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    """Keys -> actions, how the help shows them, and (``line``) their place in the key line."""

    bindings: tuple[tuple[str, str, str], ...]  # (Textual key names, action, short description)
    shown: str  # the key(s) as the help shows them
    help: str  # the help line
    line: tuple[str, str] | None = None  # (key, label) in the always-visible key line
    team_only: bool = False  # the audit's verdicts: hidden from auditors

    @classmethod
    def one(
        cls,
        keys: str,
        action: str,
        description: str,
        help: str,
        *,
        shown: str | None = None,
        line: str | None = None,
        team_only: bool = False,
    ) -> Key:
        """One binding; ``line`` is the key as the key line shows it (omit: not on the key line)."""
        return cls(
            ((keys, action, description),),
            shown or keys,
            help,
            (line, description) if line else None,
            team_only,
        )


def numbered(keys: str, action: str, description: str, help: str, *, shown: str, line: str) -> Key:
    """One key per number: ``keys[0]`` runs ``action(1)``, ``keys[1]`` ``action(2)``, and so on."""
    bindings = tuple((k, f"{action}({n})", description) for n, k in enumerate(keys, start=1))
    return Key(bindings, shown, help, (line, description))


def bindings(keys: Iterable[Key]) -> list[BindingType]:
    """The Textual bindings of ``keys`` (grouped keys are not listed one by one anywhere)."""
    return [
        Binding(k, action, description, show=len(key.bindings) == 1)
        for key in keys
        for k, action, description in key.bindings
    ]


def help_lines(keys: Iterable[Key], *, team: bool = True) -> list[tuple[str, str]]:
    return [(key.shown, key.help) for key in keys if team or not key.team_only]


def key_line(keys: Sequence[Key], *, team: bool = True) -> list[tuple[str, str]]:
    return [key.line for key in keys if key.line and (team or not key.team_only)]


#: The room's own key (every screen): it matters only once the room has said "codebook changed:
#: press R", so it is in no screen's help or key line.
RELOAD = Key.one("R", "reload_codebook", "reload", "load the new codebook version (everything is saved)")
