"""The README's blind study, step by step, runs as written: three judges and an auditor, blind coding,
consensus, audit, closed.

Every command of the section runs in its own process, in order, in a fresh folder beside the demo
corpus. The people at the keyboard are the one stand-in: where the README opens the coding room
(``transcode code ...``), the test drives the same sessions the screens call, as those people would.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.support import DEMO, REPO
from tests.support.cli import run_transcode
from transcode.coding.audit import AuditSession
from transcode.coding.consensus import ConsensusSession
from transcode.coding.independent import CodingSession
from transcode.store import open_store

README = (REPO / "README.md").read_text(encoding="utf-8")


def study_commands() -> list[str]:
    section = README.split("## A blind study, step by step", 1)[1].split("### What each phase allows", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def judges_code(url: str) -> None:
    """ana, ben and cy each code every unit assigned to them: mostly taking the suggestion once they
    have seen it, now and then a domain of their own, blind."""
    with open_store(url) as store:
        for n, judge in enumerate(("ana", "ben", "cy")):
            session = CodingSession(store, judge, store.codebook())
            for i, item in enumerate(list(session.queue)):
                session.jump_to_unit(item.key)
                if (i + n) % 5 == 0 or session.proposals.get(item.key) is None:
                    session.toggle(1 + i % 8)
                else:
                    session.reveal()
                    session.accept()


def team_settles(url: str, recorder: str) -> None:
    with open_store(url) as store:
        session = ConsensusSession(store, store.codebook(), recorder)
        session.adopt_unanimous()
        session.reload()
        for _ in range(len(session.items)):
            session.record()
        assert session.resolved()[0] == session.resolved()[1] > 0


def auditor_comments(url: str, auditor: str) -> None:
    with open_store(url) as store:
        AuditSession(store, store.codebook(), auditor).comment("Is this the client's context?")
        AuditSession(store, store.codebook(), "ana").reply("Yes: it sets the scene.")


@pytest.mark.slow
def test_the_readme_study_runs_as_written(tmp_path: Path):
    (tmp_path / "corpora").symlink_to(DEMO.parent)
    env: dict[str, str] = {}
    commands = study_commands()
    assert sum(c.startswith("transcode judges add") for c in commands) == 5
    outputs = {}
    for command in commands:
        words = shlex.split(command)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = value
            continue
        assert words[0] == "transcode", command
        url = env.get("TRANSCODE_DB", "")
        if words[1] == "code":
            judge = words[words.index("--judge") + 1]
            if "--consensus" in words:
                team_settles(url.replace("sqlite:///", f"sqlite:///{tmp_path}/"), judge)
            elif "--audit" in words:
                auditor_comments(url.replace("sqlite:///", f"sqlite:///{tmp_path}/"), judge)
            else:
                judges_code(url.replace("sqlite:///", f"sqlite:///{tmp_path}/"))
            continue
        done = run_transcode(*words[1:], env=env, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        outputs[command] = done
    opening = outputs["transcode phase 01 consensus --by lee"]
    assert "Calibration of case 01" in opening.stdout and "ana, ben, cy" in opening.stdout
    assert (tmp_path / "agreement.html").is_file() and (tmp_path / "study.xlsx").is_file()
    with open_store(f"sqlite:///{tmp_path / 'study.db'}") as store:
        assert set(store.case_phases().values()) == {"closed"}
        assert {a.finished for a in store.assignments()} == {True}
        moves = [(e.case, e.details["to"], e.details["override"]) for e in store.events(kind="phase")]
        assert [to for case, to, _ in moves if case == "01"] == ["consensus", "audit", "closed"]
        assert not any(override for *_, override in moves)
        assert {d.suggestions_shown for d in store.decision_log()} == {True, False}
