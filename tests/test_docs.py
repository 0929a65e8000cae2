"""The README's commands are real: every command and option it names exists, and every command has help.

As sqlite-utils does: the documentation is read as data, so a renamed option or a removed
command fails here before a reader meets it.
"""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from tests.support import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def commands() -> dict[str, object]:
    """Every command and subcommand by its path (``"coreideas draft"``), as click sees them."""
    import transcode.cli

    transcode.cli._register()
    root = typer.main.get_command(transcode.cli.app)
    found: dict[str, object] = {}

    def walk(group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            found[path] = command
            if hasattr(command, "commands"):
                walk(command, path)

    walk(root, "")
    return found


def invocations() -> list[list[str]]:
    """Each ``transcode ...`` command line of the README: in code blocks and in inline code."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        lines += [line.split("#")[0] for line in block.splitlines()]
    lines += re.findall(r"`([^`\n]*transcode [^`\n]*)`", README)
    out = []
    for line in lines:
        words = shlex.split(line.replace("\\", " "))
        for i, word in enumerate(words):
            if word.endswith("transcode") and i + 1 < len(words) and not words[i + 1].startswith("."):
                out.append(words[i + 1 :])
                break
    return out


def split(words: list[str], commands: dict) -> tuple[str, list[str]]:
    """The longest command path at the start of ``words``, and the options after it."""
    path = ""
    for word in words:
        if f"{path} {word}".strip() in commands:
            path = f"{path} {word}".strip()
        else:
            break
    return path, [w.split("=")[0] for w in words if w.startswith("--")]


def option_names(command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def test_the_readme_shows_commands(commands):
    assert len(invocations()) >= 20
    assert {"precode", "code", "cross", "export", "coreideas draft"} <= set(commands)


def test_every_command_the_readme_runs_exists_with_its_options(commands):
    for words in invocations():
        path, options = split(words, commands)
        assert path, f"README runs `transcode {' '.join(words)}`: no such command"
        unknown = [o for o in options if o not in option_names(commands[path])]
        assert not unknown, f"README: `transcode {path}` has no option {', '.join(unknown)}"


def test_every_option_the_readme_names_exists(commands):
    named = set(re.findall(r"`(--[a-z][a-z-]*)", README))
    every = set().union(*(option_names(c) for c in commands.values()))
    assert named and named <= every, sorted(named - every)


def test_every_command_and_option_has_help(commands):
    for path, command in commands.items():
        assert (command.help or "").strip(), f"`transcode {path}` has no help"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), f"`transcode {path}` {param.opts[0]} has no help"
