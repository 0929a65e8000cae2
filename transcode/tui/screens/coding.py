"""Independent coding: one judge, blind, one keypress per common decision.

Every keypress that decides something calls the store synchronously, so the
screen moves on only after the decision is committed; the agreement with the
paired judge and the acceptance rate are computed in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from transcode.coding import independent
from transcode.coding.codes import Acceptance
from transcode.coding.independent import CodingSession, PairAgreement
from transcode.coding.queue import UnitProposals
from transcode.tui import widgets
from transcode.tui.keys import Key, bindings, numbered
from transcode.tui.screens.room import RoomScreen, status_bar

#: Refresh the judge-pair agreement every this many decisions: often enough to follow,
#: rarely enough that its change never tells a judge how the other coded one unit.
AGREEMENT_EVERY = 10


class CodingScreen(RoomScreen):
    """Independent coding: this judge's codes only, one keypress per common decision."""

    HELP_TITLE = "Independent coding: keys"
    KEYS = (
        Key.one("a", "accept", "accept", "accept the suggestion (◆); on to the next uncoded unit", line="a"),
        Key.one("r", "reject", "reject", "reject the suggestion (recorded), stay to code the unit", line="r"),
        numbered(
            widgets.DOMAIN_KEYS,
            "toggle_domain",
            "toggle",
            "toggle domain 1-9 (0 = tenth); stays on the unit",
            shown="1-9 0",
            line="1-9",
        ),
        Key.one("o", "other", "other", "other: the unit fits no domain; go on", line="o"),
        Key.one("enter,right", "next", "next", "next unit", shown="enter →"),
        Key.one("left,b", "back", "back", "previous unit (go back)", shown="← b"),
        Key.one("u,ctrl+z", "undo", "undo", "undo your last change in this session", shown="u", line="u"),
        Key.one("n", "note", "note", "add a note to your codes for this unit", line="n"),
        Key.one("j", "jump", "jump", "jump to a case"),
        Key.one(
            "slash", "search", "search", "search unit text or id; again for the next hit", shown="/", line="/"
        ),
        Key.one("question_mark", "help", "help", "this help", shown="?", line="?"),
        Key.one("q", "quit", "quit", "quit: every decision is already saved", line="q"),
    )
    BINDINGS = bindings(KEYS)

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
        yield status_bar()
        yield self.key_line()

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
        self.query_one("#title", Static).update(Text(title))  # names are text, never markup
        self.query_one("#question", Static).update(widgets.question_text(item))
        context = self.query_one("#context", Static)
        context.update(widgets.context_text(item))
        context.border_title = f"turn {item.turn} · unit {item.position}"
        notes = s.notes.get(item.key)
        context.border_subtitle = Text(f"note: {widgets.shorten(notes[-1], 50)}") if notes else ""
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
            self.agreement = None if isinstance(agreement, Exception) else agreement
            self.waiting_for_agreement = False
        self.show_feedback()

    def proposals_changed(self, proposals: Mapping[str, UnitProposals], model: str) -> None:
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

    def action_toggle_domain(self, number: int) -> None:
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
