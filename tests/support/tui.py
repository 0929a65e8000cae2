"""Driving the coding room with Textual's Pilot: the terminal size, what it shows, waiting for workers."""

from __future__ import annotations

#: A plain terminal: everything must fit.
SIZE = (80, 24)


def screen_text(app) -> str:
    """What the terminal shows now, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
