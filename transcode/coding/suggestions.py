"""Suggestions that do not lead the judges: when the model's proposals appear, and a gentle note.

Judges who all see the same machine suggestion before reading a unit agree with the machine, and
so with each other, for the wrong reason (CoAIcoder, TOCHI 2023; CollabCoder, CHI 2024). A study
setting says when a judge coding independently sees the proposals:

- ``visible``: with the unit, as before;
- ``after-first-choice`` (the default): the unit and question first; the proposals appear once
  the judge has made a first choice on the unit, or asks for them (``s``); ``a`` accepts only
  once they are shown;
- ``hidden``: never during independent coding.

Every decision records whether the proposals were on the screen when it was made, so reports can
show agreement with and without them (:mod:`transcode.coding.calibration`).
"""

from __future__ import annotations

from transcode.coding import people
from transcode.coding.codes import Acceptance
from transcode.errors import InputError
from transcode.store import Store

SETTING = "suggestions"
VISIBLE, AFTER_FIRST_CHOICE, HIDDEN = MODES = ("visible", "after-first-choice", "hidden")
DEFAULT = AFTER_FIRST_CHOICE

#: The gentle note: a judge who kept more than NOTE_RATE of the suggestions over their last
#: NOTE_WINDOW coded units is reminded that the codes should be theirs.
NOTE_WINDOW = 50
NOTE_RATE = 0.9


def check_mode(value: str) -> str:
    if value not in MODES:
        raise InputError(f"suggestions must be {', '.join(MODES)}, not {value!r}")
    return value


def mode(store: Store) -> str:
    """The study's setting (the default until a lead sets one)."""
    value = store.setting(SETTING)
    return value if value in MODES else DEFAULT


def set_mode(store: Store, value: str, by: str) -> str:
    """A lead changes the setting; the trail records it. Returns the setting before."""
    check_mode(value)
    people.require(store, by, people.LEAD, doing="changing the suggestions setting")
    before = mode(store)
    store.set_setting(SETTING, value, by)
    return before


def visible(setting: str, *, decided: bool, revealed: bool) -> bool:
    """Whether a unit's proposals are on the judge's screen: ``decided`` means the judge has made a
    choice on the unit before, ``revealed`` that they asked to see the proposals."""
    if setting == VISIBLE:
        return True
    if setting == HIDDEN:
        return False
    return decided or revealed


def needs_note(recent: Acceptance) -> bool:
    """True when the judge kept more than 90% of the suggestions over their last 50 coded units."""
    return recent.coded >= NOTE_WINDOW and recent.rate is not None and recent.rate > NOTE_RATE


def note_text(recent: Acceptance) -> str:
    return (
        f"You kept the model's suggestion on {recent.accepted} of your last {recent.coded} units. "
        "That may be right; it may also be the suggestion deciding. Try reading each unit and choosing "
        "before you look at the suggestion."
    )
