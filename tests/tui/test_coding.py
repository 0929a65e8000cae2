"""Independent coding driven by Textual's Pilot: keys in, the store checked after each step."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from tests.support.stores import suggested_codes
from tests.support.tui import SIZE, screen_text, settle
from transcode.coding import independent, queue
from transcode.coding.codes import Decision
from transcode.coding.independent import judge_codes
from transcode.store import open_store
from transcode.store.schema import CodeDecision
from transcode.tui.app import CodingScreen, TranscodeApp

pytestmark = pytest.mark.anyio


def coding_screen(app) -> CodingScreen:
    assert isinstance(app.main, CodingScreen)
    return app.main


async def test_a_judge_codes_a_transcript_end_to_end_with_the_keyboard(store):
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = coding_screen(app).session
        assert session.current.key == "01-0001"
        await pilot.press("a", "a")  # 01-0001, 01-0002: take the suggestion
        assert session.current.key == "01-0003"
        await pilot.press("1", "enter")  # only the first of the two suggested domains
        await pilot.press("a", "o")  # 01-0004 accepted, 01-0005 other
        await pilot.press("r", "3", "enter")  # 01-0006: suggestion rejected, coded by hand
        await pilot.press("a", "a", "a", "a", "a")  # 02-0001..02-0005 (02-0005: the model says other)
        await pilot.press("7", "enter")  # 02-0006 by hand
        await settle(pilot)
        text = screen_text(app)
        assert "all coded ✓" in text and "all 12/12" in text
        assert "kept 67%" in text  # 8 of 12 units kept exactly as the model suggested
    expected = dict(suggested_codes())
    expected.update(
        {
            "01-0003": {"client_context"},
            "01-0005": {"other"},
            "01-0006": {"rupture_markers"},
            "02-0006": {"consequences"},
        }
    )
    assert judge_codes(store, "A") == expected
    with store.session() as s:
        rejected = s.execute(select(CodeDecision.domain).where(CodeDecision.action == "rejected")).all()
    assert rejected == [("therapist_reactions",)]


async def test_every_decision_is_in_the_store_before_the_screen_moves_on(store):
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reader = open_store(store.engine.url.render_as_string(hide_password=False))
        for expected_key in ("01-0001", "01-0002", "01-0003"):
            await pilot.press("a")
            # another connection sees the decision as soon as the keypress is handled
            assert expected_key in judge_codes(reader, "A")
            assert f"saved {expected_key}" in screen_text(app)
        reader.close()


async def test_undo_appends_compensating_decisions(store):
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = coding_screen(app).session
        await pilot.press("a")
        assert judge_codes(store, "A")["01-0001"] == {"client_context"}
        await pilot.press("u")
        assert session.current.key == "01-0001"
        assert judge_codes(store, "A")["01-0001"] == frozenset()
        await pilot.press("3", "5", "u")
        assert judge_codes(store, "A")["01-0001"] == {"rupture_markers"}
        await pilot.press("o", "u")  # undo "other" restores the domain it replaced
        assert judge_codes(store, "A")["01-0001"] == {"rupture_markers"}
        await pilot.press("u", "u")
        assert judge_codes(store, "A")["01-0001"] == frozenset()
        assert "nothing to undo" in screen_text(app)
    with store.session() as s:
        n_rows = s.scalar(select(func.count(CodeDecision.id)))
    assert n_rows == 8  # append-only: 5 changes, 3 undos, each a row


async def test_note_is_saved_with_the_codes_and_shown(store):
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", *"too early", "enter")  # nothing coded yet: refused, nothing stored
        assert independent.judge_notes(store, "A") == {}
        assert "code the unit first" in screen_text(app)
        await pilot.press("a", "b", "n", *"mentions the setting", "enter")
        assert independent.judge_notes(store, "A") == {"01-0001": ["mentions the setting"]}
        assert "note: mentions the setting" in screen_text(app)
        await pilot.press("n", "escape")  # a cancelled note saves nothing
    assert independent.judge_notes(store, "A") == {"01-0001": ["mentions the setting"]}
    assert judge_codes(store, "A")["01-0001"] == {"client_context"}


async def test_jump_search_back_and_next(store):
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = coding_screen(app).session
        await pilot.press("j", *"02", "enter")
        assert session.current.key == "02-0001"
        assert "case 02 · unit 02-0001" in screen_text(app)
        await pilot.press("slash", *"supervisor", "enter")
        assert session.current.key == "02-0003"
        await pilot.press("slash", "enter")  # the last query is offered again
        assert session.current.key == "02-0003"
        await pilot.press("slash", *"homework", "enter")  # wraps round to case 01
        assert session.current.key == "01-0004"
        await pilot.press("slash", *"zebra", "enter")
        assert session.current.key == "01-0004" and "not found" in screen_text(app)
        await pilot.press("left", "left", "right")
        assert session.current.key == "01-0003"
        await pilot.press("j", *"99", "enter")
        assert session.current.key == "01-0003"
    assert judge_codes(store, "A") == {}


async def test_uncertainty_order_and_a_single_case(store):
    app = TranscodeApp(store, judge="A", use_model=False, order="uncertainty", case="02")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = coding_screen(app).session
        assert [q.key for q in session.queue][:2] == ["02-0005", "02-0004"]
        assert {q.case for q in session.queue} == {"02"}
        await pilot.press("a")
        assert judge_codes(store, "A") == {"02-0005": {"other"}}


def reachable_strings(root, limit: int = 200_000) -> set[str]:
    """Every string reachable from ``root`` through containers, dataclasses and object attributes."""
    seen, found, stack = set(), set(), [root]
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            found.add(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            stack.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
    return found


async def test_blind_coding_judge_b_never_sees_or_loads_judge_a_choices(store):
    secret = "A-ONLY-NOTE-7f3"
    for item in queue.coding_queue(store):
        independent.record_decisions(store, "A", item.key, [Decision("therapist_learning", "added", secret)])
    app = TranscodeApp(store, judge="B", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = coding_screen(app)
        session = screen.session
        assert session.codes == {} and session.notes == {}
        for _ in range(len(session.queue)):
            text = screen_text(app)
            assert secret not in text and "[x]" not in text
            await pilot.press("enter")
        loaded = reachable_strings(session.__dict__) | reachable_strings(screen.__dict__)
        assert not any(secret in s for s in loaded)
        # B codes ten units: the status bar shows B's own progress and kept rate, nothing of A's
        await pilot.press("j", *"01", "enter")
        await pilot.press(*"aaaaaaaaaa")
        await settle(pilot)
        assert session.codes == judge_codes(store, "B") and len(session.codes) == 10
        text = screen_text(app)
        assert "all 10/12" in text and "kept 100%" in text
        assert "κ" not in text and "n=" not in text and secret not in text
        loaded = reachable_strings(session.__dict__) | reachable_strings(screen.__dict__)
        assert not any(secret in s for s in loaded)


async def test_auditors_cannot_code_and_the_layout_fits_80x24(store):
    from transcode.errors import InputError

    with pytest.raises(InputError, match="auditor"):
        TranscodeApp(store, judge="Aud", use_model=False)
    with pytest.raises(InputError, match="--judge"):
        TranscodeApp(store, use_model=False)
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for selector in ("#title", "#question", "#context", "#domains", "#progress", "#status", "KeyLine"):
            region = app.screen.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24 and region.right <= 80, selector
        assert app.screen.query_one("#domains").region.height == 9  # eight domains and "other"
        await pilot.press("question_mark")
        assert "toggle domain 1-9" in screen_text(app)
        await pilot.press("escape", "q")
