"""Blind coding under Pilot: a judge cannot see or infer another judge's codes on any screen, and the
model's suggestions appear only as the study's setting says."""

from __future__ import annotations

import pytest

from tests.support import DEMO
from tests.support.stores import LEAD, build_store, open_phase
from tests.support.tui import SIZE, screen_text, settle
from transcode.classify import UnitProposal
from transcode.codebook import load_codebook
from transcode.coding import people, suggestions
from transcode.coding.codes import Decision
from transcode.coding.independent import judge_codes, record_decisions
from transcode.coding.queue import coding_queue
from transcode.errors import PhaseError
from transcode.store import open_store
from transcode.transcript import Transcript, Turn
from transcode.tui.app import TranscodeApp
from transcode.units import ThoughtUnit

pytestmark = pytest.mark.anyio


def shown_flags(store, judge: str) -> list[tuple[str, str | None, str, bool | None]]:
    return [(d.unit, d.domain, d.action, d.suggestions_shown) for d in store.decision_log(judge)]


async def walk(store, judge: str) -> list[str]:
    """Everything judge's screens show on a walk through the room: each unit before and after the
    suggestion and after their own choice, the help, a search, a jump, and what the rest of the
    room answers (consensus, audit)."""
    seen = []
    app = TranscodeApp(store, judge=judge, use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in app.main.session.queue:
            seen.append(screen_text(app))
            await pilot.press("s")
            await settle(pilot)
            seen.append(screen_text(app))
            await pilot.press("1")  # B codes too: figures that moved with A's codes would show here
            await settle(pilot)
            seen.append(screen_text(app))
            await pilot.press("enter")
        await pilot.press("question_mark")
        seen.append(screen_text(app))
        await pilot.press("escape", "slash", *"homework", "enter", "j", *"02", "enter")
        await settle(pilot)
        seen.append(screen_text(app))
    for mode in ("consensus", "audit"):
        with pytest.raises(PhaseError) as refused:
            TranscodeApp(store, mode=mode, judge=judge, use_model=False)
        seen.append(str(refused.value))
    return seen


async def test_nothing_a_judge_sees_moves_with_another_judge_s_codes(tmp_path):
    """No oracle: B's room looks exactly the same whatever A coded (A finished in both worlds)."""
    worlds = []
    for domain, note in (("client_context", "early"), ("supervision", "late")):
        store = build_store(f"sqlite:///{tmp_path / f'{domain}.db'}", suggestions="after-first-choice")
        for item in coding_queue(store):
            record_decisions(store, "A", item.key, [Decision(domain, "added", f"A thinks {note}")])
        worlds.append(await walk(store, "B"))
        store.close()
    assert worlds[0] == worlds[1]
    text = "\n".join(worlds[0])
    assert "A thinks" not in text and "κ" not in text


async def test_after_first_choice_hides_the_suggestion_until_a_choice_or_s(store_factory):
    store = store_factory("after-first-choice")
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = app.main.session
        text = screen_text(app)
        assert "◆" not in text and "0.79" not in text and "s: suggestion" in text
        await pilot.press("a")  # accepting what was never shown is refused
        assert "not shown yet: choose first, or press s" in screen_text(app)
        assert judge_codes(store, "A") == {}
        await pilot.press("2")  # a first choice, made blind ...
        text = screen_text(app)
        assert "◆ model" in text and "0.79" in text  # ... then the suggestion appears
        await pilot.press("2", "1", "enter")  # changed after seeing it
        assert session.current.key == "01-0002"
        await pilot.press("s")
        assert "◆ model" in screen_text(app)
        await pilot.press("a")
    assert shown_flags(store, "A") == [
        ("01-0001", "antecedents", "added", False),
        ("01-0001", "antecedents", "removed", True),
        ("01-0001", "client_context", "added", True),
        ("01-0002", "client_context", "accepted", True),
    ]


async def test_hidden_never_shows_the_suggestion_and_visible_always_does(store_factory):
    hidden = store_factory("hidden")
    app = TranscodeApp(hidden, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert "hides the model's suggestions" in screen_text(app)
        await pilot.press("1")
        text = screen_text(app)
        assert "◆" not in text and "0.79" not in text and "suggestions hidden" in text
        await pilot.press("a")
        assert "hides the model's suggestions" in screen_text(app)
        await pilot.press("enter", "o")
    assert [flag for *_, flag in shown_flags(hidden, "A")] == [False, False]

    visible = store_factory("visible")
    app = TranscodeApp(visible, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "◆ model" in screen_text(app)
        await pilot.press("a", "3")
    assert [flag for *_, flag in shown_flags(visible, "A")] == [True, True]


async def test_a_gentle_note_after_fifty_units_kept_nine_times_in_ten(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'long.db'}", create=True)
    codebook = load_codebook(DEMO / "codebook.yaml")
    store.save_codebook(codebook)
    sentences = [f"This is thought unit number {n} of the long case." for n in range(1, 61)]
    text = " ".join(sentences)
    turns = (Turn("interviewer", "I", "What happened?", 1), Turn("participant", "P", text, 2))
    units, start = [], 0
    for n, sentence in enumerate(sentences, start=1):
        units.append(ThoughtUnit("09", n, 2, start, start + len(sentence), sentence, "What happened?"))
        start += len(sentence) + 1
    store.import_transcript(Transcript("09", turns, source="long.txt"), units)
    scores = tuple((d, 0.9 if d == "client_context" else 0.05) for d in codebook.domain_ids)
    store.save_proposals({u.unit_id: UnitProposal(scores, ("client_context",), "m:1") for u in units})
    people.add_person(store, LEAD, "lead")
    people.add_person(store, "A", "judge")
    people.assign(store, ["A"], None, LEAD)
    suggestions.set_mode(store, "visible", LEAD)
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press(*"a" * 49)
        await settle(pilot)
        assert "⚑" not in screen_text(app) and app.main.feedback.note is None  # 49 units: too few to say
        await pilot.press("a")
        await settle(pilot)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "⚑" in text and "A gentle note" in text and "50 of your last 50 units" in text
        await pilot.press(*"1o" * 6)  # six units coded by hand: 44 of the last 50 kept, 88%
        await settle(pilot)
        assert app.main.feedback.note is None and "⚑" not in screen_text(app)
    store.close()


async def test_the_consensus_view_shows_the_case_s_calibration(store_factory):
    store = store_factory("visible")
    for item in coding_queue(store):
        record_decisions(store, "A", item.key, [Decision("client_context", "added")])
        other = "antecedents" if item.position % 3 == 0 else "client_context"
        record_decisions(store, "B", item.key, [Decision(other, "added")])
    open_phase(store, "consensus", ["01"])
    app = TranscodeApp(store, mode="consensus", judge=LEAD, use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert {d.item.case for d in app.main.session.items} == {"01"}  # 02 is still blind
        assert "case 01 κ" in screen_text(app)
        await pilot.press("c")
        text = screen_text(app)
        assert "Calibration of case 01" in text and "A, B · 6 units" in text and "antecedents" in text


@pytest.fixture()
def store_factory(tmp_path):
    made = []

    def make(setting: str):
        store = build_store(f"sqlite:///{tmp_path / f'{setting}.db'}", suggestions=setting)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
