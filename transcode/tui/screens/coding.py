"""Independent coding: one judge, blind, one keypress per common decision.

Every keypress that decides something calls the store synchronously, so the screen moves on
only after the decision is committed. The screen shows the judge's own progress and how often
they kept the model's suggestion (counted per decision from their own decisions), never
a figure over another judge's codes. The model's proposals appear as the study's
``suggestions`` setting says; ``s`` shows them for the current unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from transcode.coding import suggestions
from transcode.coding.independent import CodingSession, Feedback
from transcode.coding.queue import UnitProposals
from transcode.tui import widgets
from transcode.tui.keys import Key, bindings, numbered
from transcode.tui.screens.room import RoomScreen, status_bar


class CodingScreen(RoomScreen):
    """Independent coding: this judge's codes only, one keypress per common decision."""

    HELP_TITLE = "Independent coding: keys"
    KEYS = (
        Key.one(
            "a",
            "accept",
            "accept",
            "accept the suggestion (◆) once it is shown; on to the next uncoded unit",
            line="a",
        ),
        Key.one("r", "reject", "reject", "reject the suggestion (recorded), stay to code the unit", line="r"),
        Key.one(
            "s",
            "reveal",
            "see",
            "show the model's suggestion for this unit (it shows anyway after your first choice)",
            line="s",
        ),
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
        self.feedback: Feedback | None = None
        self.noted = False
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
        self.refresh_feedback()

    # -- view ------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        s = self.session
        item = s.current
        done, total = s.overall()
        title = f"{s.judge} · case {item.case} · unit {item.key} · {s.index + 1}/{len(s.queue)}"
        if s.all_coded():
            title += " · all coded ✓"
        recode = s.recode.get(item.key)
        if recode is not None:
            title += " · recode"
        self.query_one("#title", Static).update(Text(title))  # names are text, never markup
        question = widgets.question_text(item)
        if recode is not None:
            split = f"recode: {recode.domain} was split into {' or '.join(recode.into)}\n"
            question = Text.assemble((split, "bold"), question)
        self.query_one("#question", Static).update(question)
        context = self.query_one("#context", Static)
        context.update(widgets.context_text(item))
        context.border_title = f"turn {item.turn} · unit {item.position}"
        notes = s.notes.get(item.key)
        context.border_subtitle = Text(f"note: {widgets.shorten(notes[-1], 50)}") if notes else ""
        self.query_one("#domains", Static).update(
            widgets.domain_lines(s.codebook, s.current_codes, s.current_proposal)
        )
        case_done, case_total = s.progress()[item.case]
        label = f"case {item.case}" + (" ✓" if s.finished(item.case) else "")
        self.query_one(widgets.Progress).show(label, (case_done, case_total), "all", (done, total))
        self.show_feedback()

    def _suggestion_state(self) -> str:
        s = self.session
        if s.suggestions == suggestions.HIDDEN:
            return "suggestions hidden"
        if not s.suggestions_visible():
            return "s: suggestion"
        return "no suggestion" if s.proposals.get(s.current.key) is None else "suggestion ◆"

    def show_feedback(self) -> None:
        proposal = self.session.proposals.get(self.session.current.key)
        model = "no proposals" if proposal is None else widgets.shorten(proposal.model_version, 14)
        if self.room.retraining:
            model += " ↻"
        feedback = self.feedback
        self.query_one("#feedback", Static).update(
            widgets.feedback_text(
                None if feedback is None else feedback.overall,
                self._suggestion_state(),
                model,
                flagged=feedback is not None and feedback.note is not None,
            )
        )

    def refresh_feedback(self) -> None:
        """How often this judge kept the suggestion (their own decisions only), from the counts the
        session keeps per decision: no rescan of the log, no worker competing with the screen."""
        self._feedback_ready(self.session.feedback())

    def _feedback_ready(self, feedback: Feedback) -> None:
        self.feedback = feedback
        if feedback.note is not None and not self.noted:
            self.noted = True
            self.notify(feedback.note, title="A gentle note", timeout=12)
        elif feedback.note is None:
            self.noted = False
        self.show_feedback()

    def proposals_changed(self, proposals: Mapping[str, UnitProposals], model: str) -> None:
        self.session.refresh_proposals(proposals)
        self.refresh_view()

    def _after_decision(self, saved) -> None:
        if saved is None:
            return
        self.show_saved(f"✓ saved {saved.unit}")
        self.room.schedule_retrain()
        self.refresh_view()
        self.refresh_feedback()

    # -- actions (each store write finishes before the view moves) -------------------------------
    def action_accept(self) -> None:
        self._after_decision(self.attempt(self.session.accept))

    def action_reject(self) -> None:
        self._after_decision(self.attempt(self.session.reject))

    def action_reveal(self) -> None:
        if self.attempt(self.session.reveal) is not None:
            self.show_saved("◆ suggestion shown")
            self.refresh_view()

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
