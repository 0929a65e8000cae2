"""The key help of a screen, built from the same keys as its bindings (see :mod:`transcode.tui.keys`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


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
