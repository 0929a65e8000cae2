"""A codebook change reaches the coding room (issue 18): the room says "codebook changed: press
R", R loads the new version where the judge was, and a split's units wait for the judge as
"recode" until they code them again. Driven by Textual's Pilot on a real SQLite store."""

from __future__ import annotations

import pytest
import yaml

from tests.support import DEMO
from tests.support.stores import LEAD
from tests.support.tui import SIZE, screen_text, settle
from transcode.codebook import parse_codebook
from transcode.codebook_changes import parse_operations
from transcode.coding import codebook_ops
from transcode.coding.codes import Decision
from transcode.coding.independent import judge_codes, record_decisions
from transcode.tui.app import CodingScreen, TranscodeApp

pytestmark = pytest.mark.anyio


def split_antecedents(store) -> None:
    book = yaml.safe_load((DEMO / "codebook.yaml").read_text(encoding="utf-8"))
    domains = [d for d in book["domains"] if d["id"] != "antecedents"]
    domains.insert(1, {"id": "in_session", "name": "In the session"})
    domains.insert(2, {"id": "outside", "name": "Outside the session"})
    new = parse_codebook({**book, "domains": domains}, "new.yaml")
    codebook_ops.apply(store, new, parse_operations(splits=["antecedents=in_session,outside"]), LEAD)


async def test_a_split_reaches_the_open_room_and_waits_as_recode(store):
    for key in ("01-0001", "01-0002", "01-0003"):
        record_decisions(store, "A", key, [Decision("client_context", "added")])
    record_decisions(store, "A", "01-0004", [Decision("antecedents", "added")])
    record_decisions(store, "B", "01-0004", [Decision("rupture_markers", "added")])
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert app.main.session.current.key == "01-0005"  # the first unit A has not coded
        split_antecedents(store)  # a lead applies v2 while A codes
        assert app.check_codebook()
        await settle(pilot)
        await pilot.pause(0.2)
        assert "codebook changed (v2): press R" in screen_text(app)
        await pilot.press("R")
        await settle(pilot)
        screen = app.main
        assert isinstance(screen, CodingScreen) and app.codebook_version == 2
        assert screen.session.domains[1:3] == ["in_session", "outside"]
        assert screen.session.current.key == "01-0005"  # where A was
        assert list(screen.session.recode) == ["01-0004"]
        await pilot.press("b")
        text = screen_text(app)
        assert "unit 01-0004" in text and "recode" in text
        assert "antecedents was split into in_session or outside" in text
        await pilot.press("3")  # the third domain now: outside
        await settle(pilot)
        text = screen_text(app)
        assert "unit 01-0004" in text.splitlines()[0] and "recode" not in text
    assert judge_codes(store, "A")["01-0004"] == {"outside"}
    assert codebook_ops.pending_recodes(store, "A") == []
    assert codebook_ops.pending_recodes(store, "B") == []  # B never coded antecedents there


async def test_a_room_opened_after_the_split_goes_to_the_recode_first(store):
    for item in ("01-0001", "01-0002", "01-0003", "01-0004", "01-0005"):
        domain = "antecedents" if item == "01-0002" else "client_context"
        record_decisions(store, "A", item, [Decision(domain, "added")])
    split_antecedents(store)
    app = TranscodeApp(store, judge="A", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.session.current.key == "01-0002"
        assert "recode" in screen_text(app)
        assert not app.check_codebook()


@pytest.mark.slow
async def test_a_room_opened_on_proposals_of_an_older_codebook_retrains(store, tmp_path):
    from tests.support.stores import suggested_codes
    from transcode.coding.queue import coding_queue, load_proposals
    from transcode.embed import make_encoder

    agreed = suggested_codes()
    for item in coding_queue(store)[:10]:
        store.set_consensus(item.key, agreed[item.key] - {"other"}, "B")
    assert not codebook_ops.proposals_stale(store)
    split_antecedents(store)
    assert codebook_ops.proposals_stale(store)  # made by a model that knew antecedents
    app = TranscodeApp(
        store,
        judge="A",
        use_model=True,
        encoder_factory=lambda: make_encoder(cache_path=tmp_path / "embeddings.sqlite"),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.last_retrain is not None and app.last_retrain.n_proposals == 12
    assert not codebook_ops.proposals_stale(store)
    domains = {d for p in load_proposals(store).values() for d, _ in p.scores}
    assert {"in_session", "outside"} <= domains and "antecedents" not in domains
