"""A case's calibration, for the team to look at together once its consensus is open (``c``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from transcode.tui import widgets


class CalibrationScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,c,q,enter", "close", "close")]

    def __init__(self, summary: Mapping[str, Any]) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        text = widgets.calibration_text(self.summary)
        text.append("\n\nEsc or c closes this.", style="dim")
        yield Static(text, id="help-box")

    def action_close(self) -> None:
        self.dismiss(None)
