"""Two judges code blind, the agreement report sees both, the consensus view resolves the rest; audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.stores import open_phase
from tests.support.tui import SIZE, screen_text, settle
from transcode.agreement import agreement_report
from transcode.coding import audit, phases
from transcode.coding.consensus import consensus_notes, disagreements, ratings_records
from transcode.store.schema import Case, CoreIdea
from transcode.tui.app import AuditScreen, ConsensusScreen, TranscodeApp

pytestmark = pytest.mark.anyio


async def code_all(store, judge: str, keys: list[str]) -> None:
    app = TranscodeApp(store, judge=judge, use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        assert "all coded ✓" in screen_text(app)


async def test_blind_codings_reach_the_agreement_report_and_consensus_resolves_them(store):
    await code_all(store, "A", ["a"] * 12)
    # B differs on three units: 01-0003 (one domain only), 01-0005 (other), 02-0006 (repair actions)
    await code_all(store, "B", ["a", "a", "1", "enter", "a", "o", *"aaaaaa", "5", "enter"])
    assert {a.finished for a in store.assignments()} == {True}  # both judges finished both cases
    phases.switch(store, None, "consensus", "L")  # no override needed
    report = agreement_report(ratings_records(store, cases=["01", "02"]))
    assert report["judges"] == ["A", "B"] and report["n_units"] == 12
    assert report["pairs"][0]["percent_agreement"] == pytest.approx(9 / 12)

    app = TranscodeApp(store, mode="consensus", judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.main
        assert isinstance(screen, ConsensusScreen)
        assert [d.item.key for d in screen.session.items] == ["01-0003", "01-0005", "02-0006"]
        text = screen_text(app)
        assert "unit 01-0003 · 1/3 · open" in text and "resolved 0/3" in text
        # the team starts from what both chose (client_context) and adds antecedents
        await pilot.press("2")
        assert store.consensus() == {"01-0003": {"client_context", "antecedents"}}
        await pilot.press("enter")  # recorded: go to 01-0005
        await pilot.press("o")  # the team agrees it fits no domain
        await pilot.press("n", *"both fine", "enter")  # note on 02-0006, records the codes shown
        await pilot.press("6", "6", "enter")
        await settle(pilot)
        assert "resolved 3/3" in screen_text(app)
    consensus = store.consensus()
    assert consensus["01-0003"] == {"client_context", "antecedents"}
    assert consensus["01-0005"] == {"other"}
    assert consensus["02-0006"] == {"other"}  # the judges shared no domain; the team toggled 6 on and off
    assert consensus_notes(store)["02-0006"] == "both fine"
    assert all(d.consensus is not None for d in disagreements(store, cases=["01", "02"]))

    app = TranscodeApp(store, mode="consensus", judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("U")  # the nine unanimous units become consensus too
        assert "9 unanimous adopted" in screen_text(app)
    assert len(store.consensus()) == 12


async def test_consensus_with_nothing_to_resolve(store):
    open_phase(store, "consensus")
    app = TranscodeApp(store, mode="consensus", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no disagreements" in screen_text(app)
        await pilot.press("1", "enter", "o")
        assert store.consensus() == {}


async def test_audit_comment_reply_and_verdict_are_stored(store):
    store.set_consensus("01-0001", ["client_context"], "A")
    open_phase(store, "audit")
    with store.sessions.begin() as s:
        case_id = s.scalar(select(Case.id).where(Case.key == "02"))
        s.add(
            CoreIdea(
                case_id=case_id,
                domain="repair_actions",
                text="T named the rupture and apologised.",
                status="consensus",
            )
        )
    app = TranscodeApp(store, mode="audit", judge="Aud", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = app.main.session
        assert isinstance(app.main, AuditScreen) and session.role == "auditor"
        assert [t.target_type for t in session.targets] == ["unit", "core_idea"]
        await pilot.press("c", *"Why not 2?", "enter")
        await pilot.press("y")  # an auditor cannot accept their own comment
        assert "team accepts or rejects" in screen_text(app)
        await pilot.press("right")
        await pilot.press("c", *"Which repair?", "enter")
        assert "core idea · case 02 · repair_actions" in screen_text(app)
    app = TranscodeApp(store, mode="audit", judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.session.role == "judge"
        await pilot.press("r", *"Background.", "enter")
        await pilot.press("x", *"stays", "enter")
        text = screen_text(app)
        assert "↳" in text and "[rejected: stays]" in text
    [unit, idea] = audit.audit_targets(store)
    thread = audit.thread(store, "unit", unit.target_id)
    assert [(c.author, c.role, c.text, c.reply_to is not None) for c in thread] == [
        ("Aud", "auditor", "Why not 2?", False),
        ("A", "judge", "Background.", True),
    ]
    assert (thread[0].resolution, thread[0].rationale) == ("rejected", "stays")
    [idea_comment] = audit.thread(store, "core_idea", idea.target_id)
    assert idea_comment.text == "Which repair?" and idea_comment.resolution is None
