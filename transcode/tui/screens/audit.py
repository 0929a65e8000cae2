"""The audit: an auditor comments on consensus codes and core ideas; the team answers in the thread."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from transcode.coding.audit import AuditSession
from transcode.coding.codes import OTHER
from transcode.coding.queue import QueueItem
from transcode.tui import widgets
from transcode.tui.keys import Key, bindings
from transcode.tui.screens.room import RoomScreen, status_bar


class AuditScreen(RoomScreen):
    """The auditor comments on consensus codes and core ideas; the team answers in the thread."""

    HELP_TITLE = "Audit: keys"
    KEYS = (
        Key.one("c", "comment", "comment", "comment on this consensus code or core idea", line="c"),
        Key.one("r", "reply", "reply", "reply to the open comment", line="r"),
        Key.one(
            "y",
            "resolve('accepted')",
            "accept",
            "team: accept the open comment (with a rationale)",
            line="y",
            team_only=True,
        ),
        Key.one(
            "x",
            "resolve('rejected')",
            "reject",
            "team: reject the open comment (with a rationale)",
            line="x",
            team_only=True,
        ),
        Key(
            (("right,enter", "move(1)", "next"), ("left,b", "move(-1)", "back")),
            "→ ←",
            "next / previous item",
            ("→←", "move"),
        ),
        Key.one("question_mark", "help", "help", "this help", shown="?", line="?"),
        Key.one("q", "quit", "quit", "quit: every comment is already saved", line="q"),
    )
    BINDINGS = bindings(KEYS)

    def __init__(self, session: AuditSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="question")
        yield Static(id="context")
        yield Static(id="codes")
        yield Static(id="thread")
        yield status_bar()
        yield self.key_line(team=self.session.role != "auditor")

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
            self.query_one("#title", Static).update(Text(head))
            context.update(
                Text(
                    "Nothing to audit yet: the team has recorded no consensus codes or core ideas.",
                    style="dim",
                )
            )
            self.query_one("#codes", Static).update("")
            thread.update("")
            return
        self.query_one("#title", Static).update(
            Text(f"{head} · {target.title} · {s.index + 1}/{len(s.targets)}")
        )
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
        context.border_title = Text(f"case {target.case}")
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
