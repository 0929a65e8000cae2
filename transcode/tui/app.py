"""``transcode code``: the coding room. Independent coding, consensus and audit in one Textual app.

Every keypress that decides something calls the store synchronously, so the
screen moves on only after the decision is committed; slow work (agreement,
retraining) runs in worker threads and never blocks a keypress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from transcode.codebook import Codebook
from transcode.coding import independent
from transcode.coding.audit import AuditSession
from transcode.coding.codes import OTHER, Acceptance
from transcode.coding.consensus import ConsensusSession, consensus_count
from transcode.coding.independent import MIN_SHARED_UNITS, CodingSession, PairAgreement
from transcode.coding.queue import Order, QueueItem, UnitProposals, load_proposals
from transcode.errors import InputError, StoreError
from transcode.store.repo import Store
from transcode.tui import widgets

#: Refresh the judge-pair agreement every this many decisions: often enough to follow,
#: rarely enough that its change never tells a judge how the other coded one unit.
AGREEMENT_EVERY = 10

CODING_KEYS = [
    ("a", "accept the suggestion (◆); on to the next uncoded unit"),
    ("r", "reject the suggestion (recorded), stay to code the unit"),
    ("1-9 0", "toggle domain 1-9 (0 = tenth); stays on the unit"),
    ("o", "other: the unit fits no domain; go on"),
    ("enter →", "next unit"),
    ("← b", "previous unit (go back)"),
    ("u", "undo your last change in this session"),
    ("n", "add a note to your codes for this unit"),
    ("j", "jump to a case"),
    ("/", "search unit text or id; again for the next hit"),
    ("?", "this help"),
    ("q", "quit: every decision is already saved"),
]
CONSENSUS_KEYS = [
    ("1-9 0", "toggle a domain in the team's code (saved at once)"),
    ("o", "the team codes the unit other; go on"),
    ("enter", "record the codes shown as consensus; next open disagreement"),
    ("→ ←", "next / previous disagreement"),
    ("n", "note on the consensus"),
    ("U", "adopt the shared codes of every unanimous unit as consensus"),
    ("?", "this help"),
    ("q", "quit: every change is already saved"),
]
AUDIT_KEYS = [
    ("c", "comment on this consensus code or core idea"),
    ("r", "reply to the open comment"),
    ("y", "team: accept the open comment (with a rationale)"),
    ("x", "team: reject the open comment (with a rationale)"),
    ("→ ←", "next / previous item"),
    ("?", "this help"),
    ("q", "quit: every comment is already saved"),
]


class PromptScreen(ModalScreen[str | None]):
    """A one-line question; Enter answers, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.question)
            yield Input(value=self.value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q,enter", "close", "close")]

    def __init__(self, title: str, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = Text(self.title_text + "\n\n", style="bold")
        for key, what in self.keys:
            text.append(f"{key:>8}  ", style="bold")
            text.append(what + "\n")
        text.append("\nEsc or ? closes this help.", style="dim")
        yield Static(text, id="help-box")

    def action_close(self) -> None:
        self.dismiss(None)


class RoomScreen(Screen):
    """What the three screens share: the save receipt, prompts, help, quitting."""

    HELP_TITLE = ""
    HELP_KEYS: Sequence[tuple[str, str]] = ()

    @property
    def room(self) -> TranscodeApp:
        return self.app  # type: ignore[return-value]

    def show_saved(self, message: str) -> None:
        self.query_one("#status").remove_class("error")
        self.query_one("#saved", Static).update(message)

    def show_error(self, message: str) -> None:
        """A refusal takes the whole status line until the next saved change."""
        self.query_one("#status").add_class("error")
        self.query_one("#saved", Static).update(f"✗ {widgets.shorten(message, 76)}")

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run a store action; a refused one shows why and changes nothing."""
        try:
            return action()
        except (StoreError, InputError) as err:
            self.show_error(str(err))
            return None

    def ask(self, question: str, then: Callable[[str], None], value: str = "") -> None:
        def answered(answer: str | None) -> None:
            if answer is not None:
                then(answer)

        self.app.push_screen(PromptScreen(question, value), answered)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.HELP_TITLE, self.HELP_KEYS))

    def action_quit(self) -> None:
        self.app.exit()

    def proposals_changed(self, proposals: dict[str, UnitProposals], model: str) -> None:
        """New proposals from background retraining (only the coding screen shows them)."""


def _status_bar() -> Horizontal:
    return Horizontal(Static("", id="saved"), Static("", id="feedback"), id="status")


class CodingScreen(RoomScreen):
    """Independent coding: this judge's codes only, one keypress per common decision."""

    HELP_TITLE = "Independent coding: keys"
    HELP_KEYS = CODING_KEYS
    BINDINGS = [
        Binding("a", "accept", "accept"),
        Binding("r", "reject", "reject"),
        *[Binding(key, f"toggle({n})", show=False) for n, key in enumerate(widgets.DOMAIN_KEYS, start=1)],
        Binding("o", "other", "other"),
        Binding("enter,right", "next", "next"),
        Binding("left,b", "back", "back"),
        Binding("u,ctrl+z", "undo", "undo"),
        Binding("n", "note", "note"),
        Binding("j", "jump", "jump"),
        Binding("slash", "search", "search"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, session: CodingSession) -> None:
        super().__init__()
        self.session = session
        self.agreement: PairAgreement | None = None
        self.acceptance: Acceptance | None = None
        self.waiting_for_agreement = True
        self.agreement_failed = False
        self.decisions_since_agreement = 0
        self.last_search = ""

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="question")
        yield Static(id="context")
        yield Static(id="domains")
        yield widgets.Progress(id="progress")
        yield _status_bar()
        yield widgets.KeyLine(
            [
                ("a", "accept"),
                ("r", "reject"),
                ("1-9", "toggle"),
                ("o", "other"),
                ("u", "undo"),
                ("n", "note"),
                ("/", "search"),
                ("?", "help"),
                ("q", "quit"),
            ]
        )

    def on_mount(self) -> None:
        self.refresh_view()
        self.refresh_feedback(with_agreement=True)

    # -- view ------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        s = self.session
        item = s.current
        done, total = s.overall()
        title = f"{s.judge} · case {item.case} · unit {item.key} · {s.index + 1}/{len(s.queue)}"
        if s.all_coded():
            title += " · all coded ✓"
        self.query_one("#title", Static).update(title)
        self.query_one("#question", Static).update(widgets.question_text(item))
        context = self.query_one("#context", Static)
        context.update(widgets.context_text(item))
        context.border_title = f"turn {item.turn} · unit {item.position}"
        notes = s.notes.get(item.key)
        context.border_subtitle = f"note: {widgets.shorten(notes[-1], 50)}" if notes else ""
        self.query_one("#domains", Static).update(
            widgets.domain_lines(s.codebook, s.current_codes, s.current_proposal)
        )
        case_done, case_total = s.progress()[item.case]
        self.query_one(widgets.Progress).show(
            f"case {item.case}", (case_done, case_total), "all", (done, total)
        )
        self.show_feedback()

    def show_feedback(self) -> None:
        proposal = self.session.current_proposal
        model = "no proposals" if proposal is None else widgets.shorten(proposal.model_version, 14)
        if self.room.retraining:
            model += " ↻"
        self.query_one("#feedback", Static).update(
            widgets.feedback_text(
                self.agreement,
                self.acceptance,
                model,
                self.waiting_for_agreement,
                self.room.min_shared,
                self.agreement_failed,
            )
        )

    def refresh_feedback(self, *, with_agreement: bool) -> None:
        """Acceptance (own codes) and, now and then, the pair agreement, off the UI thread."""
        store, judge, min_shared = self.session.store, self.session.judge, self.room.min_shared

        def compute() -> None:
            acceptance = independent.judge_acceptance(store, judge)
            agreement: PairAgreement | None | Exception = None
            if with_agreement:
                try:
                    agreement = independent.pair_agreement(store, judge, min_shared)
                except Exception as err:  # a statistics failure must never end a coding session
                    agreement = err
            self.app.call_from_thread(self._feedback_ready, acceptance, agreement, with_agreement)

        self.run_worker(compute, thread=True, group="feedback", exit_on_error=False)

    def _feedback_ready(
        self, acceptance: Acceptance, agreement: PairAgreement | None | Exception, with_agreement: bool
    ) -> None:
        self.acceptance = acceptance
        if with_agreement:
            self.agreement_failed = isinstance(agreement, Exception)
            self.agreement = None if self.agreement_failed else agreement
            self.waiting_for_agreement = False
        self.show_feedback()

    def proposals_changed(self, proposals: dict[str, UnitProposals], model: str) -> None:
        self.session.refresh_proposals(proposals)
        self.refresh_view()

    def _after_decision(self, saved) -> None:
        if saved is None:
            return
        self.show_saved(f"✓ saved {saved.unit}")
        self.decisions_since_agreement += 1
        due = self.decisions_since_agreement >= AGREEMENT_EVERY
        if due:
            self.decisions_since_agreement = 0
        self.refresh_view()
        self.refresh_feedback(with_agreement=due)
        self.room.schedule_retrain()

    # -- actions (each store write finishes before the view moves) -------------------------------
    def action_accept(self) -> None:
        self._after_decision(self.attempt(self.session.accept))

    def action_reject(self) -> None:
        self._after_decision(self.attempt(self.session.reject))

    def action_toggle(self, number: int) -> None:
        self._after_decision(self.attempt(lambda: self.session.toggle(number)))

    def action_other(self) -> None:
        self._after_decision(self.attempt(self.session.mark_other))

    def action_next(self) -> None:
        self.session.next()
        self.refresh_view()

    def action_back(self) -> None:
        self.session.back()
        self.refresh_view()

    def action_undo(self) -> None:
        saved = self.attempt(self.session.undo)
        if saved is None:
            self.show_saved("nothing to undo")
            return
        self._after_decision(saved)
        self.show_saved(f"↶ undone {saved.unit}")

    def action_note(self) -> None:
        key = self.session.current.key

        def save(text: str) -> None:
            if self.attempt(lambda: self.session.add_note(text)) is not None:
                self.show_saved(f"✓ note saved {key}")
                self.refresh_view()

        self.ask(f"Note on unit {key} (kept with your codes):", save)

    def action_jump(self) -> None:
        def go(case: str) -> None:
            if self.attempt(lambda: self.session.jump_to_case(case)) is not None:
                self.refresh_view()

        cases = ", ".join(self.session.progress())
        self.ask(f"Jump to case ({widgets.shorten(cases, 50)}):", go)

    def action_search(self) -> None:
        def go(query: str) -> None:
            self.last_search = query
            if not self.session.search(query):
                self.show_error(f"not found: {query}")
            self.refresh_view()

        self.ask("Search units for:", go, self.last_search)


class ConsensusScreen(RoomScreen):
    """Units the judges coded differently, side by side, and the team's code for each."""

    HELP_TITLE = "Consensus: keys"
    HELP_KEYS = CONSENSUS_KEYS
    BINDINGS = [
        *[Binding(key, f"toggle({n})", show=False) for n, key in enumerate(widgets.DOMAIN_KEYS, start=1)],
        Binding("o", "other", "other"),
        Binding("enter", "record", "record"),
        Binding("right", "next", "next"),
        Binding("left,b", "back", "back"),
        Binding("n", "note", "note"),
        Binding("U", "adopt", "adopt unanimous"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, session: ConsensusSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="question")
        yield Static(id="context")
        yield Static(id="domains")
        yield widgets.Progress(id="progress")
        yield _status_bar()
        yield widgets.KeyLine(
            [
                ("1-9", "toggle"),
                ("o", "other"),
                ("enter", "record"),
                ("→←", "move"),
                ("n", "note"),
                ("U", "unanimous"),
                ("?", "help"),
                ("q", "quit"),
            ]
        )

    def on_mount(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        s = self.session
        resolved, total = s.resolved()
        current = s.current
        context = self.query_one("#context", Static)
        if current is None:
            self.query_one("#title", Static).update("consensus · no disagreements")
            self.query_one("#question", Static).update("")
            context.update(
                Text(
                    "No disagreements: the judges coded alike every unit that two or more "
                    "of them coded. Press U to record those shared codes as consensus.",
                    style="dim",
                )
            )
            self.query_one("#domains", Static).update("")
        else:
            item = current.item
            state = "recorded" if s.is_recorded() else "open"
            self.query_one("#title", Static).update(
                f"consensus · unit {item.key} · {s.index + 1}/{total} · {state}"
            )
            self.query_one("#question", Static).update(widgets.question_text(item))
            context.update(widgets.context_text(item))
            context.border_title = f"case {item.case} · turn {item.turn}"
            note = s.notes.get(item.key)
            context.border_subtitle = f"note: {widgets.shorten(note, 50)}" if note else ""
            self.query_one("#domains", Static).update(
                widgets.consensus_lines(s.codebook, current.by_judge, s.team_codes(), s.is_recorded())
            )
        case_done = case_total = 0
        if current is not None:
            in_case = [d for d in s.items if d.item.case == current.item.case]
            case_total = len(in_case)
            case_done = sum(d.item.key in s.consensus for d in in_case)
        label = f"case {current.item.case}" if current else "case"
        self.query_one(widgets.Progress).show(label, (case_done, case_total), "resolved", (resolved, total))
        recorder = s.recorder or "team"
        self.query_one("#feedback", Static).update(Text(f"recording as {recorder}", style="dim"))

    def _saved(self, codes) -> None:
        if codes is None:
            return
        self.show_saved(f"✓ saved {self.session.last_saved}")
        self.refresh_view()
        self.room.schedule_retrain()

    def action_toggle(self, number: int) -> None:
        self._saved(self.attempt(lambda: self.session.toggle(number)))

    def action_other(self) -> None:
        self._saved(self.attempt(self.session.mark_other))

    def action_record(self) -> None:
        self._saved(self.attempt(self.session.record))

    def action_next(self) -> None:
        self.session.next()
        self.refresh_view()

    def action_back(self) -> None:
        self.session.back()
        self.refresh_view()

    def action_note(self) -> None:
        current = self.session.current
        if current is None:
            return

        def save(text: str) -> None:
            if self.attempt(lambda: self.session.add_note(text)) is not None:
                self.show_saved(f"✓ note saved {current.item.key}")
                self.refresh_view()

        self.ask(
            f"Note on the consensus for {current.item.key}:",
            save,
            self.session.notes.get(current.item.key, ""),
        )

    def action_adopt(self) -> None:
        count = self.attempt(self.session.adopt_unanimous)
        if count is not None:
            self.show_saved(f"✓ {count} unanimous adopted")
            self.room.schedule_retrain()


class AuditScreen(RoomScreen):
    """The auditor comments on consensus codes and core ideas; the team answers in the thread."""

    HELP_TITLE = "Audit: keys"
    HELP_KEYS = AUDIT_KEYS
    BINDINGS = [
        Binding("c", "comment", "comment"),
        Binding("r", "reply", "reply"),
        Binding("y", "resolve('accepted')", "accept"),
        Binding("x", "resolve('rejected')", "reject"),
        Binding("right,enter", "move(1)", "next"),
        Binding("left,b", "move(-1)", "back"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, session: AuditSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="question")
        yield Static(id="context")
        yield Static(id="codes")
        yield Static(id="thread")
        yield _status_bar()
        keys = [("c", "comment"), ("r", "reply")]
        if self.session.role != "auditor":
            keys += [("y", "accept"), ("x", "reject")]
        yield widgets.KeyLine([*keys, ("→←", "move"), ("?", "help"), ("q", "quit")])

    def on_mount(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        s = self.session
        target = s.current
        head = f"audit · {s.name} ({s.role})"
        context = self.query_one("#context", Static)
        thread = self.query_one("#thread", Static)
        thread.border_title = "comments"
        if target is None:
            self.query_one("#title", Static).update(head)
            context.update(
                Text(
                    "Nothing to audit yet: the team has recorded no consensus codes or core ideas.",
                    style="dim",
                )
            )
            self.query_one("#codes", Static).update("")
            thread.update("")
            return
        self.query_one("#title", Static).update(f"{head} · {target.title} · {s.index + 1}/{len(s.targets)}")
        if target.target_type == "unit":
            self.query_one("#question", Static).update(
                widgets.question_text(
                    QueueItem(
                        "", target.case, 0, 0, target.text, target.context, target.text, 0, len(target.text)
                    )
                )
            )
        else:
            self.query_one("#question", Static).update(Text(f"status: {target.context}", style="dim"))
        context.update(Text(" ".join(target.text.split())))
        context.border_title = f"case {target.case}"
        names = {d.id: d.name for d in s.codebook.domains}
        codes = ", ".join(names.get(c, "other" if c == OTHER else c) for c in sorted(target.codes))
        label = "consensus" if target.target_type == "unit" else "domain"
        self.query_one("#codes", Static).update(Text.assemble((f"{label}: ", "bold"), codes))
        thread.update(widgets.thread_text(s.thread))

    def action_move(self, step: int) -> None:
        self.session.move(step)
        self.refresh_view()

    def _posted(self, comment_id: int | None, what: str) -> None:
        if comment_id is not None:
            self.show_saved(f"✓ {what} #{comment_id} saved")
            self.refresh_view()

    def action_comment(self) -> None:
        self.ask(
            "Comment:", lambda text: self._posted(self.attempt(lambda: self.session.comment(text)), "comment")
        )

    def action_reply(self) -> None:
        parent = self.session.open_comment()
        if parent is None:
            self.show_error("no comment here to answer")
            return
        self.ask(
            f"Reply to #{parent.id}:",
            lambda text: self._posted(self.attempt(lambda: self.session.reply(text)), "reply"),
        )

    def action_resolve(self, resolution: str) -> None:
        if self.session.role == "auditor":
            self.show_error("the team accepts or rejects audit comments")
            return
        parent = self.session.open_comment()
        if parent is None or parent.resolution is not None:
            self.show_error("no open comment here")
            return
        verb = "Accept" if resolution == "accepted" else "Reject"
        self.ask(
            f"{verb} #{parent.id}: why?",
            lambda why: self._posted(
                self.attempt(lambda: self.session.resolve(resolution, why.strip() or None)), resolution
            ),
        )


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
        min_shared: int = MIN_SHARED_UNITS,
    ) -> None:
        super().__init__()
        codebook = codebook or store.codebook()
        if codebook is None:
            raise InputError("the store holds no codebook; run `transcode init --codebook CODEBOOK.yaml`")
        if mode in ("code", "audit") and not judge:
            raise InputError(f"{'coding' if mode == 'code' else 'auditing'} needs --judge NAME")
        if mode == "code" and store.judge_role(judge) == "auditor":
            raise InputError(f"{judge} is an auditor; auditors use --audit")
        self.store = store
        self.codebook = codebook
        self.mode = mode
        self.case = case
        self.use_model = use_model
        self.encoder_factory = encoder_factory
        self.min_shared = min_shared
        self.retraining = False
        self.last_retrain = None
        self._trainer = None
        self._consensus_at_training = consensus_count(store)
        if mode == "code":
            self.main = CodingScreen(CodingSession(store, judge, codebook, order=order, case=case))
        elif mode == "consensus":
            self.main = ConsensusScreen(ConsensusSession(store, codebook, judge, case=case))
        elif mode == "audit":
            self.main = AuditScreen(AuditSession(store, codebook, judge))
        else:
            raise InputError(f"mode must be code, consensus or audit, not {mode!r}")

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
