"""``transcode code``: the coding room. Independent coding, consensus and audit in one Textual app.

Each mode is one screen (:mod:`transcode.tui.screens`) over a session object from
:mod:`transcode.coding` that holds the logic and does every write. Slow work
(agreement, retraining) runs in worker threads and never blocks a keypress.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import App

from transcode.codebook import Codebook
from transcode.coding.audit import AuditSession
from transcode.coding.codes import Order
from transcode.coding.consensus import ConsensusSession, consensus_count
from transcode.coding.independent import CodingSession
from transcode.coding.queue import load_proposals
from transcode.errors import InputError
from transcode.store import Store
from transcode.tui.screens.audit import AuditScreen
from transcode.tui.screens.coding import CodingScreen
from transcode.tui.screens.consensus import ConsensusScreen
from transcode.tui.screens.room import RoomScreen

if TYPE_CHECKING:
    from transcode.classify.trained import OnlineTrainer

__all__ = ["AuditScreen", "CodingScreen", "ConsensusScreen", "TranscodeApp"]


class TranscodeApp(App):
    """The coding room: ``mode`` is ``code`` or ``audit`` (both need ``judge``) or ``consensus``."""

    CSS_PATH = "coding.tcss"
    TITLE = "transcode"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        store: Store,
        codebook: Codebook | None = None,
        *,
        mode: str = "code",
        judge: str | None = None,
        order: Order = "transcript",
        case: str | None = None,
        use_model: bool = True,
        encoder_factory: Callable[[], Any] | None = None,
        unlock: bool = False,
    ) -> None:
        super().__init__()
        codebook = codebook or store.codebook()
        if codebook is None:
            raise InputError("the store holds no codebook; run `transcode init --codebook CODEBOOK.yaml`")
        if mode not in ("code", "consensus", "audit"):
            raise InputError(f"mode must be code, consensus or audit, not {mode!r}")
        name = judge or ""
        if mode in ("code", "audit") and not name:
            raise InputError(f"{'coding' if mode == 'code' else 'auditing'} needs --judge NAME")
        if unlock and mode != "consensus":
            raise InputError(
                "--unlock goes with --consensus (a lead opens a case still in independent coding)"
            )
        if unlock and not name:
            raise InputError("--unlock needs the lead who takes responsibility for it: --judge LEAD")
        if mode == "code" and store.judge_role(name) == "auditor":
            raise InputError(f"{name} is an auditor; auditors use --audit")
        self.store = store
        self.codebook = codebook
        self.mode = mode
        self.case = case
        self.use_model = use_model
        self.encoder_factory = encoder_factory
        self.retraining = False
        self.last_retrain = None
        self._trainer: OnlineTrainer | None = None
        self._consensus_at_training = consensus_count(store)
        self.main: RoomScreen
        if mode == "code":
            self.main = CodingScreen(CodingSession(store, name, codebook, order=order, case=case))
        elif mode == "consensus":
            self.main = ConsensusScreen(ConsensusSession(store, codebook, judge, case=case, unlock=unlock))
        else:
            self.main = AuditScreen(AuditSession(store, codebook, name))

    def on_mount(self) -> None:
        self.theme = "nord"
        self.push_screen(self.main)

    # -- background retraining ------------------------------------------------------------------
    def schedule_retrain(self) -> None:
        """Retrain on consensus codes in a thread once enough new consensus has arrived."""
        if not self.use_model or self.retraining:
            return
        from transcode.classify.retrain import RETRAIN_EVERY

        if consensus_count(self.store) - self._consensus_at_training < RETRAIN_EVERY:
            return
        self.retraining = True
        self.run_worker(self._retrain, thread=True, group="retrain", exit_on_error=False)

    def _retrain(self) -> None:
        from transcode.classify.retrain import retrain_from_consensus
        from transcode.classify.trained import OnlineTrainer

        agreed = consensus_count(self.store)
        try:
            if self._trainer is None:
                encoder = self.encoder_factory() if self.encoder_factory else _default_encoder()
                self._trainer = OnlineTrainer(self.codebook, encoder)
            result = retrain_from_consensus(
                self.store, self.codebook, self._trainer.encoder, trainer=self._trainer, case=self.case
            )
            proposals = load_proposals(self.store, self.case)
        except Exception as err:  # a failed retraining must never cost the judge their session
            self._consensus_at_training = agreed  # wait for new consensus before trying again
            self.call_from_thread(self._retrain_failed, err)
            return
        self._consensus_at_training = agreed
        self.call_from_thread(self._retrained, result, proposals)

    def _retrained(self, result, proposals) -> None:
        self.retraining = False
        self.last_retrain = result
        if result is not None:
            self.main.proposals_changed(proposals, result.model_version)
            self.notify(f"model retrained on {result.n_examples} consensus units", timeout=3)

    def _retrain_failed(self, err: Exception) -> None:
        self.retraining = False
        self.notify(f"retraining failed: {err}", severity="error", timeout=6)


def _default_encoder():
    from transcode.embed import make_encoder

    return make_encoder()
