"""What the coding room's screens share: the save receipt, refusals, prompts, help, quitting."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from transcode.coding.queue import UnitProposals
from transcode.errors import InputError
from transcode.tui import widgets
from transcode.tui.keys import Key, help_lines, key_line
from transcode.tui.screens.help import HelpScreen
from transcode.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from transcode.tui.app import TranscodeApp


class RoomScreen(Screen):
    """What the three screens share: the save receipt, prompts, help, quitting."""

    HELP_TITLE = ""
    #: The screen's keys, declared once: BINDINGS, the help and the key line come from them.
    KEYS: Sequence[Key] = ()

    @property
    def room(self) -> TranscodeApp:
        return self.app  # type: ignore[return-value]

    def show_saved(self, message: str) -> None:
        self.query_one("#status").remove_class("error")
        self.query_one("#saved", Static).update(Text(message))

    def show_error(self, message: str) -> None:
        """A refusal takes the whole status line until the next saved change."""
        self.query_one("#status").add_class("error")
        self.query_one("#saved", Static).update(Text(f"✗ {widgets.shorten(message, 76)}"))

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run a store action; a refused one shows why and changes nothing."""
        try:
            return action()
        except InputError as err:  # a StoreError is one
            self.show_error(str(err))
            return None

    def ask(self, question: str, then: Callable[[str], None], value: str = "") -> None:
        def answered(answer: str | None) -> None:
            if answer is not None:
                then(answer)

        self.app.push_screen(PromptScreen(question, value), answered)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.HELP_TITLE, help_lines(self.KEYS)))

    def key_line(self, *, team: bool = True) -> widgets.KeyLine:
        """The always-visible key line, from the same keys as the bindings and the help."""
        return widgets.KeyLine(key_line(self.KEYS, team=team))

    def action_quit(self) -> None:
        self.app.exit()

    def proposals_changed(self, proposals: Mapping[str, UnitProposals], model: str) -> None:
        """New proposals from background retraining (only the coding screen shows them)."""


def status_bar() -> Horizontal:
    return Horizontal(Static("", id="saved"), Static("", id="feedback"), id="status")
