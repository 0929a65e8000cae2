"""Background retraining with the real default encoder (MiniLM): consensus codes in, fresh proposals out.

The encoder factory waits on an event, so the test can prove deterministically
that the judge keeps coding, with every decision saved, while the model trains.
"""

from __future__ import annotations

import threading

import pytest

from tests.support.stores import MODEL, suggested_codes
from tests.support.tui import SIZE, screen_text, settle
from transcode.classify.retrain import RETRAIN_EVERY
from transcode.coding import queue
from transcode.coding.independent import judge_codes
from transcode.tui.app import TranscodeApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_the_model_retrains_on_consensus_in_the_background(store, tmp_path):
    from transcode.embed import make_encoder

    release = threading.Event()

    def encoder():
        assert release.wait(30)
        return make_encoder(cache_path=tmp_path / "embeddings.sqlite")

    app = TranscodeApp(store, judge="A", use_model=True, encoder_factory=encoder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # teammates record consensus on ten units while A codes
        agreed = suggested_codes()
        for item in queue.coding_queue(store)[2 : 2 + RETRAIN_EVERY]:
            store.set_consensus(item.key, agreed[item.key] - {"other"}, "B")
        await pilot.press("a")
        assert app.retraining and "↻" in screen_text(app)
        await pilot.press("a", "o")  # the UI keeps taking decisions while the model trains
        assert set(judge_codes(store, "A")) == {"01-0001", "01-0002", "01-0003"}
        assert app.retraining
        release.set()
        await settle(pilot)
        result = app.last_retrain
        assert not app.retraining and result is not None
        assert (
            result.n_examples == RETRAIN_EVERY and result.n_proposals == 12
        )  # consensus only, never A's codes
        versions = {p.model_version for p in queue.load_proposals(store).values()}
        assert versions == {result.model_version} != {MODEL}
        session = app.main.session
        assert session.current_proposal.model_version == result.model_version
        assert result.model_version[:10] in screen_text(app)
        assert result.seconds < 20
