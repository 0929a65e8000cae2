"""Widgets of the coding room and the pure functions that render their text.

Rendering lives in plain functions returning :class:`rich.text.Text` so the
screens stay thin and the layout is checked in snapshots at 80x24.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar, Static

from transcode.codebook import Codebook
from transcode.coding.audit import Comment
from transcode.coding.codes import OTHER, Acceptance
from transcode.coding.queue import QueueItem, UnitProposals

#: Characters of the turn shown before and after the unit, dimmed.
BEFORE_CHARS = 160
AFTER_CHARS = 320
QUESTION_CHARS = 150
SCORE_BAR = 10
DOMAIN_KEYS = "1234567890"


def domain_key(index: int) -> str:
    """The key that toggles the domain at 0-based ``index`` (1-9, then 0 for the tenth)."""
    return DOMAIN_KEYS[index] if index < len(DOMAIN_KEYS) else " "


def shorten(text: str, limit: int, *, from_end: bool = False) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if from_end:
        cut = text[-limit:]
        return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut
    cut = text[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def question_text(item: QueueItem) -> Text:
    if not item.question:
        return Text("(no interviewer question before this turn)", style="italic dim")
    return Text.assemble(("I: ", "bold"), (shorten(item.question, QUESTION_CHARS), "italic"))


def context_text(item: QueueItem) -> Text:
    """The unit in its turn: neighbouring talk dimmed, the unit itself in full."""
    before = item.turn_text[: item.start].strip()
    after = item.turn_text[item.end :].strip()
    out = Text()
    if before:
        out.append(shorten(before, BEFORE_CHARS, from_end=True) + " ", style="dim")
    out.append(" ".join(item.text.split()), style="bold")
    if after:
        out.append(" " + shorten(after, AFTER_CHARS), style="dim")
    return out


def score_bar(score: float, width: int = SCORE_BAR) -> str:
    filled = round(max(0.0, min(1.0, score)) * width)
    return "█" * filled + "░" * (width - filled)


def domain_lines(
    codebook: Codebook, codes: frozenset[str], proposal: UnitProposals | None, name_width: int = 38
) -> Text:
    """One line per domain: key, the judge's mark, name, the model's score; ◆ marks the suggestion."""
    out = Text()
    for index, domain in enumerate(codebook.domains):
        chosen = domain.id in codes
        score = proposal.score(domain.id) if proposal else None
        suggested = proposal is not None and domain.id in proposal.suggested
        out.append(f" {domain_key(index)} ", style="bold")
        out.append("[x] " if chosen else "[ ] ", style="bold green" if chosen else "dim")
        out.append(f"{shorten(domain.name, name_width):<{name_width}} ", style="bold" if chosen else "")
        if score is None:
            out.append(" " * (SCORE_BAR + 6))
        else:
            out.append(score_bar(score), style="cyan" if suggested else "dim cyan")
            out.append(f" {score:4.2f} ")
        out.append("◆ model" if suggested else "", style="yellow")
        out.append("\n")
    other_on = OTHER in codes
    out.append(" o ", style="bold")
    out.append("[x] " if other_on else "[ ] ", style="bold green" if other_on else "dim")
    out.append("other (fits no domain)", style="bold" if other_on else "dim")
    if proposal is not None and not proposal.suggested:
        out.append(" " * (name_width - 21 + SCORE_BAR + 6))
        out.append("◆ model", style="yellow")
    return out


def feedback_text(
    acceptance: Acceptance | None, suggestions: str, model: str, *, flagged: bool = False
) -> Text:
    """The judge's own figures only: how often they kept the suggestion, what the suggestions show.

    Never a statistic over another judge's codes: during independent coding that would tell a
    judge how the others coded (a figure that moves only for their choice is an oracle).
    """
    out = Text()
    if acceptance is None or acceptance.rate is None:
        out.append("kept –")
    else:
        out.append(f"kept {acceptance.rate:.0%}")
    if flagged:
        out.append(" ⚑", style="bold yellow")
    out.append(" │ ", style="dim")
    out.append(suggestions, style="dim")
    out.append(" │ ", style="dim")
    out.append(model, style="dim")
    return out


def calibration_text(summary: Mapping[str, Any] | None, *, title: bool = True) -> Text:
    """A case's calibration (agreement before consensus) for the team to look at together."""
    out = Text()
    if summary is None:
        return Text("calibration …", style="dim")
    if title:
        out.append(f"Calibration of case {summary['case']}: the judges before consensus\n\n", style="bold")
    if "reason" in summary:
        out.append(f"{summary['n_units']} units: {summary['reason']}", style="dim")
        return out
    out.append(
        f"{', '.join(summary['judges'])} · {summary['n_units']} units\n"
        f"{summary['kappa_kind']} κ {_figure(summary['kappa'])}   "
        f"α ({summary['alpha_distance']}) {_figure(summary['alpha'])}   "
        f"agreement {_percent(summary['percent_agreement'])}\n\n"
    )
    out.append(f"{'domain':<32} {'κ':>6} {'α':>6} {'agree':>6}\n", style="bold dim")
    for domain, entry in summary["per_domain"].items():
        out.append(
            f"{shorten(domain, 32):<32} {_figure(entry['kappa']):>6} {_figure(entry['alpha']):>6} "
            f"{_percent(entry['percent_agreement']):>6}\n"
        )
    out.rstrip()
    return out


