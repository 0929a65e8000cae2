"""Consensus: the units the judges coded differently, side by side, and the team's code for each."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from transcode.coding.calibration import case_calibration
from transcode.coding.consensus import ConsensusSession
from transcode.tui import widgets
from transcode.tui.keys import Key, bindings, numbered
from transcode.tui.screens.calibration import CalibrationScreen
from transcode.tui.screens.room import RoomScreen, status_bar


class ConsensusScreen(RoomScreen):
    """Units the judges coded differently, side by side, and the team's code for each."""

    HELP_TITLE = "Consensus: keys"
    KEYS = (
        numbered(
            widgets.DOMAIN_KEYS,
            "toggle_domain",
            "toggle",
            "toggle a domain in the team's code (saved at once)",
            shown="1-9 0",
            line="1-9",
        ),
        Key.one("o", "other", "other", "the team codes the unit other; go on", line="o"),
        Key.one(
            "enter",
            "record",
            "record",
            "record the codes shown as consensus; next open disagreement",
            line="enter",
        ),
        Key(
            (("right", "next", "next"), ("left,b", "back", "back")),
            "→ ←",
            "next / previous disagreement",
            ("→←", "move"),
        ),
        Key.one("n", "note", "note", "note on the consensus", line="n"),
        Key.one(
            "c",
            "calibration",
            "calibration",
            "the case's calibration: how far the judges agreed before consensus",
            line="c",
        ),
        Key(
            (("U", "adopt", "adopt unanimous"),),
            "U",
            "adopt the shared codes of every unanimous unit as consensus",
            ("U", "unanimous"),
        ),
        Key.one("question_mark", "help", "help", "this help", shown="?", line="?"),
        Key.one("q", "quit", "quit", "quit: every change is already saved", line="q"),
    )
    BINDINGS = bindings(KEYS)

    def __init__(self, session: ConsensusSession) -> None:
        super().__init__()
        self.session = session
        self.calibrations: dict[str, dict] = {}

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
            if current.recode is not None and not s.is_recorded():
                state = "recode"
            self.query_one("#title", Static).update(
                Text(f"consensus · unit {item.key} · {s.index + 1}/{total} · {state}")
            )
            question = widgets.question_text(item)
            if current.recode is not None:
                split = f"recode: {current.recode.domain} was split into {' or '.join(current.recode.into)}\n"
                question = Text.assemble((split, "bold"), question)
            self.query_one("#question", Static).update(question)
            context.update(widgets.context_text(item))
            context.border_title = Text(f"case {item.case} · turn {item.turn}")
            note = s.notes.get(item.key)
            context.border_subtitle = Text(f"note: {widgets.shorten(note, 50)}") if note else ""
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
        status = f"recording as {recorder}"
        if current is not None:
            status += " · " + widgets.calibration_line(self._calibration(current.item.case))
        self.query_one("#feedback", Static).update(Text(status, style="dim"))

    def _calibration(self, case: str) -> dict | None:
        """The case's calibration, computed once in a worker thread (None until it is ready)."""
        if case not in self.calibrations:
            self.calibrations[case] = {}
            store = self.session.store

            def compute() -> None:
                summary = case_calibration(store, case)
                self.app.call_from_thread(self._calibrated, case, summary)

            self.run_worker(compute, thread=True, group="calibration", exit_on_error=False)
        return self.calibrations[case] or None

    def _calibrated(self, case: str, summary: dict) -> None:
        self.calibrations[case] = summary
        self.refresh_view()

    def action_calibration(self) -> None:
        current = self.session.current
        if current is None:
            return
        summary = self._calibration(current.item.case)
        if summary is None:
            self.show_error("the calibration is still being computed")
            return
        self.app.push_screen(CalibrationScreen(summary))

    def _saved(self, codes) -> None:
        if codes is None:
            return
        self.show_saved(f"✓ saved {self.session.last_saved}")
        self.refresh_view()
        self.room.schedule_retrain()

    def action_toggle_domain(self, number: int) -> None:
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
