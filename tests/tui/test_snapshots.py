"""Snapshots of the main screens in a plain 80x24 terminal (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs under ``tests/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from tests.support.stores import open_phase
from transcode.coding import audit, independent, queue
from transcode.coding.codes import Decision
from transcode.tui.app import TranscodeApp

SIZE = (80, 24)


async def settled(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def two_judges(store) -> None:
    for item in queue.coding_queue(store):
        independent.record_decisions(store, "A", item.key, [Decision("client_context", "added")])
        other = "antecedents" if item.position % 3 == 0 else "client_context"
        independent.record_decisions(store, "B", item.key, [Decision(other, "added")])
    open_phase(store, "consensus")


def test_coding_screen(snap_compare, store):
    app = TranscodeApp(store, judge="A", use_model=False)
    assert snap_compare(app, press=["a", "a", "1"], terminal_size=SIZE, run_before=settled)


def test_coding_screen_before_the_first_choice(snap_compare, tmp_path):
    """after-first-choice: the unit and question first, no scores, no ◆ until a choice or s."""
    from tests.support.stores import build_store

    blind = build_store(f"sqlite:///{tmp_path / 'blind.db'}", suggestions="after-first-choice")
    app = TranscodeApp(blind, judge="A", use_model=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_coding_help(snap_compare, store):
    app = TranscodeApp(store, judge="A", use_model=False)
    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE, run_before=settled)


def test_consensus_screen(snap_compare, store):
    two_judges(store)
    app = TranscodeApp(store, mode="consensus", judge="A", use_model=False)
    assert snap_compare(app, press=["2"], terminal_size=SIZE, run_before=settled)


def test_audit_screen(snap_compare, store):
    store.set_consensus("01-0003", ["client_context", "antecedents"], "A")
    open_phase(store, "audit")
    [target] = audit.audit_targets(store)
    first = audit.comment(store, "unit", target.target_id, "Aud", "Is the warmth really an antecedent?")
    audit.comment(store, "unit", target.target_id, "A", "Yes: it sets up the contrast.", reply_to=first)
    audit.resolve_comment(store, first, "rejected", "kept as coded")
    app = TranscodeApp(store, mode="audit", judge="Aud", use_model=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)
