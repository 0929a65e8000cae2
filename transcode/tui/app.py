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
from transcode.coding.codebook_ops import proposals_stale
from transcode.coding.codes import Order
from transcode.coding.consensus import ConsensusSession, consensus_count
from transcode.coding.independent import CodingSession
from transcode.coding.queue import load_proposals
from transcode.errors import InputError
from transcode.store import Store
from transcode.tui.keys import RELOAD, bindings
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
    BINDINGS = bindings([RELOAD])
    #: How often the room looks for a new codebook version (one small query).
    CODEBOOK_CHECK_SECONDS = 5.0

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
        self.codebook_version = store.codebook_version()
        self.codebook_changed = False
        self.mode = mode
        self.case = case
        self.judge = judge
        self.order = order
        self.unlock = unlock
        self.use_model = use_model
        self.encoder_factory = encoder_factory
        self.retraining = False
        self.last_retrain = None
        self._trainer: OnlineTrainer | None = None
        self._consensus_at_training = consensus_count(store)
        self.main: RoomScreen = self._main_screen()

    def _main_screen(self) -> RoomScreen:
        store, codebook, name = self.store, self.codebook, self.judge or ""
        if self.mode == "code":
            return CodingScreen(CodingSession(store, name, codebook, order=self.order, case=self.case))
        if self.mode == "consensus":
            return ConsensusScreen(
                ConsensusSession(store, codebook, self.judge, case=self.case, unlock=self.unlock)
            )
        return AuditScreen(AuditSession(store, codebook, name))

    def on_mount(self) -> None:
        self.theme = "nord"
        self.push_screen(self.main)
        self.set_interval(self.CODEBOOK_CHECK_SECONDS, self.check_codebook)
        if self.use_model and proposals_stale(self.store):
            self.schedule_retrain(force=True)  # the proposals come from a model of an older codebook

    # -- a new codebook version -----------------------------------------------------------------
    def check_codebook(self) -> bool:
        """Whether a lead applied a new codebook version since the room loaded its own; says so once."""
        latest = self.store.codebook_version()
        if latest != self.codebook_version and not self.codebook_changed:
            self.codebook_changed = True
            self.notify(f"codebook changed (v{latest}): press R", timeout=30)
        return self.codebook_changed

    def action_reload_codebook(self) -> None:
        """Load the new version: the screen is rebuilt on it (every decision is already saved), at the
        same unit, and the model, trained on the old one, retrains."""
        if not self.check_codebook():
            self.notify("the codebook has not changed", timeout=3)
            return
        if self.screen is not self.main:
            self.notify("close this dialog first, then press R", timeout=3)
            return
        codebook = self.store.codebook()
        assert codebook is not None
        previous, self.codebook = self.codebook, codebook
        self.codebook_version, self.codebook_changed = self.store.codebook_version(), False
        try:
            screen = self._main_screen()
        except InputError as err:  # e.g. nothing left to code in this mode
            self.codebook = previous
            self.notify(str(err), severity="error", timeout=8)
            return
        if isinstance(self.main, CodingScreen) and isinstance(screen, CodingScreen):
            key = self.main.session.current.key
            if key in screen.session._index_of:
                screen.session.jump_to_unit(key)
        self.main = screen
        self.switch_screen(screen)
        self._trainer = None
        self.schedule_retrain(force=True)
        self.notify(f"codebook v{self.codebook_version} loaded", timeout=3)

    # -- background retraining ------------------------------------------------------------------
    def schedule_retrain(self, *, force: bool = False) -> None:
        """Retrain on consensus codes in a thread once enough new consensus has arrived (``force``:
        now, as after a codebook change)."""
        if not self.use_model or self.retraining:
            return
        from transcode.classify.retrain import RETRAIN_EVERY

        if not force and consensus_count(self.store) - self._consensus_at_training < RETRAIN_EVERY:
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