def calibration_line(summary: Mapping[str, Any] | None) -> str:
    """One line: the case's κ and α (the consensus screen's status line)."""
    if summary is None:
        return "calibration …"
    if "reason" in summary:
        return f"case {summary['case']}: no calibration"
    return f"case {summary['case']} κ {_figure(summary['kappa'])} α {_figure(summary['alpha'])}"


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def consensus_lines(
    codebook: Codebook,
    by_judge: Mapping[str, frozenset[str]],
    team: frozenset[str],
    recorded: bool,
    name_width: int = 34,
) -> Text:
    """Domains down, judges across (who chose what), then the team's consensus column."""
    judges = list(by_judge)
    out = Text()
    header = f"{'':7}{'':<{name_width}} " + " ".join(f"{shorten(j, 6):^6}" for j in judges)
    out.append(header + "  team\n", style="bold dim")
    rows = [(domain_key(i), d.id, d.name) for i, d in enumerate(codebook.domains)] + [("o", OTHER, "other")]
    for key, domain_id, name in rows:
        votes = [domain_id in by_judge[j] for j in judges]
        split = 0 < sum(votes) < len(votes)
        out.append(f" {key} ", style="bold")
        out.append(" !  " if split else "    ", style="bold yellow")
        out.append(f"{shorten(name, name_width):<{name_width}} ", style="bold" if split else "")
        for vote in votes:
            out.append(f"{'✓' if vote else '·':^6} ", style="green" if vote else "dim")
        on = domain_id in team
        out.append("  [x]" if on else "  [ ]", style=("bold green" if recorded else "green") if on else "dim")
        out.append("\n")
    out.rstrip()
    return out


def thread_text(thread: Sequence[Comment]) -> Text:
    """An audit thread: comments, indented replies, the team's verdicts."""
    if not thread:
        return Text("No comments yet.", style="dim")
    depth: dict[int, int] = {}
    out = Text()
    for comment in thread:
        level = depth.get(comment.reply_to, -1) + 1 if comment.reply_to else 0
        depth[comment.id] = level
        indent = "  " * level + ("↳ " if level else "")
        out.append(f"{indent}#{comment.id} ", style="dim")
        out.append(f"{comment.author}", style="bold magenta" if comment.role == "auditor" else "bold cyan")
        out.append(f" ({comment.role}): ", style="dim")
        out.append(comment.text)
        if comment.resolution:
            out.append(
                f"  [{comment.resolution}",
                style="bold green" if comment.resolution == "accepted" else "bold red",
            )
            out.append(
                f": {comment.rationale}]" if comment.rationale else "]",
                style="green" if comment.resolution == "accepted" else "red",
            )
        out.append("\n")
    out.rstrip()
    return out


class Progress(Horizontal):
    """Progress of the current case and of the whole queue, as two bars."""

    DEFAULT_CSS = """
    Progress { height: 1; }
    Progress Label { width: auto; padding: 0 1 0 0; }
    Progress ProgressBar { width: 1fr; }
    Progress Bar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("case", id="case-label")
        yield ProgressBar(show_eta=False, show_percentage=False, id="case-bar")
        yield Label("all", id="all-label")
        yield ProgressBar(show_eta=False, show_percentage=False, id="all-bar")

    def show(
        self, case_label: str, case: tuple[int, int], overall_label: str, overall: tuple[int, int]
    ) -> None:
        self.query_one("#case-label", Label).update(Text(f"{case_label} {case[0]}/{case[1]}"))
        self.query_one("#case-bar", ProgressBar).update(total=max(case[1], 1), progress=case[0])
        self.query_one("#all-label", Label).update(Text(f" {overall_label} {overall[0]}/{overall[1]}"))
        self.query_one("#all-bar", ProgressBar).update(total=max(overall[1], 1), progress=overall[0])


class KeyLine(Static):
    """The most used keys, always visible; ``?`` shows the rest."""

    DEFAULT_CSS = "KeyLine { height: 1; }"

    def __init__(self, keys: Sequence[tuple[str, str]], **kwargs):
        text = Text()
        for key, what in keys:
            text.append(f" {key}", style="bold reverse")
            text.append(f" {what}")
        super().__init__(text, **kwargs)
